import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Command } from "./commands.js";
import { ManifestError } from "./errors.js";
import { Manifest } from "./manifest.js";
import { SCHEMA_VERSION } from "./schema/migrations.js";
import { chunk, Log, put } from "./test-support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "manifest-snap-"));
  dirs.push(d);
  return d;
}

function populated(path: string, objects = 200): Manifest {
  const m = Manifest.open(path);
  const log = new Log(m);
  log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  for (let i = 0; i < objects; i++) log.ok(put("b", `k${i}`, [chunk(`c${i % 50}`), chunk(`d${i}`)]));
  return m;
}

function errorOf(f: () => unknown): ManifestError {
  try {
    f();
  } catch (e) {
    return e as ManifestError;
  }
  throw new Error("expected an error");
}

describe("snapshots", () => {
  it("online backup + restore round trip gives the same checksum", async () => {
    const dir = tempDir();
    const m = populated(join(dir, "live.db"));
    const snap = join(dir, "snap.db");
    // Keep applying while the backup runs: the copy is a consistent point in time.
    const backup = m.backupTo(snap);
    const log = new Log(m);
    log.ok(put("b", "during", [chunk("x")]));
    await backup;
    const sumAfter = m.checksum();
    expect(existsSync(`${snap}-wal`)).toBe(false);

    const target = join(dir, "restored.db");
    writeFileSync(target, "old junk that is replaced");
    writeFileSync(`${target}-wal`, "stale wal that must not be replayed");
    const report = Manifest.restoreFrom(snap, target);
    expect(report.schemaVersion).toBe(SCHEMA_VERSION);
    expect(existsSync(`${target}-wal`)).toBe(false);
    const restored = Manifest.open(target);
    const c = restored.checksum();
    // Either the backup restarted and captured "during", or it did not; both are consistent states.
    const withoutDuring = Manifest.openInMemory();
    const l2 = new Log(withoutDuring);
    l2.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    for (let i = 0; i < 200; i++) l2.ok(put("b", `k${i}`, [chunk(`c${i % 50}`), chunk(`d${i}`)]));
    expect([sumAfter, withoutDuring.checksum()]).toContain(c);
    expect(restored.rowCounts()).toMatchObject({ buckets: 1 });
    expect(restored.checkInvariants()).toEqual([]);
    restored.close();
    m.close();
  });

  it("a quiescent backup restores to an identical checksum", async () => {
    const dir = tempDir();
    const m = populated(join(dir, "live.db"), 50);
    const snap = join(dir, "snap.db");
    await m.backupTo(snap);
    const target = join(dir, "t.db");
    Manifest.restoreFrom(snap, target);
    const r = Manifest.open(target);
    expect(r.checksum()).toBe(m.checksum());
    expect(r.raftMeta()).toEqual(m.raftMeta());
    r.close();
    m.close();
  });

  it("refuses a corrupt snapshot and leaves the target untouched", () => {
    const dir = tempDir();
    const target = join(dir, "t.db");
    writeFileSync(target, "keep me");
    const bad = join(dir, "bad.db");
    writeFileSync(bad, Buffer.alloc(8192, 7));
    const e = errorOf(() => Manifest.restoreFrom(bad, target));
    expect(e.code).toBe("Corrupt");
    expect(readFileSync(target, "utf8")).toBe("keep me");
    expect(existsSync(`${target}.tmp-restore`)).toBe(false);
  });
});

describe("opening", () => {
  it("a file that is not a database is Corrupt, with a one-line message", () => {
    const path = join(tempDir(), "x.db");
    writeFileSync(path, "this is not sqlite\n".repeat(500));
    const e = errorOf(() => Manifest.open(path));
    expect(e).toBeInstanceOf(ManifestError);
    expect(e.code).toBe("Corrupt");
    expect(e.message).not.toContain("\n");
    expect(e.message).toContain(path);
  });

  it("a truncated database is Corrupt", () => {
    const path = join(tempDir(), "t.db");
    const m = populated(path, 400);
    m.close();
    // Checkpointed on close: the data is in the main file.
    const size = statSync(path).size;
    truncateSync(path, Math.floor(size / 2));
    const e = errorOf(() => Manifest.open(path));
    expect(e.code).toBe("Corrupt");
    expect(e.message).not.toContain("\n");
  });

  it("a database from a newer schema is refused", () => {
    const path = join(tempDir(), "n.db");
    Manifest.open(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const e = errorOf(() => Manifest.open(path));
    expect(e.code).toBe("SchemaTooNew");
    expect(e.message).toMatch(/newer than this build/);
  });

  it("reopening keeps data and schema version; WAL and FULL sync are on", () => {
    const path = join(tempDir(), "r.db");
    const m = populated(path, 10);
    const sum = m.checksum();
    m.close();
    const again = Manifest.open(path);
    expect(again.checksum()).toBe(sum);
    expect(again.schemaVersion()).toBe(SCHEMA_VERSION);
    again.close();
    const db = new Database(path);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    const noop: Command = { type: "Noop" };
    expect(noop.type).toBe("Noop");
  });
});
