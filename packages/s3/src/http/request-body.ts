import { createHash, type Hash } from "node:crypto";
import { CHECKSUM_DIGEST_BYTES, type ChecksumHasher, createChecksumHasher } from "../checksums/hasher.js";
import { S3Error } from "../errors.js";
import type { BodyDigests, ChecksumAlgorithm, Checksums, RequestBody } from "../port.js";
import { AwsChunkedDecoder } from "../sigv4/chunked-decoder.js";
import type { PayloadMode } from "../sigv4/payload-mode.js";

/** What the headers say the body must satisfy. */
export interface BodyExpectations {
  mode: PayloadMode;
  /** Plaintext length declared (Content-Length, or x-amz-decoded-content-length when streaming). */
  declaredLengthBytes: number | undefined;
  maxBytes: number;
  /** Too big → this error (EntityTooLarge for objects, MaxMessageLengthExceeded for XML). */
  tooLargeError: "EntityTooLarge" | "MaxMessageLengthExceeded";
  /** Content-MD5, base64-decoded. */
  contentMd5: Buffer | undefined;
  /** x-amz-checksum-<alg> header value (base64) to verify. */
  headerChecksum: { algorithm: ChecksumAlgorithm; value: string } | undefined;
  /** Algorithm announced in `x-amz-trailer` (value arrives in the trailer). */
  trailerChecksum: ChecksumAlgorithm | undefined;
  /** Algorithm to compute and store without a client value (x-amz-sdk-checksum-algorithm alone). */
  computeChecksum: ChecksumAlgorithm | undefined;
}

/** A checksum value as a client sent it must be base64 of the algorithm's digest length. */
export function isValidChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  return Buffer.from(value, "base64").length === CHECKSUM_DIGEST_BYTES[algorithm];
}

/**
 * The verified request body handed to the ObjectService. It streams (never holds more than one
 * network read), counts, hashes and, after the last byte, checks every declared digest; any failure
 * is thrown from the iterator and kept in `failure` so the handler can report it even if the service
 * wrapped it.
 */
export class VerifiedBody implements RequestBody {
  readonly declaredLengthBytes: number | undefined;
  failure: S3Error | undefined;
  /** True once iteration started: the handler then knows the socket's body was (partly) consumed. */
  started = false;
  private result: BodyDigests | undefined;
  private iterated = false;
  /** Set by `delegateMd5`: the consumer supplies the MD5; `partial` waits for it. */
  private md5Delegated = false;
  private partial: Omit<BodyDigests, "md5Hex"> | undefined;

  constructor(
    private readonly source: AsyncIterable<Buffer>,
    private readonly expect: BodyExpectations,
  ) {
    this.declaredLengthBytes = expect.declaredLengthBytes;
  }

  digests(): BodyDigests {
    if (this.result === undefined)
      throw new Error("RequestBody.digests() called before the body was fully read");
    return this.result;
  }

  delegateMd5(): (md5: Uint8Array) => void {
    if (this.iterated) throw new Error("RequestBody.delegateMd5() must be called before iterating");
    this.md5Delegated = true;
    return (md5) => {
      if (this.partial === undefined)
        throw new Error("RequestBody: the delegated MD5 was supplied before the body was fully read");
      const digest = Buffer.from(md5.buffer, md5.byteOffset, md5.byteLength);
      if (this.expect.contentMd5 !== undefined && !digest.equals(this.expect.contentMd5)) {
        this.failure = new S3Error("BadDigest");
        throw this.failure;
      }
      this.result = { ...this.partial, md5Hex: digest.toString("hex") };
    };
  }

  /**
   * One hand-written iterator rather than async generators: every piece of every PUT passes here,
   * and each generator layer costs several promise hops per piece (see RequestBodyReader).
   */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.iterated) throw new Error("RequestBody can be iterated only once");
    this.iterated = true;
    const check = new BodyCheck(this.expect, !this.md5Delegated);
    const inner = check.decode(this.source)[Symbol.asyncIterator]();
    let finished = false;
    const fail = (err: unknown): never => {
      finished = true;
      this.failure = err instanceof S3Error ? err : new S3Error("IncompleteBody", undefined, { cause: err });
      throw this.failure;
    };
    const step = (r: IteratorResult<Buffer>): IteratorResult<Buffer> | Promise<IteratorResult<Buffer>> => {
      try {
        if (r.done) {
          finished = true;
          const digests = check.end();
          if (digests.md5Hex === undefined)
            this.partial = { sizeBytes: digests.sizeBytes, checksums: digests.checksums };
          else this.result = { ...digests, md5Hex: digests.md5Hex };
          return r;
        }
        check.piece(r.value);
        return r;
      } catch (err) {
        finished = true;
        // Stop reading, as leaving a for-await loop would, then report.
        return Promise.resolve(inner.return?.()).then(
          () => fail(err),
          () => fail(err),
        );
      }
    };
    return {
      next: () => {
        this.started = true;
        return finished ? Promise.resolve(DONE) : inner.next().then(step, fail);
      },
      return: async () => {
        finished = true;
        await inner.return?.();
        return DONE;
      },
    };
  }
}

