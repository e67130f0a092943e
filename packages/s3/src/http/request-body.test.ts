import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { S3Error } from "../errors.js";
import { type BodyExpectations, VerifiedBody } from "./request-body.js";

const md5 = (b: Buffer) => createHash("md5").update(b).digest();

function body(data: Buffer, contentMd5?: Buffer): VerifiedBody {
  const expect: BodyExpectations = {
    mode: { kind: "unsigned" },
    declaredLengthBytes: data.length,
    maxBytes: 1 << 20,
    tooLargeError: "EntityTooLarge",
    contentMd5,
    headerChecksum: undefined,
    trailerChecksum: undefined,
    computeChecksum: undefined,
  };
  async function* pieces() {
    yield data.subarray(0, 3);
    yield data.subarray(3);
  }
  return new VerifiedBody(pieces(), expect);
}

async function drain(b: VerifiedBody): Promise<void> {
  for await (const _ of b);
}

describe("VerifiedBody MD5", () => {
  const data = Buffer.from("hello, delegated world");

  it("hashes the body itself by default and checks Content-MD5 at the end", async () => {
    const ok = body(data, md5(data));
    await drain(ok);
    expect(ok.digests().md5Hex).toBe(md5(data).toString("hex"));
    const bad = body(data, md5(Buffer.from("x")));
    await expect(drain(bad)).rejects.toMatchObject({ code: "BadDigest" });
  });

  it("with delegateMd5, digests() waits for the consumer's MD5, which Content-MD5 is checked against", async () => {
    const b = body(data, md5(data));
    const complete = b.delegateMd5();
    await drain(b);
    expect(() => b.digests()).toThrow(/before the body was fully read/);
    complete(md5(data));
    expect(b.digests()).toMatchObject({ sizeBytes: data.length, md5Hex: md5(data).toString("hex") });
  });

  it("a delegated MD5 that differs from Content-MD5 is BadDigest, kept as the body's failure", async () => {
    const b = body(data, md5(Buffer.from("something else")));
    const complete = b.delegateMd5();
    await drain(b);
    expect(() => complete(md5(data))).toThrow(S3Error);
    expect(b.failure?.code).toBe("BadDigest");
    expect(() => b.digests()).toThrow();
  });

  it("refuses delegation after iteration started, and an MD5 before the end", async () => {
    const late = body(data);
    await drain(late);
    expect(() => late.delegateMd5()).toThrow(/before iterating/);
    const early = body(data);
    const complete = early.delegateMd5();
    expect(() => complete(md5(data))).toThrow(/before the body was fully read/);
  });
});
