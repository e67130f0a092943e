import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.js";
import { Crc64Nvme } from "./crc64nvme.js";
import { checksumBase64, createChecksumHasher } from "./hasher.js";
import { compositeChecksum, multipartEtag } from "./multipart.js";

const CHECK_INPUT = Buffer.from("123456789");

describe("checksums", () => {
  it("matches the catalogue check values for 123456789", () => {
    expect(crc32c(CHECK_INPUT).toString(16)).toBe("e3069283");
    const crc64 = new Crc64Nvme();
    crc64.update(CHECK_INPUT);
    expect(crc64.digest().toString("hex")).toBe("ae8b14860a799888");
    expect(checksumBase64("CRC32", CHECK_INPUT)).toBe(Buffer.from("cbf43926", "hex").toString("base64"));
  });

  it("matches the RFC 3720 CRC-32C vectors (32 bytes: exercises the 8-byte path)", () => {
    expect(crc32c(Buffer.alloc(32, 0)).toString(16)).toBe("8a9136aa");
    expect(crc32c(Buffer.alloc(32, 0xff)).toString(16)).toBe("62a8ab43");
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))).toString(16)).toBe("46dd794e");
  });

  it("agrees with a bit-by-bit CRC-64/NVME reference on uneven lengths", () => {
    const poly = 0x9a6c9329ac4bc9b5n; // 0xAD93D23594C93659 reflected
    const reference = (data: Uint8Array): bigint => {
      let crc = 0xffffffffffffffffn;
      for (const byte of data) {
        crc ^= BigInt(byte);
        for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
      }
      return crc ^ 0xffffffffffffffffn;
    };
    for (const length of [0, 1, 7, 8, 9, 63, 100, 1027]) {
      const data = Buffer.from(Array.from({ length }, (_, i) => (i * 151 + 7) & 0xff));
      const crc = new Crc64Nvme();
      crc.update(data.subarray(0, length >> 1));
      crc.update(data.subarray(length >> 1));
      expect(crc.digest().readBigUInt64BE(0), `length ${length}`).toBe(reference(data));
    }
  });

  it("gives the same value whether fed at once or in pieces", () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7919) & 0xff));
    for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
      const whole = checksumBase64(algorithm, data);
      const hasher = createChecksumHasher(algorithm);
      for (let offset = 0; offset < data.length; offset += 777)
        hasher.update(data.subarray(offset, offset + 777));
      expect(hasher.digest().toString("base64"), algorithm).toBe(whole);
    }
  });

  it("matches known empty-input values", () => {
    expect(checksumBase64("CRC32", Buffer.alloc(0))).toBe("AAAAAA==");
    expect(checksumBase64("CRC64NVME", Buffer.alloc(0))).toBe("AAAAAAAAAAA=");
    expect(checksumBase64("SHA256", Buffer.alloc(0))).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });

  it("computes multipart ETags and composite checksums from the part values", () => {
    const parts = [Buffer.from("part one"), Buffer.from("part two")];
    const etags = parts.map((p) => createHash("md5").update(p).digest("hex"));
    const expected = createHash("md5")
      .update(Buffer.concat(etags.map((e) => Buffer.from(e, "hex"))))
      .digest("hex");
    expect(multipartEtag(etags)).toBe(`${expected}-2`);
    const crcs = parts.map((p) => checksumBase64("CRC32", p));
    const raw = Buffer.concat(crcs.map((c) => Buffer.from(c, "base64")));
    expect(compositeChecksum("CRC32", crcs)).toBe(`${checksumBase64("CRC32", raw)}-2`);
  });
});
