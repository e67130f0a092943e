import { createHash, createHmac, randomBytes } from "node:crypto";
import { sha3 } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { chainEquals, chainFold, chainInit, chainStep, createSha3_256, sha3_256 } from "./chain.js";

const chainKey = randomBytes(32);

function link(data: Buffer) {
  return { sha256: createHash("sha256").update(data).digest(), sha3_256: sha3_256(data) };
}

describe("integrity chain", () => {
  it("SHA3-256 matches the FIPS 202 test vector and hash-wasm", async () => {
    expect(sha3_256(Buffer.from("abc")).toString("hex")).toBe(
      "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    );
    const data = randomBytes(100_000);
    expect(sha3_256(data).toString("hex")).toBe(await sha3(data, 256));
    const inc = createSha3_256();
    inc.update(data.subarray(0, 777));
    inc.update(data.subarray(777));
    expect(inc.digest().equals(sha3_256(data))).toBe(true);
  });

  it("chainStep is HMAC-SHA256(prev, sha256 ‖ sha3-256)", () => {
    const prev = randomBytes(32);
    const { sha256, sha3_256: s3 } = link(randomBytes(10));
    const expected = createHmac("sha256", prev)
      .update(Buffer.concat([sha256, s3]))
      .digest();
    expect(chainStep(prev, sha256, s3).equals(expected)).toBe(true);
  });

  it("detects deletion, reordering and substitution; depends on backup id and key", () => {
    const chunks = [1, 2, 3].map(() => link(randomBytes(64)));
    const [c0, c1, c2] = chunks as [
      ReturnType<typeof link>,
      ReturnType<typeof link>,
      ReturnType<typeof link>,
    ];
    const good = chainFold(chainKey, "backup-1", chunks);
    expect(chainEquals(good, chainFold(chainKey, "backup-1", chunks))).toBe(true);
    const variants = [
      chainFold(chainKey, "backup-1", [c0, c2]),
      chainFold(chainKey, "backup-1", [c1, c0, c2]),
      chainFold(chainKey, "backup-1", [c0, link(randomBytes(64)), c2]),
      chainFold(chainKey, "backup-2", chunks),
      chainFold(randomBytes(32), "backup-1", chunks),
    ];
    for (const v of variants) expect(chainEquals(good, v)).toBe(false);
    expect(chainInit(chainKey, "b").equals(chainInit(chainKey, "b"))).toBe(true);
    expect(() => chainInit(chainKey, "")).toThrow(/empty/);
    expect(() => chainStep(good, c0.sha256, Buffer.alloc(31))).toThrow(/32 bytes/);
  });
});
