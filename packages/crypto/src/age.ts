/**
 * age encryption (age-encryption.org) for exporting node-state snapshots to operators
 * (ARCHITECTURE §7). Thin wrappers over the `age-encryption` library that normalize its errors.
 *
 * Recipients: X25519 (`age1…`) and the ML-KEM-768 + X25519 post-quantum hybrid (`age1pq1…`), not
 * both in one file.
 * Both buffers and web ReadableStreams are supported; for node streams use
 * `Readable.toWeb` / `Readable.fromWeb`.
 */
import {
  armor,
  Decrypter,
  Encrypter,
  generateHybridIdentity,
  generateX25519Identity,
  identityToRecipient,
} from "age-encryption";
import { CryptoError } from "./errors.js";

const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";

export interface AgeKeyPair {
  /** `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`. Secret. */
  readonly identity: string;
  /** `age1…` or `age1pq1…`. */
  readonly recipient: string;
}

/** A new identity and its recipient; `postQuantum` selects the ML-KEM-768 + X25519 hybrid. */
export async function generateAgeKeyPair(opts: { postQuantum?: boolean } = {}): Promise<AgeKeyPair> {
  const identity = opts.postQuantum ? await generateHybridIdentity() : await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Encrypts to every recipient; `armor` produces the PEM-like text form (as UTF-8 bytes). */
export async function ageEncrypt(
  plaintext: Uint8Array | string,
  recipients: readonly string[],
  opts: { armor?: boolean } = {},
): Promise<Uint8Array> {
  const out = await encrypter(recipients).encrypt(plaintext);
  return opts.armor ? Buffer.from(armor.encode(out), "utf8") : out;
}

/** Decrypts binary or armored age; fails with AgeDecryptFailed when no identity matches or on tampering. */
export async function ageDecrypt(ciphertext: Uint8Array, identities: readonly string[]): Promise<Uint8Array> {
  const d = decrypter(identities);
  const binary = dearmor(ciphertext);
  try {
    return await d.decrypt(binary);
  } catch (err) {
    throw decryptFailed(err);
  }
}

export async function ageEncryptStream(
  plaintext: ReadableStream<Uint8Array>,
  recipients: readonly string[],
): Promise<ReadableStream<Uint8Array>> {
  return encrypter(recipients).encrypt(plaintext);
}

/**
 * Decrypts a binary (not armored) age stream. The header is checked before this resolves; a
 * tampered payload errors the returned stream with AgeDecryptFailed when the bad chunk is reached,
 * so a consumer must not act on output before the stream has ended cleanly.
 */
export async function ageDecryptStream(
  ciphertext: ReadableStream<Uint8Array>,
  identities: readonly string[],
): Promise<ReadableStream<Uint8Array>> {
  const d = decrypter(identities);
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(ciphertext);
  } catch (err) {
    throw decryptFailed(err);
  }
  return mapErrors(out, decryptFailed);
}

function encrypter(recipients: readonly string[]): Encrypter {
  if (recipients.length === 0)
    throw new CryptoError("AgeFailed", "age encryption needs at least one recipient");
  // Mixing would let a classical X25519 stanza unlock a file meant to resist quantum attackers; the
  // Go age tool refuses it too (the library here does not, so we do).
  const pq = recipients.map((r) => isPostQuantumRecipient(r.trim()));
  if (pq.includes(true) && pq.includes(false))
    throw new CryptoError("AgeFailed", "cannot mix post-quantum (age1pq1…) and classical age recipients");
  const e = new Encrypter();
  for (const r of recipients) {
    try {
      e.addRecipient(r.trim());
    } catch (err) {
      throw new CryptoError("AgeFailed", `invalid age recipient ${JSON.stringify(r.slice(0, 80))}`, {
        cause: err,
      });
    }
  }
  return e;
}

function isPostQuantumRecipient(r: string): boolean {
  return r.startsWith("age1pq1") || r.startsWith("age1tagpq1");
}

function decrypter(identities: readonly string[]): Decrypter {
  if (identities.length === 0)
    throw new CryptoError("AgeFailed", "age decryption needs at least one identity");
  const d = new Decrypter();
  identities.forEach((id, i) => {
    try {
      d.addIdentity(id.trim());
    } catch {
      // Identities are secret: name the position, never the value.
      throw new CryptoError("AgeFailed", `age identity #${i + 1} is not a valid identity`);
    }
  });
  return d;
}

function dearmor(data: Uint8Array): Uint8Array {
  const head = Buffer.from(data.subarray(0, 64)).toString("latin1").trimStart();
  if (!head.startsWith(ARMOR_BEGIN)) return data;
  try {
    return armor.decode(Buffer.from(data).toString("utf8"));
  } catch (err) {
    throw new CryptoError("AgeDecryptFailed", "age armor is malformed", { cause: err });
  }
}

function decryptFailed(err: unknown): CryptoError {
  if (err instanceof CryptoError) return err;
  const why = err instanceof Error ? err.message : "unknown error";
  return new CryptoError("AgeDecryptFailed", `age decryption failed: ${why}`, { cause: err });
}

function mapErrors(
  src: ReadableStream<Uint8Array>,
  map: (err: unknown) => Error,
): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(map(err));
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
