/**
 * Text forms of what providers store, all canonical JSON (canonical-json.ts) so that the same record
 * always has the same bytes and its HMAC (key-record.ts) is stable across copies:
 *
 *   `{prefix}-{N}`      a provider key record   {"format":"enigma-ha/provider-key/v1", …}
 *   `{prefix}-current`  the pointer             {"format":"enigma-ha/provider-pointer/v1",
 *                                                "keystoreId", "current", "keys":[{"keyId","version"}]}
 *   key-set file body   a whole key set         {"format":"enigma-ha/key-set/v1", "keystoreId",
 *                                                "current", "records":[record, …]}
 *
 * Binary fields are base64 (standard, padded). Decoders are strict: unknown formats, missing or
 * extra fields and wrong types throw KeyRecordInvalid; they never echo field values.
 */
import { canonicalJson } from "../canonical-json.js";
import { type KeyRecord, KeyRecordInvalid, type KeySet, MAX_PROVIDER_KEYS } from "./key-record.js";

export const RECORD_FORMAT = "enigma-ha/provider-key/v1";
export const POINTER_FORMAT = "enigma-ha/provider-pointer/v1";
export const KEY_SET_FORMAT = "enigma-ha/key-set/v1";
/** Under every vault's limit (Azure Key Vault: 25 KiB); a record is ~3.5 KiB. */
export const MAX_SECRET_VALUE_BYTES = 24 * 1024;
const MAX_VERSION_CHARS = 128;

/** The pointer: which provider key is current, and the vault version pinned for every key. */
export interface KeyPointer {
  readonly keystoreId: string;
  readonly current: number;
  /** Ascending by keyId. */
  readonly keys: readonly { readonly keyId: number; readonly version: string }[];
}

type Json = Record<string, unknown>;

/** The record without `auth`, canonical: what the HMAC covers. */
export function recordBody(r: KeyRecord): string {
  return canonicalJson(recordObject(r, false));
}

export function encodeRecord(r: KeyRecord): string {
  return canonicalJson(recordObject(r, true));
}

export function decodeRecord(text: string): KeyRecord {
  return recordFromObject(parse(text, "provider key record"));
}

export function encodePointer(p: KeyPointer): string {
  return canonicalJson({
    format: POINTER_FORMAT,
    keystoreId: p.keystoreId,
    current: p.current,
    keys: p.keys.map((k) => ({ keyId: k.keyId, version: k.version })),
  });
}

export function decodePointer(text: string): KeyPointer {
  const o = parse(text, "key pointer");
  exactKeys(o, ["format", "keystoreId", "current", "keys"], "key pointer");
  if (o.format !== POINTER_FORMAT) throw new KeyRecordInvalid("key pointer has an unknown format");
  const keystoreId = hexId(o.keystoreId);
  const current = keyId(o.current, "current");
  if (!Array.isArray(o.keys) || o.keys.length === 0 || o.keys.length > MAX_PROVIDER_KEYS)
    throw new KeyRecordInvalid(`key pointer must list 1..${MAX_PROVIDER_KEYS} keys`);
  let previous = 0;
  const keys = o.keys.map((k: unknown) => {
    if (!isObject(k)) throw new KeyRecordInvalid("key pointer entry is not an object");
    exactKeys(k, ["keyId", "version"], "key pointer entry");
    const id = keyId(k.keyId, "keyId");
    // Ascending from 1; gaps are ids skipped past orphans (vault-key-provider.ts rotate).
    if (id <= previous || (previous === 0 && id !== 1))
      throw new KeyRecordInvalid("key pointer must list key ids ascending from 1");
    previous = id;
    if (typeof k.version !== "string" || k.version.length === 0 || k.version.length > MAX_VERSION_CHARS)
      throw new KeyRecordInvalid("key pointer entry has an invalid version");
    return { keyId: id, version: k.version };
  });
  if (!keys.some((k) => k.keyId === current))
    throw new KeyRecordInvalid("key pointer's current key is not listed");
  return { keystoreId, current, keys };
}

export function encodeKeySet(set: KeySet): string {
  return canonicalJson({
    format: KEY_SET_FORMAT,
    keystoreId: set.keystoreId,
    current: set.currentKeyId,
    records: set.records.map((r) => recordObject(r, true)),
  });
}

