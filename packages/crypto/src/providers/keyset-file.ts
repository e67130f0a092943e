/**
 * Key-set file (keystore format v2): a whole key set (key-record.ts) sealed under the passphrase.
 * It is what `keys migrate --to local` writes, so a vault-born cluster (whose root does not come
 * from a passphrase) can live in a local file with every key unchanged. Big-endian integers:
 *
 *   0    4   magic "ENGK"                 | 52   8   created at (unix ms)
 *   4    1   format version = 2           | 60   4   body length L (≤ MAX_KEY_SET_BODY_BYTES)
 *   5    1   KDF id = 1 (Argon2id 1.3)    | 64   12  AES-GCM nonce
 *   6    1   body id = 1 (key-set JSON)   | 76   L   sealed body: canonical JSON (key-record-codec.ts)
 *   7    1   reserved = 0                 | 76+L 16  GCM tag                 AAD = bytes [0, 76)
 *   8    12  Argon2id memory/iter/par     | 92+L 32  SHA-256 of bytes [0, 92+L) (unkeyed checksum)
 *   20   16  Argon2id salt                |
 *   36   16  keystore id                  |
 *
 * wrapKey = HKDF(Argon2id(NFC(passphrase), salt), salt = keystore id, "enigma-ha/v2/keyset-file-wrap").
 * Unlike v1, no key depends on the passphrase, so a passphrase change is export + import.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import {
  ARGON2_SALT_BYTES,
  type Argon2Params,
  argon2ParamsProblem,
  DEFAULT_ARGON2_PARAMS,
  deriveArgon2,
} from "../argon2-params.js";
import { errnoCode, writeFileExclusive } from "../atomic-file.js";
import { CryptoError } from "../errors.js";
import { hkdf32, SCHEME } from "../hkdf.js";
import { KEYSTORE_FILE_MODE } from "../keystore.js";
import { KDF_ARGON2ID, KEYSTORE_ID_BYTES, KEYSTORE_MAGIC } from "../keystore-format.js";
import {
  KeyRecordInvalid,
  type KeySet,
  keySetProblem,
  keystoreIdBytes,
  MAX_PROVIDER_KEYS,
} from "./key-record.js";
import { decodeKeySet, encodeKeySet, MAX_SECRET_VALUE_BYTES } from "./key-record-codec.js";

export const KEY_SET_FILE_VERSION = 2;
const BODY_KEY_SET_JSON = 1;
export const MAX_KEY_SET_BODY_BYTES = MAX_PROVIDER_KEYS * MAX_SECRET_VALUE_BYTES;
const HEADER_BYTES = 76;
const TAG_BYTES = 16;
const CHECKSUM_BYTES = 32;
const MAX_FILE_BYTES = HEADER_BYTES + MAX_KEY_SET_BODY_BYTES + TAG_BYTES + CHECKSUM_BYTES;

export interface KeySetFileInfo {
  readonly keystoreId: string;
  readonly createdAtMs: number;
  readonly argon2: Argon2Params;
}

/** Reads the format version byte of a keystore file (1 = keystore.ts, 2 = this file). */
export async function keystoreFileVersion(path: string): Promise<number> {
  const head = await readCapped(path, 8);
  if (head.length < 5 || head.readUInt32BE(0) !== KEYSTORE_MAGIC)
    throw new CryptoError(
      "KeystoreCorrupt",
      `keystore file ${path} is corrupt: not an Enigma keystore (bad magic)`,
    );
  return head.readUInt8(4);
}

/** Writes a new key-set file (mode 0600, atomic, never over an existing file). */
export async function writeKeySetFile(
  path: string,
  passphrase: string,
  set: KeySet,
  opts: { readonly argon2?: Partial<Argon2Params>; readonly createdAtMs?: number } = {},
): Promise<void> {
  if (passphrase.length === 0) throw new CryptoError("BadParams", "keystore passphrase must not be empty");
  const problem = keySetProblem(set);
  if (problem) throw new CryptoError("BadParams", `cannot write key set: ${problem}`);
  const argon2: Argon2Params = { ...DEFAULT_ARGON2_PARAMS, ...opts.argon2 };
  const argonProblem = argon2ParamsProblem(argon2);
  if (argonProblem) throw new CryptoError("BadParams", argonProblem);
  const body = Buffer.from(encodeKeySet(set), "utf8");
  if (body.length > MAX_KEY_SET_BODY_BYTES) throw new CryptoError("BadParams", "key set is too large");
  const salt = randomBytes(ARGON2_SALT_BYTES);
  const nonce = randomBytes(12);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(KEYSTORE_MAGIC, 0);
  header.writeUInt8(KEY_SET_FILE_VERSION, 4);
  header.writeUInt8(KDF_ARGON2ID, 5);
  header.writeUInt8(BODY_KEY_SET_JSON, 6);
  header.writeUInt32BE(argon2.memoryKiB, 8);
  header.writeUInt32BE(argon2.iterations, 12);
  header.writeUInt32BE(argon2.parallelism, 16);
  salt.copy(header, 20);
  keystoreIdBytes(set.keystoreId).copy(header, 36);
  header.writeBigUInt64BE(BigInt(opts.createdAtMs ?? Date.now()), 52);
  header.writeUInt32BE(body.length, 60);
  nonce.copy(header, 64);
  const stretched = await deriveArgon2(passphrase, salt, argon2);
  const wrapKey = hkdf32(stretched, keystoreIdBytes(set.keystoreId), SCHEME.keySetFileWrap);
  stretched.fill(0);
  const c = createCipheriv("aes-256-gcm", wrapKey, nonce);
  c.setAAD(header);
  const sealed = Buffer.concat([c.update(body), c.final()]);
  body.fill(0);
  wrapKey.fill(0);
  const unsummed = Buffer.concat([header, sealed, c.getAuthTag()]);
  const file = Buffer.concat([unsummed, createHash("sha256").update(unsummed).digest()]);
  await writeFileExclusive(path, file, KEYSTORE_FILE_MODE);
}

