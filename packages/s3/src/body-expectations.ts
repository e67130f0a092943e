import type { IncomingHttpHeaders } from "node:http";
import { algorithmFromHeaderName, parseChecksumAlgorithm } from "./checksums/hasher.js";
import { S3Error } from "./errors.js";
import { type BodyExpectations, isValidChecksumValue } from "./http/request-body.js";
import type { ChecksumAlgorithm } from "./port.js";
import type { HeaderValues } from "./sigv4/canonical.js";
import { isStreamingMode, type PayloadMode } from "./sigv4/payload-mode.js";

/** Headers of the x-amz-checksum-* family that are not checksum values. */
const CHECKSUM_NON_VALUE_HEADERS = new Set([
  "x-amz-checksum-algorithm",
  "x-amz-checksum-mode",
  "x-amz-checksum-type",
]);

function parseLength(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) {
    throw new S3Error("InvalidArgument", `Invalid ${name}.`, {
      extra: { ArgumentName: name, ArgumentValue: value },
    });
  }
  return Number(value.trim());
}

/**
 * Reads every body-integrity header once, validates its syntax, and returns what the streaming
 * verifier must check. `maxBytes`/`tooLargeError` come from the operation (object vs XML body).
 */
export function bodyExpectations(
  headers: HeaderValues,
  nodeHeaders: IncomingHttpHeaders,
  mode: PayloadMode,
  maxBytes: number,
  tooLargeError: BodyExpectations["tooLargeError"],
  requireLength: boolean,
): BodyExpectations {
  const get = (name: string) => headers.get(name)?.join(",");
  const streaming = isStreamingMode(mode);
  const decodedLength = parseLength(get("x-amz-decoded-content-length"), "x-amz-decoded-content-length");
  const contentLength = parseLength(get("content-length"), "Content-Length");
  if (streaming && mode.kind === "streaming-signed" && decodedLength === undefined) {
    throw new S3Error(
      "MissingContentLength",
      "x-amz-decoded-content-length is required for signed streaming uploads.",
    );
  }
  const declaredLengthBytes = streaming ? decodedLength : contentLength;
  if (requireLength && declaredLengthBytes === undefined && nodeHeaders["transfer-encoding"] === undefined) {
    throw new S3Error("MissingContentLength");
  }
  if (declaredLengthBytes !== undefined && declaredLengthBytes > maxBytes) throw new S3Error(tooLargeError);

  let contentMd5: Buffer | undefined;
  const md5Text = get("content-md5");
  if (md5Text !== undefined) {
    const trimmed = md5Text.trim();
    contentMd5 = Buffer.from(trimmed, "base64");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || contentMd5.length !== 16)
      throw new S3Error("InvalidDigest");
  }

  let headerChecksum: BodyExpectations["headerChecksum"];
  for (const [name, values] of headers) {
    if (!name.startsWith("x-amz-checksum-") || CHECKSUM_NON_VALUE_HEADERS.has(name)) continue;
    const algorithm = algorithmFromHeaderName(name);
    if (algorithm === undefined) throw new S3Error("InvalidRequest", `Unsupported checksum header ${name}.`);
    if (headerChecksum !== undefined)
      throw new S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header.");
    const value = values.join(",").trim();
    if (!isValidChecksumValue(algorithm, value)) {
      throw new S3Error("InvalidRequest", `Value for ${name} header is invalid.`);
    }
    headerChecksum = { algorithm, value };
  }

  let trailerChecksum: ChecksumAlgorithm | undefined;
  const trailer = get("x-amz-trailer");
  if (trailer !== undefined) {
    const hasTrailer =
      mode.kind === "streaming-unsigned-trailer" || (mode.kind === "streaming-signed" && mode.trailer);
    if (!hasTrailer) {
      throw new S3Error("InvalidRequest", "x-amz-trailer requires a *-TRAILER x-amz-content-sha256 mode.");
    }
    const names = trailer.split(",").map((n) => n.trim().toLowerCase());
    if (names.length !== 1) throw new S3Error("InvalidRequest", "Only one trailing checksum is supported.");
    trailerChecksum = algorithmFromHeaderName(names[0]!);
    if (trailerChecksum === undefined)
      throw new S3Error("InvalidRequest", `Unsupported trailer ${names[0]}.`);
    if (headerChecksum !== undefined) {
      throw new S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header or trailer.");
    }
  }

  let computeChecksum: ChecksumAlgorithm | undefined;
  const sdkAlgorithm = get("x-amz-sdk-checksum-algorithm") ?? get("x-amz-checksum-algorithm");
  if (sdkAlgorithm !== undefined) {
    computeChecksum = parseChecksumAlgorithm(sdkAlgorithm);
    if (computeChecksum === undefined)
      throw new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported.");
  }

  return {
    mode,
    declaredLengthBytes,
    maxBytes,
    tooLargeError,
    contentMd5,
    headerChecksum,
    trailerChecksum,
    computeChecksum,
  };
}