export function decodeKeySet(text: string): KeySet {
  const o = parse(text, "key set", MAX_PROVIDER_KEYS * MAX_SECRET_VALUE_BYTES);
  exactKeys(o, ["format", "keystoreId", "current", "records"], "key set");
  if (o.format !== KEY_SET_FORMAT) throw new KeyRecordInvalid("key set has an unknown format");
  if (!Array.isArray(o.records) || o.records.length > MAX_PROVIDER_KEYS)
    throw new KeyRecordInvalid("key set records must be an array");
  return {
    keystoreId: hexId(o.keystoreId),
    currentKeyId: keyId(o.current, "current"),
    records: o.records.map((r: unknown) => {
      if (!isObject(r)) throw new KeyRecordInvalid("key set record is not an object");
      return recordFromObject(r);
    }),
  };
}

function recordObject(r: KeyRecord, withAuth: boolean): Json {
  const base: Json = {
    format: RECORD_FORMAT,
    keystoreId: r.keystoreId,
    keyId: r.keyId,
    createdAtMs: r.createdAtMs,
    derivation: r.derivation,
    keyCheck: r.keyCheck,
  };
  if (withAuth && r.auth !== undefined) base.auth = r.auth;
  if (r.derivation === "keystore-v1") return { ...base, root: b64(r.root) };
  return {
    ...base,
    mlKem768Seed: b64(r.mlKemSeed),
    mlKem768PublicKey: b64(r.mlKemPublicKey),
    mlKem768Ciphertext: b64(r.mlKemCiphertext),
    rootInput: b64(r.rootInput),
  };
}

function recordFromObject(o: Json): KeyRecord {
  if (o.format !== RECORD_FORMAT) throw new KeyRecordInvalid("provider key record has an unknown format");
  const common = ["format", "keystoreId", "keyId", "createdAtMs", "derivation", "keyCheck"];
  if ("auth" in o) common.push("auth");
  const base = {
    keystoreId: hexId(o.keystoreId),
    keyId: keyId(o.keyId, "keyId"),
    createdAtMs: ms(o.createdAtMs),
    keyCheck: hexString(o.keyCheck, 32, "keyCheck"),
    ...(o.auth === undefined ? {} : { auth: hexString(o.auth, 64, "auth") }),
  };
  if (o.derivation === "keystore-v1") {
    exactKeys(o, [...common, "root"], "provider key record");
    return { ...base, derivation: "keystore-v1", root: unb64(o.root, "root") };
  }
  if (o.derivation === "ml-kem-768-hybrid") {
    exactKeys(
      o,
      [...common, "mlKem768Seed", "mlKem768PublicKey", "mlKem768Ciphertext", "rootInput"],
      "provider key record",
    );
    return {
      ...base,
      derivation: "ml-kem-768-hybrid",
      mlKemSeed: unb64(o.mlKem768Seed, "mlKem768Seed"),
      mlKemPublicKey: unb64(o.mlKem768PublicKey, "mlKem768PublicKey"),
      mlKemCiphertext: unb64(o.mlKem768Ciphertext, "mlKem768Ciphertext"),
      rootInput: unb64(o.rootInput, "rootInput"),
    };
  }
  throw new KeyRecordInvalid("provider key record has an unknown derivation");
}

function parse(text: string, what: string, maxBytes = MAX_SECRET_VALUE_BYTES): Json {
  if (Buffer.byteLength(text, "utf8") > maxBytes) throw new KeyRecordInvalid(`${what} is too large`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new KeyRecordInvalid(`${what} is not JSON`);
  }
  if (!isObject(v)) throw new KeyRecordInvalid(`${what} is not a JSON object`);
  return v;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function exactKeys(o: Json, keys: readonly string[], what: string): void {
  const want = new Set(keys);
  for (const k of Object.keys(o))
    if (!want.has(k)) throw new KeyRecordInvalid(`${what} has an unexpected field`);
  for (const k of keys) if (!(k in o)) throw new KeyRecordInvalid(`${what} lacks field ${k}`);
}

function hexId(v: unknown): string {
  return hexString(v, 32, "keystoreId");
}

function hexString(v: unknown, chars: number, field: string): string {
  if (typeof v !== "string" || !new RegExp(`^[0-9a-f]{${chars}}$`).test(v))
    throw new KeyRecordInvalid(`${field} must be ${chars} lowercase hex chars`);
  return v;
}

function keyId(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 0xffff_ffff)
    throw new KeyRecordInvalid(`${field} must be a provider key id`);
  return v;
}

function ms(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new KeyRecordInvalid("createdAtMs must be a non-negative integer");
  return v;
}

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

function unb64(v: unknown, field: string): Buffer {
  if (typeof v !== "string" || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v))
    throw new KeyRecordInvalid(`${field} must be base64`);
  return Buffer.from(v, "base64");
}