/**
 * Opens a key-set file. KeystoreMissing, KeystoreCorrupt (size, checksum, version, ids, Argon2
 * bounds, or a body that does not parse) or WrongPassphrase. The caller wipes the returned set.
 */
export async function readKeySetFile(
  path: string,
  passphrase: string,
): Promise<{ info: KeySetFileInfo; set: KeySet }> {
  const bytes = await readCapped(path, MAX_FILE_BYTES + 1);
  const corrupt = (why: string) =>
    new CryptoError("KeystoreCorrupt", `keystore file ${path} is corrupt: ${why}`);
  if (bytes.length < HEADER_BYTES + TAG_BYTES + CHECKSUM_BYTES || bytes.readUInt32BE(0) !== KEYSTORE_MAGIC)
    throw corrupt("not an Enigma keystore");
  if (bytes.readUInt8(4) !== KEY_SET_FILE_VERSION)
    throw corrupt(`format version ${bytes.readUInt8(4)}, expected 2`);
  const bodyLength = bytes.readUInt32BE(60);
  if (bodyLength > MAX_KEY_SET_BODY_BYTES) throw corrupt("body length out of range");
  if (bytes.length !== HEADER_BYTES + bodyLength + TAG_BYTES + CHECKSUM_BYTES)
    throw corrupt(`size ${bytes.length} does not match the recorded body length (truncated?)`);
  const sumAt = bytes.length - CHECKSUM_BYTES;
  if (!createHash("sha256").update(bytes.subarray(0, sumAt)).digest().equals(bytes.subarray(sumAt)))
    throw corrupt("checksum mismatch");
  if (bytes.readUInt8(5) !== KDF_ARGON2ID) throw corrupt("unknown KDF id");
  if (bytes.readUInt8(6) !== BODY_KEY_SET_JSON) throw corrupt("unknown body id");
  if (bytes.readUInt8(7) !== 0) throw corrupt("reserved byte is not zero");
  const argon2: Argon2Params = {
    memoryKiB: bytes.readUInt32BE(8),
    iterations: bytes.readUInt32BE(12),
    parallelism: bytes.readUInt32BE(16),
  };
  // Bounds before Argon2 runs: the header is authenticated only after it (as in keystore v1).
  const argonProblem = argon2ParamsProblem(argon2);
  if (argonProblem) throw corrupt(argonProblem);
  const createdAt = bytes.readBigUInt64BE(52);
  if (createdAt > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt("creation time out of range");
  const salt = bytes.subarray(20, 20 + ARGON2_SALT_BYTES);
  const keystoreId = bytes.subarray(36, 36 + KEYSTORE_ID_BYTES);
  const header = bytes.subarray(0, HEADER_BYTES);
  const stretched = await deriveArgon2(passphrase, salt, argon2);
  const wrapKey = hkdf32(stretched, keystoreId, SCHEME.keySetFileWrap);
  stretched.fill(0);
  const d = createDecipheriv("aes-256-gcm", wrapKey, bytes.subarray(64, HEADER_BYTES));
  d.setAAD(header);
  d.setAuthTag(bytes.subarray(HEADER_BYTES + bodyLength, HEADER_BYTES + bodyLength + TAG_BYTES));
  let body: Buffer;
  try {
    body = Buffer.concat([d.update(bytes.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength)), d.final()]);
  } catch {
    throw new CryptoError(
      "WrongPassphrase",
      "wrong keystore passphrase (or the keystore header was altered)",
    );
  } finally {
    wrapKey.fill(0);
  }
  let set: KeySet;
  try {
    set = decodeKeySet(body.toString("utf8"));
  } catch (err) {
    if (err instanceof KeyRecordInvalid) throw corrupt(err.message);
    throw err;
  } finally {
    body.fill(0);
  }
  const problem = keySetProblem(set);
  if (problem || set.keystoreId !== keystoreId.toString("hex"))
    throw corrupt(problem ?? "keystore id mismatch");
  return { info: { keystoreId: set.keystoreId, createdAtMs: Number(createdAt), argon2 }, set };
}

async function readCapped(path: string, cap: number): Promise<Buffer> {
  try {
    const fh = await open(path, "r");
    try {
      const buf = Buffer.alloc(Math.min(cap, (await fh.stat()).size));
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      return buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT") throw new CryptoError("KeystoreMissing", `no keystore at ${path}`, { cause: err });
    throw new CryptoError("Io", `cannot read keystore ${path}: ${code}`, { cause: err });
  }
}