const DONE: IteratorResult<Buffer> = { done: true, value: undefined };

/** What a body must satisfy, checked piece by piece and at the end (see BodyExpectations). */
class BodyCheck {
  private decoder: AwsChunkedDecoder | undefined;
  private readonly md5: Hash | undefined;
  private readonly sha256: Hash | undefined;
  private readonly hashers = new Map<ChecksumAlgorithm, ChecksumHasher>();
  private sizeBytes = 0;

  constructor(
    private readonly e: BodyExpectations,
    hashMd5: boolean,
  ) {
    this.md5 = hashMd5 ? createHash("md5") : undefined;
    this.sha256 = e.mode.kind === "sha256" ? createHash("sha256") : undefined;
    for (const algorithm of [e.headerChecksum?.algorithm, e.trailerChecksum, e.computeChecksum]) {
      if (algorithm !== undefined && !this.hashers.has(algorithm))
        this.hashers.set(algorithm, createChecksumHasher(algorithm));
    }
  }

  /** The payload pieces of `source`: aws-chunked framing decoded (and its signatures checked). */
  decode(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    const mode = this.e.mode;
    if (mode.kind === "streaming-signed") {
      this.decoder = new AwsChunkedDecoder(mode.chain, mode.trailer);
      return this.decoder.decode(source);
    }
    if (mode.kind === "streaming-unsigned-trailer") {
      this.decoder = new AwsChunkedDecoder(undefined, true);
      return this.decoder.decode(source);
    }
    return source;
  }

  piece(piece: Buffer): void {
    const e = this.e;
    this.sizeBytes += piece.length;
    if (this.sizeBytes > e.maxBytes) throw new S3Error(e.tooLargeError);
    if (e.declaredLengthBytes !== undefined && this.sizeBytes > e.declaredLengthBytes) {
      throw new S3Error("IncompleteBody", "The body is longer than the declared length.");
    }
    this.md5?.update(piece);
    this.sha256?.update(piece);
    for (const hasher of this.hashers.values()) hasher.update(piece);
  }

  /** After the last piece: every declared digest checked; md5Hex absent when MD5 was delegated. */
  end(): Omit<BodyDigests, "md5Hex"> & { md5Hex: string | undefined } {
    const e = this.e;
    const sizeBytes = this.sizeBytes;
    if (e.declaredLengthBytes !== undefined && sizeBytes !== e.declaredLengthBytes) {
      throw new S3Error("IncompleteBody");
    }
    if (this.sha256 !== undefined && e.mode.kind === "sha256" && this.sha256.digest("hex") !== e.mode.hex) {
      throw new S3Error("XAmzContentSHA256Mismatch");
    }
    const md5Digest = this.md5?.digest();
    if (md5Digest !== undefined && e.contentMd5 !== undefined && !md5Digest.equals(e.contentMd5))
      throw new S3Error("BadDigest");
    const computed = new Map<ChecksumAlgorithm, string>();
    for (const [algorithm, hasher] of this.hashers)
      computed.set(algorithm, hasher.digest().toString("base64"));
    const checksums: Checksums = {};
    if (e.headerChecksum !== undefined) {
      if (computed.get(e.headerChecksum.algorithm) !== e.headerChecksum.value) {
        throw new S3Error(
          "BadDigest",
          `The ${e.headerChecksum.algorithm} you specified did not match the calculated checksum.`,
        );
      }
      checksums[e.headerChecksum.algorithm] = e.headerChecksum.value;
    }
    if (e.trailerChecksum !== undefined) {
      const name = `x-amz-checksum-${e.trailerChecksum.toLowerCase()}`;
      const value = this.decoder?.trailers.get(name);
      if (value === undefined) throw new S3Error("MalformedTrailerError", `The trailer ${name} is missing.`);
      if (!isValidChecksumValue(e.trailerChecksum, value)) {
        throw new S3Error("InvalidRequest", `Value for ${name} trailing header is invalid.`);
      }
      if (computed.get(e.trailerChecksum) !== value) {
        throw new S3Error(
          "BadDigest",
          `The ${e.trailerChecksum} you specified did not match the calculated checksum.`,
        );
      }
      checksums[e.trailerChecksum] = value;
    }
    if (e.computeChecksum !== undefined && checksums[e.computeChecksum] === undefined) {
      checksums[e.computeChecksum] = computed.get(e.computeChecksum)!;
    }
    return { sizeBytes, md5Hex: md5Digest?.toString("hex"), checksums };
  }
}

/** Reads a small body (XML) whole, within its limit. */
export async function readSmallBody(body: VerifiedBody): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(piece);
  return Buffer.concat(pieces);
}
