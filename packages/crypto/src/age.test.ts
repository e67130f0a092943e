import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ageDecrypt, ageDecryptStream, ageEncrypt, ageEncryptStream, generateAgeKeyPair } from "./age.js";
import { CryptoError } from "./errors.js";

async function collect(s: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of s) parts.push(p);
  return Buffer.concat(parts);
}

function streamOf(data: Uint8Array, pieceBytes: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= data.length) return c.close();
      c.enqueue(data.subarray(off, off + pieceBytes));
      off += pieceBytes;
    },
  });
}

describe("age", () => {
  it.each([false, true])("round-trips a buffer (postQuantum=%s), binary and armored", async (postQuantum) => {
    const kp = await generateAgeKeyPair({ postQuantum });
    expect(kp.recipient.startsWith(postQuantum ? "age1pq1" : "age1")).toBe(true);
    const data = randomBytes(5000);
    const ct = await ageEncrypt(data, [kp.recipient]);
    expect(Buffer.from(await ageDecrypt(ct, [kp.identity])).equals(data)).toBe(true);
    const armored = await ageEncrypt(data, [kp.recipient], { armor: true });
    expect(Buffer.from(armored).toString("utf8")).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/);
    expect(Buffer.from(await ageDecrypt(armored, [kp.identity])).equals(data)).toBe(true);
  });

  it("round-trips a stream larger than one age chunk (64 KiB)", async () => {
    const kp = await generateAgeKeyPair({ postQuantum: true });
    const data = randomBytes(200_000);
    const ct = await ageEncryptStream(streamOf(data, 10_000), [kp.recipient]);
    const pt = await ageDecryptStream(ct, [kp.identity]);
    expect((await collect(pt)).equals(data)).toBe(true);
  });

  it("wrong identity → AgeDecryptFailed without the identity in the message", async () => {
    const kp = await generateAgeKeyPair();
    const other = await generateAgeKeyPair();
    const ct = await ageEncrypt("snapshot", [kp.recipient]);
    const err = await ageDecrypt(ct, [other.identity]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe("AgeDecryptFailed");
    expect((err as Error).message).not.toContain(other.identity);
  });

  it("a tampered payload errors the decrypted stream", async () => {
    const kp = await generateAgeKeyPair();
    const ct = Buffer.from(await ageEncrypt(randomBytes(100_000), [kp.recipient]));
    const at = ct.length - 100;
    ct[at] = (ct[at] ?? 0) ^ 1;
    await expect(ageDecrypt(ct, [kp.identity])).rejects.toMatchObject({ code: "AgeDecryptFailed" });
    const pt = await ageDecryptStream(streamOf(ct, 4096), [kp.identity]);
    await expect(collect(pt)).rejects.toMatchObject({ code: "AgeDecryptFailed" });
  });

  it("invalid recipients and identities are AgeFailed; identities are never echoed", async () => {
    await expect(ageEncrypt("x", [])).rejects.toMatchObject({ code: "AgeFailed" });
    await expect(ageEncrypt("x", ["ssh-rsa AAAA"])).rejects.toMatchObject({ code: "AgeFailed" });
    const classic = await generateAgeKeyPair();
    const pq = await generateAgeKeyPair({ postQuantum: true });
    await expect(ageEncrypt("x", [classic.recipient, pq.recipient])).rejects.toThrow(/cannot mix/);
    const err = await ageDecrypt(new Uint8Array(10), ["AGE-SECRET-KEY-BOGUS"]).catch((e: unknown) => e);
    expect((err as CryptoError).code).toBe("AgeFailed");
    expect((err as Error).message).not.toContain("BOGUS");
  });
});
