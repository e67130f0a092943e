import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { ManifestError } from "../errors.js";
import { Manifest } from "../manifest.js";
import { chunk, Log, put } from "../test-support.js";
import { writeManifestAtSchema } from "./at-version.js";
import { SCHEMA_VERSION, TABLES, tablesAt } from "./migrations.js";
import { openDatabase } from "./open-database.js";
import { checksumAtVersion, rowCountsAtVersion } from "./versioned-read.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "manifest-older-"));
  dirs.push(d);
  return d;
}

/** The tables the v1 build's checksum.ts iterated, in its order (commit 404023f). */
const V1_TABLES = [
  "buckets",
  "chunks",
  "objects",
  "object_chunks",
  "uploads",
  "parts",
  "part_chunks",
  "backups",
  "backup_files",
  "backup_file_chunks",
  "backup_stream_chunks",
  "backup_logs",
  "data_keys",
  "raft_meta",
  "applied_requests",
];

/** A closed current-schema manifest with objects, overwrites, deletes, a multipart upload. */
function source(dir: string): string {
  const path = join(dir, "src.db");
  const m = Manifest.open(path);
  m.setClusterId("cluster-old");
  const log = new Log(m);
  log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  for (let i = 0; i < 40; i++) log.ok(put("b", `k${i % 30}`, [chunk(`c${i % 7}`), chunk(`d${i}`)], 1000 + i));
  log.ok({ type: "DeleteObject", bucket: "b", key: "k3", atMs: 5000 });
  m.applyEntry({ index: log.index + 1, term: 2, membership: { voters: [1, 2], learners: [] } });
  m.close();
  return path;
}

function errorOf(f: () => unknown): ManifestError {
  try {
    f();
  } catch (err) {
    return err as ManifestError;
  }
  throw new Error("expected a ManifestError");
}

describe("a database at an older schema", () => {
  it("the versioned dump equals checksum()/rowCounts() at the current schema", () => {
    const path = source(tempDir());
    const m = Manifest.open(path, { readonly: true });
    const db = openDatabase(path, { readonly: true });
    try {
      expect(checksumAtVersion(db)).toBe(m.checksum());
      expect(rowCountsAtVersion(db)).toEqual(m.rowCounts());
    } finally {
      db.close();
      m.close();
    }
    expect(tablesAt(SCHEMA_VERSION)).toEqual(TABLES);
    expect(tablesAt(1).map((t) => t.name)).toEqual(V1_TABLES);
  });

  for (const version of Array.from({ length: SCHEMA_VERSION - 1 }, (_, i) => i + 1)) {
    it(`v${version}: read-only serves schemaVersion/raftMeta/rowCounts/checksum as is, refuses the rest; read-write migrates with every row kept`, async () => {
      const dir = tempDir();
      const src = source(dir);
      const srcM = Manifest.open(src, { readonly: true });
      const srcMeta = srcM.raftMeta();
      const srcCounts = srcM.rowCounts();
      const srcSum = srcM.checksum();
      const srcObjects = srcM.listObjects({ bucket: "b", maxKeys: 1000 });
      srcM.close();
      // The source's later tables hold only what their migrations insert, so migrating the old
      // copy must reproduce it exactly.
      expect(srcCounts.chunk_tombstones).toBe(0);
      expect(srcCounts.swept_name_tags).toBe(0);

      const old = join(dir, `v${version}.db`);
      writeManifestAtSchema(src, old, version);
      const ro = Manifest.open(old, { readonly: true });
      let oldSum: string;
      try {
        expect(ro.schemaVersion()).toBe(version);
        expect(ro.raftMeta()).toEqual(srcMeta);
        const counts = ro.rowCounts();
        expect(Object.keys(counts)).toEqual(tablesAt(version).map((t) => t.name));
        for (const [t, n] of Object.entries(counts)) expect(n, t).toBe(srcCounts[t]);
        oldSum = ro.checksum();
        expect(oldSum).toMatch(/^[0-9a-f]{64}$/);
        expect(oldSum).not.toBe(srcSum);
        const e = errorOf(() => ro.listBuckets());
        expect(e).toBeInstanceOf(ManifestError);
        expect(e.code).toBe("InvalidArgument");
        expect(e.message).toContain(`schema version ${version}, older than this build's ${SCHEMA_VERSION}`);
        expect(errorOf(() => ro.applyEntries([])).code).toBe("InvalidArgument");
        expect(errorOf(() => ro.checkInvariants()).code).toBe("InvalidArgument");
        await expect(ro.backupTo(join(dir, "copy.db"))).rejects.toMatchObject({ code: "InvalidArgument" });
      } finally {
        ro.close();
      }
      // Still untouched by the read-only open: same version, same checksum.
      const again = Manifest.open(old, { readonly: true });
      expect(again.schemaVersion()).toBe(version);
      expect(again.checksum()).toBe(oldSum);
      again.close();

      const rw = Manifest.open(old);
      try {
        expect(rw.schemaVersion()).toBe(SCHEMA_VERSION);
        expect(rw.checksum()).toBe(srcSum);
        expect(rw.rowCounts()).toEqual(srcCounts);
        expect(rw.listObjects({ bucket: "b", maxKeys: 1000 })).toEqual(srcObjects);
        expect(rw.checkInvariants()).toEqual([]);
      } finally {
        rw.close();
      }
    });
  }

  it("a newer schema is refused read-only too, and the file is not changed", () => {
    const dir = tempDir();
    const path = source(dir);
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const e = errorOf(() => Manifest.open(path, { readonly: true, integrityCheck: "none" }));
    expect(e.code).toBe("SchemaTooNew");
    expect(e.message).toContain(
      `schema version ${SCHEMA_VERSION + 1}, newer than this build's ${SCHEMA_VERSION}`,
    );
    const check = new Database(path, { readonly: true });
    expect(check.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
    check.close();
  });

  it("writeManifestAtSchema refuses a bad version or an existing file", () => {
    const dir = tempDir();
    const src = source(dir);
    expect(errorOf(() => writeManifestAtSchema(src, join(dir, "x.db"), SCHEMA_VERSION + 1)).code).toBe(
      "InvalidArgument",
    );
    expect(errorOf(() => writeManifestAtSchema(src, src, 1)).code).toBe("InvalidArgument");
  });
});
