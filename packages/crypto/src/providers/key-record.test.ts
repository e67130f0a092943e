import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateHybridRecord,
  type HybridKeyRecord,
  KeyRecordInvalid,
  keySetProblem,
  keystoreV1Record,
  newKeystoreId,
  recordRoot,
} from "./key-record.js";
import { decodePointer, decodeRecord, encodePointer, encodeRecord } from "./key-record-codec.js";
import { KeySetMaterial } from "./key-set-material.js";

describe("provider key records", () => {
  it("derive the same root every time, and a different one per key id and keystore", () => {
    const ks = newKeystoreId();
    const r = generateHybridRecord(ks, 1, 0);
    const root = recordRoot(r);
    expect(recordRoot(decodeRecord(encodeRecord(r))).equals(root)).toBe(true);
    // The same material under another key id or keystore is a different key: its check fails.
    expect(() => recordRoot({ ...r, keyId: 2 })).toThrow(KeyRecordInvalid);
    expect(() => recordRoot({ ...r, keystoreId: newKeystoreId() })).toThrow(KeyRecordInvalid);
  });

  it("detect damaged material: root input, ML-KEM seed, ciphertext", () => {
    const r = generateHybridRecord(newKeystoreId(), 1, 0);
    const flip = (b: Buffer) => {
      const c = Buffer.from(b);
      c[0]! ^= 1;
      return c;
    };
    expect(() => recordRoot({ ...r, rootInput: flip(r.rootInput) })).toThrow(/key check/);
    expect(() => recordRoot({ ...r, mlKemSeed: flip(r.mlKemSeed) })).toThrow(/public key/);
    // ML-KEM decapsulation of a altered ciphertext returns a pseudo-random secret (implicit rejection).
    expect(() => recordRoot({ ...r, mlKemCiphertext: flip(r.mlKemCiphertext) })).toThrow(/key check/);
    expect(() => recordRoot({ ...r, rootInput: r.rootInput.subarray(1) })).toThrow(/size/);
  });

  it("a keystore-v1 record is only ever provider key 1", () => {
    const r = keystoreV1Record(newKeystoreId(), randomBytes(32), 0);
    expect(recordRoot(r).equals(r.root)).toBe(true);
    expect(() => recordRoot({ ...r, keyId: 2 })).toThrow(/only be provider key 1/);
  });

  it("decode strictly: unknown fields, formats and derivations are refused without echoing values", () => {
    const text = encodeRecord(generateHybridRecord(newKeystoreId(), 1, 0));
    const o = JSON.parse(text) as Record<string, unknown>;
    expect(() => decodeRecord(JSON.stringify({ ...o, extra: "sekrit" }))).toThrow(/unexpected field/);
    expect(() => decodeRecord(JSON.stringify({ ...o, derivation: "sekrit" }))).toThrow(/derivation$/);
    expect(() => decodeRecord(JSON.stringify({ ...o, rootInput: "!!sekrit" }))).toThrow(/base64/);
    for (const bad of ["sekrit", "[]", "{}"]) {
      try {
        decodeRecord(bad);
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).not.toContain("sekrit");
      }
    }
  });

  it("pointers list ascending key ids from 1 (gaps allowed) with current among them", () => {
    const keystoreId = newKeystoreId();
    const p = {
      keystoreId,
      current: 3,
      keys: [
        { keyId: 1, version: "a" },
        { keyId: 3, version: "b" },
      ],
    };
    expect(decodePointer(encodePointer(p))).toEqual(p);
    expect(() => decodePointer(encodePointer({ ...p, current: 2 }))).toThrow(/current/);
    expect(() => decodePointer(encodePointer({ ...p, keys: [...p.keys].reverse() }))).toThrow(/ascending/);
    expect(() => decodePointer(encodePointer({ ...p, keys: [{ keyId: 2, version: "a" }] }))).toThrow(
      /ascending/,
    );
  });
});

describe("KeySetMaterial", () => {
  it("accepts later keys only with an auth from this key set's identity", () => {
    const ks = newKeystoreId();
    const m = new KeySetMaterial(generateHybridRecord(ks, 1, 0));
    const other = new KeySetMaterial(generateHybridRecord(ks, 1, 0));
    const unsigned = generateHybridRecord(ks, 2, 0);
    expect(() => m.addRecord(unsigned)).toThrow(/not authenticated/);
    expect(() => m.addRecord(other.authenticate(unsigned))).toThrow(/not authenticated/);
    // An authenticated record with one byte changed no longer verifies.
    const signed = m.authenticate(unsigned);
    const altered: HybridKeyRecord = { ...signed, createdAtMs: 1 };
    expect(() => m.addRecord(altered)).toThrow(/not authenticated/);
    m.addRecord(signed);
    m.setCurrent(2);
    expect(m.keyIds()).toEqual([1, 2]);
  });

  it("wraps under the current key and unwraps under any loaded one", () => {
    const ks = newKeystoreId();
    const m = new KeySetMaterial(generateHybridRecord(ks, 1, 0));
    const old = m.newDataKey(1);
    const r2 = m.authenticate(generateHybridRecord(ks, 2, 0));
    m.addRecord(r2);
    m.setCurrent(2);
    const fresh = m.newDataKey(2);
    expect(m.providerKeyOf(1, old.wrapped)).toBe(1);
    expect(m.providerKeyOf(2, fresh.wrapped)).toBe(2);
    expect(m.unwrapDataKey(1, old.wrapped).equals(old.key)).toBe(true);
    const onlyFirst = new KeySetMaterial(generateHybridRecord(ks, 1, 0));
    expect(() => onlyFirst.unwrapDataKey(2, fresh.wrapped)).toThrow(/refresh the key provider/);
  });

  it("key sets must start at 1, ascend, share a keystore id and authenticate later keys", () => {
    const ks = newKeystoreId();
    const r1 = generateHybridRecord(ks, 1, 0);
    const r2 = generateHybridRecord(ks, 2, 0);
    expect(keySetProblem({ keystoreId: ks, currentKeyId: 1, records: [] })).toMatch(/empty/);
    expect(keySetProblem({ keystoreId: ks, currentKeyId: 2, records: [r2] })).toMatch(/ascend/);
    expect(keySetProblem({ keystoreId: ks, currentKeyId: 2, records: [r1, r2] })).toMatch(/auth/);
    expect(keySetProblem({ keystoreId: newKeystoreId(), currentKeyId: 1, records: [r1] })).toMatch(
      /keystore/,
    );
    expect(keySetProblem({ keystoreId: ks, currentKeyId: 1, records: [r1] })).toBeUndefined();
  });
});
