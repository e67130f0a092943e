import { createHash } from "node:crypto";
import { S3Error } from "../errors.js";
import { MAX_CHUNK_HEADER_LINE_BYTES, MAX_TRAILER_BYTES } from "../limits.js";
import { ByteReader } from "./byte-reader.js";
import { EMPTY_SHA256_HEX, hmacSha256, sha256Hex, signaturesEqual } from "./crypto-utils.js";
import type { ChunkSigningChain } from "./payload-mode.js";

/**
 * Decoder for the aws-chunked body framing:
 *
 *   <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n
 *   [<trailer-name>:<value>\r\n … [x-amz-trailer-signature:<sig>\r\n]]\r\n
 *
 * With a signing chain every chunk signature is verified (each signs the previous one, seeded by the
 * request signature) and so is the trailer signature. Data is yielded as it arrives, before the
 * chunk's signature can be checked; the failure surfaces as a throw, and the port contract says a
 * body that throws is never committed. Trailers are available in `trailers` after the end.
 */
export class AwsChunkedDecoder {
  /** Trailer name (lowercase) → value, filled once the final chunk and trailer section are read. */
  readonly trailers = new Map<string, string>();
  private previousSignature: string;

  constructor(
    private readonly chain: ChunkSigningChain | undefined,
    private readonly expectTrailer: boolean,
  ) {
    this.previousSignature = chain?.seedSignature ?? "";
  }

  private verifyChunkSignature(given: string | undefined, dataHashHex: string): void {
    const chain = this.chain;
    if (chain === undefined) return;
    if (given === undefined) throw new S3Error("SignatureDoesNotMatch", "A chunk signature is missing.");
    const toSign = [
      "AWS4-HMAC-SHA256-PAYLOAD",
      chain.amzDate,
      chain.scope,
      this.previousSignature,
      EMPTY_SHA256_HEX,
      dataHashHex,
    ].join("\n");
    const expected = hmacSha256(chain.signingKey, toSign).toString("hex");
    if (!signaturesEqual(expected, given)) {
      throw new S3Error("SignatureDoesNotMatch", "The chunk signature does not match.");
    }
    this.previousSignature = expected;
  }

  private parseSizeLine(line: string): { size: number; signature: string | undefined } {
    const semicolon = line.indexOf(";");
    const sizeText = (semicolon >= 0 ? line.slice(0, semicolon) : line).trim();
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText))
      throw new S3Error("IncompleteBody", "Malformed aws-chunked size line.");
    const size = Number.parseInt(sizeText, 16);
    if (!Number.isSafeInteger(size)) throw new S3Error("InvalidChunkSizeError");
    let signature: string | undefined;
    if (semicolon >= 0) {
      for (const ext of line.slice(semicolon + 1).split(";")) {
        const [name, value] = ext.split("=", 2);
        if (name?.trim() === "chunk-signature" && value !== undefined) signature = value.trim();
      }
    }
    return { size, signature };
  }

  async *decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const reader = new ByteReader(source);
    const lineTooLong = () => new S3Error("InvalidChunkSizeError", "The aws-chunked size line is too long.");
    for (;;) {
      const { size, signature } = this.parseSizeLine(
        await reader.readLine(MAX_CHUNK_HEADER_LINE_BYTES, lineTooLong),
      );
      const hash = this.chain === undefined ? undefined : createHash("sha256");
      for await (const piece of reader.readExactly(size)) {
        hash?.update(piece);
        yield piece;
      }
      this.verifyChunkSignature(signature, hash === undefined ? "" : hash.digest("hex"));
      if (size === 0) break;
      const terminator = await reader.readLine(2, lineTooLong);
      if (terminator !== "") throw new S3Error("IncompleteBody", "aws-chunked data is not followed by CRLF.");
    }
    await this.readTrailers(reader);
    if (!(await reader.drainIsBlank())) {
      throw new S3Error("InvalidRequest", "Unexpected data after the final aws-chunked chunk.");
    }
  }

  private async readTrailers(reader: ByteReader): Promise<void> {
    const malformed = () => new S3Error("MalformedTrailerError");
    let budget = MAX_TRAILER_BYTES;
    let trailerSignature: string | undefined;
    const canonical: string[] = [];
    for (;;) {
      const line = await reader.readLine(budget, malformed);
      budget -= line.length + 2;
      if (line === "") break;
      if (!this.expectTrailer) throw malformed();
      const colon = line.indexOf(":");
      if (colon <= 0) throw malformed();
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "x-amz-trailer-signature") {
        trailerSignature = value;
        continue;
      }
      if (this.trailers.has(name)) throw malformed();
      this.trailers.set(name, value);
      canonical.push(`${name}:${value}\n`);
    }
    const chain = this.chain;
    if (chain === undefined || !this.expectTrailer) return;
    if (trailerSignature === undefined) {
      throw new S3Error("SignatureDoesNotMatch", "The trailer signature is missing.");
    }
    const toSign = [
      "AWS4-HMAC-SHA256-TRAILER",
      chain.amzDate,
      chain.scope,
      this.previousSignature,
      sha256Hex(canonical.join("")),
    ].join("\n");
    const expected = hmacSha256(chain.signingKey, toSign).toString("hex");
    if (!signaturesEqual(expected, trailerSignature)) {
      throw new S3Error("SignatureDoesNotMatch", "The trailer signature does not match.");
    }
  }
}
