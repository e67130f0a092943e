import { describe, expect, it } from "vitest";
import { decodeCommand, decodeEnvelope, encodeCommand, encodeEnvelope } from "./codec/codec.js";
import type { Command } from "./commands.js";
import { chunk, put } from "./test-support.js";

const enc = new TextEncoder();
const bytes = (v: unknown) => enc.encode(JSON.stringify(v));

describe("command codec", () => {
  it("round-trips every command shape with an envelope", () => {
    const cmds: Command[] = [
      put("b", "k/é", [chunk("a"), chunk("b")]),
      { type: "DeleteObjects", bucket: "b", keys: ["a", "b"], atMs: 3 },
      {
        type: "CompleteMultipartUpload",
        uploadId: "u",
        parts: [{ partNumber: 1, etag: "x" }],
        lastModifiedMs: 1,
      },
      {
        type: "AddBackupFiles",
        backupId: "x",
        atMs: 1,
        files: [{ path: "l", kind: "symlink", mode: 1, size: 0, mtimeMs: 1, linkTarget: "t", chunks: [] }],
      },
      { type: "Noop" },
    ];
    for (const c of cmds) {
      expect(decodeCommand(encodeCommand(c))).toEqual(c);
      expect(decodeEnvelope(encodeEnvelope({ requestId: "r-1", command: c }))).toEqual({
        requestId: "r-1",
        command: c,
      });
    }
  });

  it("throws typed errors on undecodable, unknown or invalid entries", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return "no error";
    };
    expect(code(() => decodeEnvelope(new Uint8Array([0xff, 0xfe])))).toBe("Undecodable");
    expect(code(() => decodeEnvelope(enc.encode("{")))).toBe("Undecodable");
    expect(code(() => decodeEnvelope(bytes([1])))).toBe("Undecodable");
    expect(code(() => decodeEnvelope(bytes({ command: { type: "Noop" } })))).toBe("Undecodable");
    expect(code(() => decodeEnvelope(bytes({ v: 2, command: { type: "Noop" } })))).toBe("UnsupportedVersion");
    expect(code(() => decodeEnvelope(bytes({ v: 1, command: { type: "Explode" } })))).toBe("UnknownCommand");
    expect(code(() => decodeEnvelope(bytes({ v: 1, x: 1, command: { type: "Noop" } })))).toBe("Undecodable");
    const invalid = [
      { type: "Noop", extra: 1 },
      { type: "DeleteObject", bucket: "b", key: "k" },
      { type: "DeleteObject", bucket: "b", key: "k", atMs: -1 },
      { type: "DeleteObject", bucket: "b", key: "k", atMs: 1.5 },
      { type: "DeleteObject", bucket: "b", key: "\ud800", atMs: 1 },
      { type: "DeleteObject", bucket: "b", key: "", atMs: 1 },
      { ...put("b", "k", [{ ...chunk("a"), hash: "ABC" }]) },
      { ...put("b", "k", []), meta: { contentType: 5 } },
      { ...put("b", "k", []), ifNoneMatch: "yes" },
    ];
    for (const c of invalid) {
      expect(code(() => decodeEnvelope(bytes({ v: 1, command: c })))).toBe("InvalidCommand");
      expect(code(() => encodeCommand(c as unknown as Command))).toBe("InvalidCommand");
    }
    expect(code(() => decodeEnvelope(bytes({ v: 1, requestId: "", command: { type: "Noop" } })))).toBe(
      "InvalidCommand",
    );
  });
});
