import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SnapshotError, SnapshotErrorCode } from "./errors.js";
import { encodeUstarHeader, TAR_BLOCK_BYTES, TAR_RECORD_BYTES, writeChecksum } from "./tar-format.js";
import { readTar, type TarReadLimits } from "./tar-reader.js";
import { tarStream } from "./tar-writer.js";
import { rawTar, regular, tempDirs } from "./test-fixtures.js";

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

/** Feeds the archive in odd-sized pieces, as a file or decryptor would. */
async function* pieces(buf: Buffer, size = 333): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(buf: Buffer, limits?: TarReadLimits): Promise<{ name: string; data: Buffer }[]> {
  const out: { name: string; data: Buffer }[] = [];
  await readTar(
    pieces(buf),
    async (entry, body) => {
      out.push({ name: entry.name, data: await collect(body) });
    },
    limits,
  );
  return out;
}

async function refusal(buf: Buffer, limits?: TarReadLimits): Promise<SnapshotError> {
  const seen: string[] = [];
  try {
    await readTar(
      pieces(buf),
      async (entry, body) => {
        seen.push(entry.name);
        await collect(body);
      },
      limits,
    );
  } catch (err) {
    return err as SnapshotError;
  }
  throw new Error(`accepted; members ${seen.join(", ")}`);
}

