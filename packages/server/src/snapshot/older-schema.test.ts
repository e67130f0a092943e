/**
 * A newer build restores a snapshot made by an older build (older manifest schema): verify says
 * which schema it holds, restore checks the signed checksum against the database as it is, then
 * migrates the copy. A snapshot of a newer schema is refused before anything is written.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson, signCanonical } from "@enigma/crypto";
import { Manifest, SCHEMA_VERSION, writeManifestAtSchema } from "@enigma/manifest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot } from "./create.js";
import type { SnapshotError } from "./errors.js";
import type { SnapshotManifest } from "./format.js";
import { ensureNodeSigningKey, type NodeSigningKey } from "./node-key.js";
import { describeDbFile, hashFile } from "./online-backup.js";
import { restoreSnapshot } from "./restore.js";
import {
  applyCommands,
  commandSequence,
  dirState,
  memberData,
  regular,
  repack,
  tempDirs,
} from "./test-fixtures.js";
import { verifySnapshot } from "./verify.js";

const tmp = tempDirs();
let work: string;
let key: NodeSigningKey;
let baseTar: Buffer;
let livePath: string;
let liveChecksum: string;
let liveCounts: Record<string, number>;
let liveObjects: ReturnType<Manifest["listObjects"]>;
let n = 0;

beforeAll(async () => {
  work = tmp.make();
  livePath = join(work, "live.db");
  const live = Manifest.open(livePath);
  live.setClusterId("cluster-old");
  applyCommands(live, commandSequence(150));
  const idx = live.raftMeta().appliedIndex;
  live.applyEntry({ index: idx + 1, term: 2, membership: { voters: [1, 2, 3], learners: [] } });
  liveChecksum = live.checksum();
  liveCounts = live.rowCounts();
  liveObjects = live.listObjects({ bucket: "b", maxKeys: 1000 });
  key = await ensureNodeSigningKey(join(work, "node"));
  const created = await createSnapshot({
    manifest: live,
    nodeId: 1,
    signingKey: { privateKey: key.privateKey },
    outDir: join(work, "out"),
  });
  live.close();
  baseTar = readFileSync(created.file);
});
afterAll(() => tmp.cleanup());

const local = () => ({ localKey: key.publicKey, onWarning: () => {} });
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * A snapshot as an older build signs it: `dbPath` as manifest.db, its schema, row counts and
 * checksum as described (overridable, e.g. to claim what the file does not hold), signed with the
 * node key.
 */
async function signedSnapshotOf(
  dbPath: string,
  override: { schemaVersion?: number; dbChecksum?: string } = {},
): Promise<string> {
  const state = describeDbFile(dbPath, { withChecksum: true });
  const db = readFileSync(dbPath);
  const { sha256: dbSha, bytes } = await hashFile(dbPath);
  const base = JSON.parse(memberData(baseTar, "manifest.json").toString()) as SnapshotManifest;
  const schemaVersion = override.schemaVersion ?? state.schemaVersion;
  const checksum = override.dbChecksum ?? state.checksum;
  const stats = Buffer.from(canonicalJson({ schemaVersion, rowCounts: state.rowCounts, checksum }));
  const m: SnapshotManifest = {
    ...base,
    schemaVersion,
    rowCounts: state.rowCounts,
    dbChecksum: checksum,
    artifacts: base.artifacts.map((a) =>
      a.name === "db-stats.json"
        ? { name: a.name, sha256: sha256(stats), bytes: stats.length }
        : a.name === "manifest.db"
          ? { name: a.name, sha256: dbSha, bytes }
          : a,
    ),
  };
  const manifestBytes = Buffer.from(canonicalJson(m));
  const sig = Buffer.from(`${signCanonical(key.privateKey, m).toString("base64")}\n`, "latin1");
  const tar = repack(baseTar, (members) =>
    members.map((x) =>
      x.name === "manifest.json"
        ? regular(x.name, manifestBytes)
        : x.name === "manifest.sig"
          ? regular(x.name, sig)
          : x.name === "db-stats.json"
            ? regular(x.name, stats)
            : x.name === "manifest.db"
              ? regular(x.name, db)
              : regular(x.name, x.data),
    ),
  );
  const file = join(work, `crafted-${n++}.tar`);
  writeFileSync(file, tar);
  return file;
}

function oldDb(version: number): string {
  const p = join(tmp.make("enigma-old-db-"), `v${version}.db`);
  writeManifestAtSchema(livePath, p, version);
  return p;
}

async function errorOf(p: Promise<unknown>): Promise<SnapshotError> {
  try {
    await p;
  } catch (err) {
    return err as SnapshotError;
  }
  throw new Error("expected a refusal");
}

