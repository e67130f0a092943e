/**
 * Opens a snapshot file as a plaintext byte stream: a ustar archive as is, or an age-encrypted one
 * (binary age, X25519 or ML-KEM-768 hybrid recipients) decrypted on the fly. The raw file bytes
 * are hashed on the way (the SHA-256 that names the file).
 */
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { ageDecryptStream, isCryptoError } from "@enigma/crypto";
import { SnapshotError } from "./errors.js";

export const AGE_MAGIC = "age-encryption.org/v1\n";
const AGE_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
/** An identity file holds a few keys; refuse to slurp anything large. */
const MAX_IDENTITY_FILE_BYTES = 64 * 1024;

export interface SnapshotSource {
  readonly encrypted: boolean;
  /** Plaintext tar bytes. Iterate once. */
  readonly stream: AsyncIterable<Uint8Array>;
  /** SHA-256 (hex) and size of the raw file, complete once `stream` has been read to its end. */
  rawDigest(): { sha256: string; bytes: number };
}

export async function openSnapshotSource(
  file: string,
  ageIdentities: readonly string[] | undefined,
): Promise<SnapshotSource> {
  const head = await readHead(file, 64);
  const sha = createHash("sha256");
  let bytes = 0;
  let digest: { sha256: string; bytes: number } | undefined;
  const raw = createReadStream(file);
  async function* tapped(): AsyncGenerator<Buffer, void, undefined> {
    try {
      for await (const piece of raw as AsyncIterable<Buffer>) {
        sha.update(piece);
        bytes += piece.length;
        yield piece;
      }
      digest = { sha256: sha.digest("hex"), bytes };
    } catch (err) {
      throw new SnapshotError("Io", `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    } finally {
      raw.destroy();
    }
  }
  const rawDigest = () => {
    if (digest === undefined) throw new SnapshotError("Internal", "snapshot file was not read to its end");
    return digest;
  };
  if (head.toString("latin1").trimStart().startsWith(AGE_ARMOR_BEGIN)) {
    raw.destroy();
    throw new SnapshotError(
      "BadArgument",
      `${file} is ASCII-armored age; snapshots are binary age: decrypt it with "age -d" first`,
    );
  }
  if (!head.toString("latin1").startsWith(AGE_MAGIC))
    return { encrypted: false, stream: tapped(), rawDigest };
  if (ageIdentities === undefined || ageIdentities.length === 0) {
    raw.destroy();
    throw new SnapshotError(
      "Encrypted",
      `${file} is age-encrypted: give an age identity (--age-identity FILE)`,
    );
  }
  let plain: ReadableStream<Uint8Array>;
  const cipher = tapped();
  try {
    plain = await ageDecryptStream(toWebStream(cipher), ageIdentities);
  } catch (err) {
    // Let the reader finish its current read and close the file; destroying the file stream under
    // a pending read would turn into a rejection nobody handles.
    void cipher.return(undefined).catch(() => undefined);
    throw decryptError(file, err);
  }
  return { encrypted: true, stream: mapErrors(plain, file), rawDigest };
}

/** Reads age identities from a file: one AGE-SECRET-KEY-… per line; blank lines and # comments skipped. */
export function loadAgeIdentities(path: string): string[] {
  let text: string;
  try {
    if (statSync(path).size > MAX_IDENTITY_FILE_BYTES)
      throw new SnapshotError("BadArgument", `age identity file ${path} is too large to be an identity file`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof SnapshotError) throw err;
    throw new SnapshotError(
      "BadArgument",
      `cannot read age identity file ${path}: ${(err as Error).message}`,
    );
  }
  const ids = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (ids.length === 0 || ids.some((l) => !l.startsWith("AGE-SECRET-KEY-")))
    throw new SnapshotError("BadArgument", `${path} is not an age identity file (AGE-SECRET-KEY-… lines)`);
  return ids;
}

/**
 * A web stream over an async iterable, pulled on demand. Not `Readable.toWeb(Readable.from(…))`:
 * a Node stream in between can emit an 'error' nobody listens to when a consumer gives up early
 * (a wrong age identity), which would crash the process instead of rejecting a read.
 */
export function toWebStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

async function readHead(file: string, n: number): Promise<Buffer> {
  try {
    const fh = await open(file, "r");
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new SnapshotError("Io", `cannot read snapshot ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function* mapErrors(stream: ReadableStream<Uint8Array>, file: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const piece of stream) yield piece;
  } catch (err) {
    throw decryptError(file, err);
  }
}

function decryptError(file: string, err: unknown): SnapshotError {
  if (err instanceof SnapshotError) return err;
  if (isCryptoError(err, "AgeFailed"))
    return new SnapshotError("BadArgument", `cannot decrypt ${file}: ${err.message}`, { cause: err });
  const why = err instanceof Error ? err.message : String(err);
  const hint = /no identity|not match|recipient/i.test(why)
    ? "none of the given age identities is a recipient of this snapshot"
    : "the ciphertext is damaged or was altered";
  return new SnapshotError("DecryptFailed", `cannot decrypt ${file}: ${hint} (${why})`, { cause: err });
}