async function expectRefused(buf: Buffer, code: SnapshotErrorCode, message: RegExp, limits?: TarReadLimits) {
  const err = await refusal(buf, limits);
  expect(err.name).toBe("SnapshotError");
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

const ok = regular("ok.txt", Buffer.from("fine"));

describe("tar writer + reader", () => {
  it("round-trips members of every size class, block-aligned and padded to a record", async () => {
    const sizes = [0, 1, 511, 512, 513, 70_000];
    const members = sizes.map((n, i) => ({ name: `dir/m${i}.bin`, data: randomBytes(n) }));
    const tar = await collect(
      tarStream(
        members.map((m, i) =>
          i % 2
            ? { name: m.name, size: m.data.length, body: m.data }
            : { name: m.name, size: m.data.length, body: () => pieces(m.data, 1000) },
        ),
        { mtimeS: 1_700_000_000 },
      ),
    );
    expect(tar.length % TAR_RECORD_BYTES).toBe(0);
    const back = await readAll(tar);
    expect(back.map((m) => m.name)).toEqual(members.map((m) => m.name));
    for (const [i, m] of back.entries()) expect(m.data.equals(members[i]!.data)).toBe(true);
  });

  it("refuses to write a member whose source yields a different size", async () => {
    const gen = tarStream([{ name: "a", size: 10, body: () => pieces(Buffer.alloc(9)) }], { mtimeS: 0 });
    await expect(collect(gen)).rejects.toThrow(/yielded 9 bytes, declared 10/);
    const grow = tarStream([{ name: "a", size: 10, body: () => pieces(Buffer.alloc(11)) }], { mtimeS: 0 });
    await expect(collect(grow)).rejects.toThrow(/grew beyond/);
  });

  it("refuses to write unsafe names", async () => {
    for (const name of ["/abs", "../x", "a/../b", "a//b", "./a"]) {
      await expect(
        collect(tarStream([{ name, size: 0, body: Buffer.alloc(0) }], { mtimeS: 0 })),
      ).rejects.toThrow(/cannot write tar member/);
    }
  });

  it("interoperates with the system tar (when installed)", async () => {
    let hasTar = true;
    try {
      execFileSync("tar", ["--version"], { stdio: "ignore" });
    } catch {
      hasTar = false;
    }
    if (!hasTar) return;
    const dir = tmp.make();
    const data = randomBytes(1500);
    const ours = await collect(
      tarStream([{ name: "x/y.bin", size: data.length, body: data }], { mtimeS: 1 }),
    );
    writeFileSync(join(dir, "ours.tar"), ours);
    mkdirSync(join(dir, "out"));
    execFileSync("tar", ["-xf", join(dir, "ours.tar"), "-C", join(dir, "out")]);
    expect(readFileSync(join(dir, "out", "x", "y.bin")).equals(data)).toBe(true);
    // And the other way: a POSIX ustar archive written by tar(1) reads back.
    writeFileSync(join(dir, "plain.txt"), "from system tar\n");
    execFileSync("tar", ["--format=ustar", "-cf", join(dir, "sys.tar"), "-C", dir, "plain.txt"]);
    const back = await readAll(readFileSync(join(dir, "sys.tar")));
    expect(back).toEqual([{ name: "plain.txt", data: Buffer.from("from system tar\n") }]);
  });

  it("reads a base-256 size field (sizes of 8 GiB and more)", async () => {
    const h = encodeUstarHeader({ name: "big", size: 8 * 1024 ** 3 });
    expect(h[124]).toBe(0x80);
    await expectRefused(
      Buffer.concat([h, Buffer.alloc(1024)]),
      "TarUnsafe",
      /8589934592 bytes, above the limit of 1024/,
      {
        maxMemberBytes: 1024,
        maxMembers: 10,
        maxTrailingBytes: 0,
      },
    );
  });
});

describe("tar reader refusals", () => {
  const limits: TarReadLimits = { maxMemberBytes: 4096, maxMembers: 4, maxTrailingBytes: TAR_RECORD_BYTES };
  const cases: [string, Buffer, SnapshotErrorCode, RegExp][] = [
    [
      "absolute path",
      rawTar([ok, regular("/etc/passwd", Buffer.from("x"))]),
      "TarUnsafe",
      /"\/etc\/passwd".*absolute path/,
    ],
    [
      "../ member",
      rawTar([regular("../evil", Buffer.from("x"))]),
      "TarUnsafe",
      /"\.\.\/evil".*parent-directory/,
    ],
    ["nested ..", rawTar([regular("a/../../evil", Buffer.from("x"))]), "TarUnsafe", /parent-directory/],
    [
      "prefix with ..",
      rawTar([{ fields: { name: "evil", prefix: "..", size: 0 } }]),
      "TarUnsafe",
      /"\.\.\/evil"/,
    ],
    ["backslash", rawTar([regular("a\\..\\b", Buffer.from("x"))]), "TarUnsafe", /backslash/],
    [
      "symlink",
      rawTar([{ fields: { name: "link", size: 0, typeflag: "2", linkname: "/etc/shadow" } }]),
      "TarUnsafe",
      /"link" is a symbolic link to "\/etc\/shadow"/,
    ],
    [
      "hard link",
      rawTar([{ fields: { name: "hard", size: 0, typeflag: "1", linkname: "ok.txt" } }]),
      "TarUnsafe",
      /hard link/,
    ],
    [
      "char device",
      rawTar([{ fields: { name: "null", size: 0, typeflag: "3", devmajor: 1, devminor: 3 } }]),
      "TarUnsafe",
      /character device/,
    ],
    [
      "block device",
      rawTar([{ fields: { name: "sda", size: 0, typeflag: "4" } }]),
      "TarUnsafe",
      /block device/,
    ],
    ["FIFO", rawTar([{ fields: { name: "pipe", size: 0, typeflag: "6" } }]), "TarUnsafe", /FIFO/],
    ["directory", rawTar([{ fields: { name: "d", size: 0, typeflag: "5" } }]), "TarUnsafe", /directory/],
    [
      "pax header",
      rawTar([{ fields: { name: "PaxHeader", size: 0, typeflag: "x" } }]),
      "TarUnsupported",
      /pax extended header/,
    ],
    [
      "GNU long name",
      rawTar([{ fields: { name: "././@LongLink", size: 0, typeflag: "L" } }]),
      "TarUnsupported",
      /GNU long name/,
    ],
    [
      "GNU magic",
      rawTar([{ fields: { name: "a", size: 0, magic: "ustar ", version: " \0" } }]),
      "TarUnsupported",
      /GNU tar header/,
    ],
    [
      "v7 header",
      rawTar([{ fields: { name: "a", size: 0, magic: "\0\0\0\0\0\0", version: "\0\0" } }]),
      "TarUnsupported",
      /not POSIX ustar/,
    ],
    ["duplicate", rawTar([ok, ok]), "TarUnsafe", /duplicate member "ok.txt"/],
    [
      "oversize",
      rawTar([{ fields: { name: "huge", size: 10 ** 9 } }]),
      "TarUnsafe",
      /"huge" is 1000000000 bytes, above the limit of 4096/,
    ],
    [
      "too many",
      rawTar([1, 2, 3, 4, 5].map((i) => regular(`f${i}`, Buffer.alloc(1)))),
      "TarUnsafe",
      /more than 4 members/,
    ],
    ["not a tar", randomBytes(4096), "TarMalformed", /bad header checksum at byte 0/],
    [
      "truncated",
      rawTar([regular("a", Buffer.alloc(2000))]).subarray(0, 1024),
      "TarMalformed",
      /truncated in "a"/,
    ],
    ["no end marker", rawTar([ok]).subarray(0, 1024), "TarMalformed", /no end-of-archive marker/],
    [
      "trailing data",
      Buffer.concat([rawTar([ok]), Buffer.from("junk")]),
      "TarMalformed",
      /data after the end-of-archive/,
    ],
    [
      "invalid UTF-8 name",
      rawTarWithNameBytes(Buffer.from([0x66, 0xff, 0xfe])),
      "TarUnsafe",
      /not valid UTF-8/,
    ],
    ["control char", rawTar([regular("a\u0001b", Buffer.alloc(1))]), "TarUnsafe", /control character/],
  ];
  it.each(cases)("%s", async (_label, buf, code, message) => {
    await expectRefused(buf, code, message, limits);
  });

  it("judges a member from its header before handing any data over", async () => {
    let handed = 0;
    const tar = rawTar([ok, { fields: { name: "huge", size: 10 ** 9 } }]);
    await expect(
      readTar(
        pieces(tar),
        async (_e, body) => {
          handed++;
          await collect(body);
        },
        limits,
      ),
    ).rejects.toThrow(/huge/);
    expect(handed).toBe(1);
  });

  it("refuses a flipped header byte (checksum)", async () => {
    const tar = rawTar([ok]);
    tar[10] = 0x41;
    await expectRefused(tar, "TarMalformed", /bad header checksum/, limits);
  });
});

function rawTarWithNameBytes(name: Buffer): Buffer {
  const h = encodeUstarHeader({ name: "x", size: 0 });
  h.fill(0, 0, 100);
  name.copy(h, 0);
  writeChecksum(h);
  return Buffer.concat([h, Buffer.alloc(2 * TAR_BLOCK_BYTES)]);
}