function expectRestored(target: string): void {
  const restored = Manifest.open(target, { readonly: true });
  try {
    expect(restored.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(restored.rowCounts()).toEqual(liveCounts);
    expect(restored.listObjects({ bucket: "b", maxKeys: 1000 })).toEqual(liveObjects);
    expect(restored.checkInvariants()).toEqual([]);
  } finally {
    restored.close();
  }
}

describe("a snapshot from an older schema", () => {
  it("verifies (saying which schema it holds) and restores (reseed) migrated, with every row", async () => {
    expect(SCHEMA_VERSION).toBeGreaterThan(1);
    const file = await signedSnapshotOf(oldDb(1));
    const v = await verifySnapshot(file, local());
    expect(v.verified).toBe(true);
    expect(v.manifest.schemaVersion).toBe(1);
    expect(v.schema).toEqual({ snapshot: 1, build: SCHEMA_VERSION, migrates: true });
    expect(v.warnings.join("\n")).toContain(`schema version 1, older than this build's ${SCHEMA_VERSION}`);

    const dir = tmp.make("enigma-fresh-");
    const target = join(dir, "manifest.db");
    const r = await restoreSnapshot(file, { ...local(), targetDbPath: target, mode: "reseed", dataDir: dir });
    expect(r).toMatchObject({ schemaVersion: SCHEMA_VERSION, migratedFrom: 1, clusterId: "cluster-old" });
    // The source held nothing in the later tables, so the migrated copy is the same state.
    expect(r.checksum).toBe(liveChecksum);
    expectRestored(target);
    const check = Manifest.open(target, { readonly: true });
    expect(check.checksum()).toBe(liveChecksum);
    expect(check.raftMeta().membership).toEqual({ voters: [1, 2, 3], learners: [] });
    check.close();
  });

  it(`restores a v${SCHEMA_VERSION - 1} snapshot as a new cluster: migrated, then new identity and GC pause`, async () => {
    const version = SCHEMA_VERSION - 1;
    const file = await signedSnapshotOf(oldDb(version));
    const dir = tmp.make("enigma-fresh-");
    const target = join(dir, "manifest.db");
    const r = await restoreSnapshot(file, {
      ...local(),
      targetDbPath: target,
      mode: "new-cluster",
      newClusterId: "cluster-new",
      dataDir: dir,
      nowMs: 1_700_000_000_000,
    });
    expect(r).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      migratedFrom: version,
      clusterId: "cluster-new",
    });
    expectRestored(target);
    const check = Manifest.open(target, { readonly: true });
    try {
      expect(check.checksum()).toBe(r.checksum);
      expect(check.raftMeta()).toMatchObject({ clusterId: "cluster-new", membership: null });
      expect(check.gcPause()).toMatchObject({ mode: "new-cluster", clusterId: "cluster-new" });
    } finally {
      check.close();
    }
  });

  it("the signed checksum is checked against the database as it is, before migrating", async () => {
    // Signed, hashes right, but the declared checksum is the migrated state's, not the file's.
    const file = await signedSnapshotOf(oldDb(1), { dbChecksum: liveChecksum });
    await expect(verifySnapshot(file, local())).resolves.toMatchObject({ verified: true });
    const dir = tmp.make("enigma-fresh-");
    const before = dirState(dir);
    const e = await errorOf(
      restoreSnapshot(file, {
        ...local(),
        targetDbPath: join(dir, "manifest.db"),
        mode: "reseed",
        dataDir: dir,
      }),
    );
    expect(e.code).toBe("StateMismatch");
    expect(e.message).toContain("checksum differs");
    expect(dirState(dir)).toEqual(before);
  });

  it("a snapshot of a newer schema is refused by verify and restore, and nothing is written", async () => {
    const newer = join(tmp.make("enigma-new-db-"), "newer.db");
    // PRAGMA user_version lives in the file header (big-endian u32 at offset 60).
    const bytes = readFileSync(livePath);
    bytes.writeUInt32BE(SCHEMA_VERSION + 1, 60);
    writeFileSync(newer, bytes);
    // describeDbFile refuses the file itself too (never downgraded).
    expect(() => describeDbFile(newer, { withChecksum: false })).toThrow(
      new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this build's ${SCHEMA_VERSION}`),
    );
    // Described as current (the file can't be opened here), claiming the newer version.
    writeFileSync(newer, readFileSync(livePath));
    const file = await signedSnapshotOf(newer, { schemaVersion: SCHEMA_VERSION + 1 });
    const ve = await errorOf(verifySnapshot(file, local()));
    expect(ve.code).toBe("FormatInvalid");
    expect(ve.message).toContain(
      `schema version ${SCHEMA_VERSION + 1}, newer than this build's ${SCHEMA_VERSION}`,
    );

    // An existing node: its manifest and data dir stay byte-for-byte as they were.
    const dir = tmp.make("enigma-node-");
    const target = join(dir, "manifest.db");
    const m = Manifest.open(target);
    m.setClusterId("cluster-old");
    applyCommands(m, commandSequence(10));
    m.close();
    const before = dirState(dir);
    const re = await errorOf(
      restoreSnapshot(file, { ...local(), targetDbPath: target, mode: "reseed", dataDir: dir }),
    );
    expect(re.code).toBe("FormatInvalid");
    expect(re.message).toMatch(/newer than this build/);
    expect(dirState(dir)).toEqual(before);
    expect(existsSync(join(dir, "gc-paused.json"))).toBe(false);
  });
});
