import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  canonicalJson,
  generateAgeKeyPair,
  publicKeyFingerprint,
  rawPublicKey,
  signCanonical,
} from "@enigma/crypto";
import { Manifest } from "@enigma/manifest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot } from "./create.js";
import type { SnapshotError, SnapshotErrorCode } from "./errors.js";
import type { SnapshotManifest } from "./format.js";
import { assertGcNotPaused, confirmGcAfterRestore, GC_PAUSED_FILE } from "./gc-pause.js";
import { ensureNodeSigningKey, type NodeSigningKey } from "./node-key.js";
import { type RestoreOptions, restoreSnapshot } from "./restore.js";
import type { UstarFields } from "./tar-format.js";
import {
  applyCommands,
  commandSequence,
  dirState,
  memberData,
  rawMembers,
  regular,
  repack,
  tempDirs,
} from "./test-fixtures.js";
import { parseTrustedKeys } from "./trust.js";
import { type VerifyOptions, verifySnapshot } from "./verify.js";

const tmp = tempDirs();
let work: string;
let live: Manifest;
let keyA: NodeSigningKey;
let keyB: NodeSigningKey;
let fileA: string;
let tarA: Buffer;
let tarB: Buffer;
let liveChecksum: string;

beforeAll(async () => {
  work = tmp.make();
  live = Manifest.open(join(work, "live.db"));
  live.setClusterId("cluster-1");
  applyCommands(live, commandSequence(400));
  const idx = live.raftMeta().appliedIndex;
  live.applyEntry({ index: idx + 1, term: 2, membership: { voters: [1, 2, 3], learners: [] } });
  liveChecksum = live.checksum();
  keyA = await ensureNodeSigningKey(join(work, "node-a"));
  keyB = await ensureNodeSigningKey(join(work, "node-b"));
  const a = await createSnapshot({
    manifest: live,
    nodeId: 1,
    signingKey: { privateKey: keyA.privateKey },
    outDir: join(work, "out"),
    raftTerm: 3,
  });
  fileA = a.file;
  tarA = readFileSync(fileA);
  const b = await createSnapshot({
    manifest: live,
    nodeId: 2,
    signingKey: { privateKey: keyB.privateKey },
    outDir: join(work, "out"),
  });
  tarB = readFileSync(b.file);
});
afterAll(() => {
  live.close();
  tmp.cleanup();
});

let n = 0;
function writeTemp(buf: Buffer, ext = ".tar"): string {
  const p = join(work, `tampered-${n++}${ext}`);
  writeFileSync(p, buf);
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

/** A node dir whose manifest holds a smaller, older state than the snapshot. */
function existingNode(cluster = "cluster-1"): { dir: string; db: string; opts: RestoreOptions } {
  const dir = tmp.make("enigma-node-");
  const db = join(dir, "manifest.db");
  const m = Manifest.open(db);
  m.setClusterId(cluster);
  applyCommands(m, commandSequence(20));
  m.close();
  return { dir, db, opts: { targetDbPath: db, mode: "reseed", onWarning: () => {} } };
}

const localA = () => ({ localKey: keyA.publicKey });

describe("create → verify → restore", () => {
  it("writes a content-addressed, signed ustar archive describing the live state", () => {
    expect(fileA).toMatch(/enigma-snapshot-n1-i\d+-[0-9a-f]{16}\.tar$/);
    expect(rawMembers(tarA).map((m) => m.name)).toEqual([
      "manifest.json",
      "manifest.sig",
      "raft-meta.json",
      "db-stats.json",
      "manifest.db",
    ]);
    const m = JSON.parse(memberData(tarA, "manifest.json").toString()) as SnapshotManifest;
    expect(memberData(tarA, "manifest.json").toString()).toBe(canonicalJson(m));
    expect(m.raft).toMatchObject({
      clusterId: "cluster-1",
      nodeId: 1,
      term: 3,
      appliedIndex: 401,
      appliedTerm: 2,
    });
    expect(m.raft.membership).toEqual({ voters: [1, 2, 3], learners: [] });
    expect(m.rowCounts).toEqual(live.rowCounts());
    expect(m.dbChecksum).toBe(liveChecksum);
    expect(m.signer.fingerprint).toBe(publicKeyFingerprint(keyA.publicKey));
    expect(statSync(keyA.privateKeyPath).mode & 0o777).toBe(0o600);
  });

  it("verifies, says which key it trusted, and restores to the same checksum with GC paused", async () => {
    const report = await verifySnapshot(fileA, localA());
    expect(report.verified).toBe(true);
    expect(report.trust.source).toBe("local-node-key");
    expect(report.trust.explanation).toMatch(/this node's own signing key/);

    const dir = tmp.make("enigma-fresh-");
    const target = join(dir, "sub", "manifest.db");
    const r = await restoreSnapshot(fileA, {
      ...localA(),
      targetDbPath: target,
      mode: "reseed",
      dataDir: dir,
    });
    expect(r).toMatchObject({
      appliedIndex: 401,
      appliedTerm: 2,
      clusterId: "cluster-1",
      checksum: liveChecksum,
    });
    const restored = Manifest.open(target);
    try {
      expect(restored.checksum()).toBe(liveChecksum);
      expect(restored.raftMeta().membership).toEqual({ voters: [1, 2, 3], learners: [] });
    } finally {
      restored.close();
    }
    expect(() => assertGcNotPaused(dir)).toThrow(/GC is paused after a reseed restore/);
    expect(confirmGcAfterRestore(dir)).toMatchObject({ mode: "reseed", appliedIndex: 401 });
    expect(() => assertGcNotPaused(dir)).not.toThrow();
  });

  it("without a trusted-keys list or a matching local key, trusts the declared key and says so", async () => {
    const warnings: string[] = [];
    const r = await verifySnapshot(fileA, { onWarning: (w) => warnings.push(w) });
    expect(r.trust.source).toBe("declared-key");
    expect(r.trust.explanation).toMatch(/proves it is intact, NOT who made it/);
    expect(warnings).toHaveLength(1);
    const other = await verifySnapshot(fileA, { localKey: keyB.publicKey });
    expect(other.trust.source).toBe("declared-key");
  });

  it("checks the signer against a trusted-keys list in every accepted spelling", async () => {
    const pem = keyA.publicKey.export({ format: "pem", type: "spki" }).toString();
    const raw = rawPublicKey(keyA.publicKey);
    for (const entry of [pem, raw.toString("base64"), raw.toString("hex"), publicKeyFingerprint(raw)]) {
      const keys = parseTrustedKeys(JSON.stringify([{ publicKey: entry, name: "node-1" }]));
      const r = await verifySnapshot(fileA, { trustedKeys: keys, localKey: keyB.publicKey });
      expect(r.trust).toMatchObject({ source: "trusted-keys" });
      expect(r.trust.explanation).toMatch(/\(node-1\) is in the trusted-keys list/);
    }
    const onlyB = parseTrustedKeys(JSON.stringify([keyB.publicKey.export({ format: "pem", type: "spki" })]));
    // The list wins over the local key.
    const err = await errorOf(verifySnapshot(fileA, { trustedKeys: onlyB, localKey: keyA.publicKey }));
    expect(err.code).toBe("UntrustedKey");
    expect(err.message).toMatch(/is NOT in the trusted-keys list/);
    expect(() => parseTrustedKeys('["not a key"]')).toThrow(/entry #1: not an Ed25519 public key/);
    expect(() => parseTrustedKeys("{}")).toThrow(/must be a JSON array/);
  });

  it("never overwrites an existing output file", async () => {
    const err = await errorOf(
      createSnapshot({
        manifest: live,
        nodeId: 1,
        signingKey: { privateKey: keyA.privateKey },
        outFile: fileA,
      }),
    );
    expect(err.code).toBe("Exists");
  });

  it("keeps the node key across calls and never recreates it", async () => {
    const again = await ensureNodeSigningKey(join(work, "node-a"));
    expect(again.created).toBe(false);
    expect(publicKeyFingerprint(again.publicKey)).toBe(publicKeyFingerprint(keyA.publicKey));
  });
});

describe("tampering is refused before anything is written", () => {
  function flip(buf: Buffer, member: string, at: (data: Buffer) => number = (d) => d.length >> 1): Buffer {
    const out = Buffer.from(buf);
    const m = rawMembers(out).find((x) => x.name === member)!;
    const i = m.dataOffset + at(out.subarray(m.dataOffset, m.dataOffset + m.size));
    out[i] = (out[i] as number) ^ 0x01;
    return out;
  }
  const withMember = (extra: { fields: UstarFields; data?: Buffer }) =>
    repack(tarA, (ms) => [...ms.map((m) => regular(m.name, m.data)), extra]);

  const cases: [string, () => Buffer, SnapshotErrorCode, RegExp][] = [
    [
      "a byte of raft-meta.json",
      () => flip(tarA, "raft-meta.json"),
      "ArtifactMismatch",
      /artifact raft-meta\.json: SHA-256/,
    ],
    [
      "a byte of db-stats.json",
      () => flip(tarA, "db-stats.json"),
      "ArtifactMismatch",
      /artifact db-stats\.json: SHA-256/,
    ],
    [
      "a byte of manifest.db",
      () => flip(tarA, "manifest.db"),
      "ArtifactMismatch",
      /artifact manifest\.db: SHA-256/,
    ],
    [
      "a value in manifest.json",
      () => flip(tarA, "manifest.json", (d) => d.indexOf('"dbChecksum":"') + 15),
      "SignatureInvalid",
      /manifest\.sig does not verify over manifest\.json/,
    ],
    [
      "a structural byte of manifest.json",
      () => flip(tarA, "manifest.json", () => 0),
      "FormatInvalid",
      /not valid UTF-8 JSON/,
    ],
    [
      "a byte of the signature",
      () => flip(tarA, "manifest.sig", () => 10),
      "SignatureInvalid",
      /does not verify/,
    ],
    [
      "another node's signature",
      () =>
        repack(tarA, (ms) =>
          ms.map((m) =>
            regular(m.name, m.name === "manifest.sig" ? memberData(tarB, "manifest.sig") : m.data),
          ),
        ),
      "SignatureInvalid",
      /does not verify over manifest\.json under ed25519:/,
    ],
    [
      "a ../evil member",
      () => withMember(regular("../evil", Buffer.from("pwned"))),
      "TarUnsafe",
      /"\.\.\/evil" refused: parent-directory/,
    ],
    [
      "a symlink member",
      () => withMember({ fields: { name: "link", size: 0, typeflag: "2", linkname: "/etc/passwd" } }),
      "TarUnsafe",
      /"link" is a symbolic link to "\/etc\/passwd"/,
    ],
    [
      "an absolute path member",
      () => withMember(regular("/tmp/evil", Buffer.from("x"))),
      "TarUnsafe",
      /absolute path/,
    ],
    [
      "an extra regular member",
      () => withMember(regular("extra.txt", Buffer.from("x"))),
      "FormatInvalid",
      /unexpected member "extra\.txt"/,
    ],
    [
      "a missing artifact",
      () =>
        repack(tarA, (ms) =>
          ms.filter((m) => m.name !== "db-stats.json").map((m) => regular(m.name, m.data)),
        ),
      "FormatInvalid",
      /member #4 is "manifest\.db"; a v1 snapshot has "db-stats\.json" there/,
    ],
    [
      "members out of order",
      () => repack(tarA, (ms) => [ms[1]!, ms[0]!, ...ms.slice(2)].map((m) => regular(m.name, m.data))),
      "FormatInvalid",
      /member #1 is "manifest\.sig"/,
    ],
    ["a truncated file", () => tarA.subarray(0, tarA.length - 20_000), "TarMalformed", /truncated/],
  ];

  it.each(cases)("%s: verify refuses with a clear message", async (_label, make, code, message) => {
    const file = writeTemp(make());
    const err = await errorOf(verifySnapshot(file, localA()));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it.each(cases)("%s: restore refuses and the node is untouched", async (_label, make, code) => {
    const file = writeTemp(make());
    const node = existingNode();
    const before = dirState(node.dir);
    const err = await errorOf(restoreSnapshot(file, { ...node.opts, ...localA() }));
    expect(err.code).toBe(code);
    expect(dirState(node.dir)).toEqual(before);
  });

  it("refuses an oversize database member from its header (configurable bound)", async () => {
    const node = existingNode();
    const before = dirState(node.dir);
    const err = await errorOf(restoreSnapshot(fileA, { ...node.opts, ...localA(), maxDbBytes: 4096 }));
    expect(err.code).toBe("TarUnsafe");
    expect(err.message).toMatch(/"manifest\.db" is \d+ bytes, above the limit of 4096/);
    expect(dirState(node.dir)).toEqual(before);
  });

  it("a correctly signed snapshot whose database contradicts its manifest fails after extraction, leaving the node untouched", async () => {
    // Whoever holds the key can sign anything; the restored file must still reproduce the claims.
    const m = JSON.parse(memberData(tarA, "manifest.json").toString()) as SnapshotManifest;
    const rowCounts = { ...m.rowCounts, objects: (m.rowCounts.objects ?? 0) + 1 };
    const stats = Buffer.from(
      canonicalJson({ schemaVersion: m.schemaVersion, rowCounts, checksum: m.dbChecksum }),
    );
    const { createHash } = await import("node:crypto");
    const forged: SnapshotManifest = {
      ...m,
      rowCounts,
      artifacts: m.artifacts.map((a) =>
        a.name === "db-stats.json"
          ? { name: a.name, bytes: stats.length, sha256: createHash("sha256").update(stats).digest("hex") }
          : a,
      ),
    };
    const sig = Buffer.from(`${signCanonical(keyA.privateKey, forged).toString("base64")}\n`);
    const file = writeTemp(
      repack(tarA, (ms) =>
        ms.map((x) =>
          regular(
            x.name,
            x.name === "manifest.json"
              ? Buffer.from(canonicalJson(forged))
              : x.name === "manifest.sig"
                ? sig
                : x.name === "db-stats.json"
                  ? stats
                  : x.data,
          ),
        ),
      ),
    );
    expect((await verifySnapshot(file, localA())).verified).toBe(true);
    const node = existingNode();
    const before = dirState(node.dir);
    const err = await errorOf(restoreSnapshot(file, { ...node.opts, ...localA() }));
    expect(err.code).toBe("StateMismatch");
    expect(err.message).toMatch(/does not match its signed manifest \(row counts differ\)/);
    expect(dirState(node.dir)).toEqual(before);
  });
});

describe("guards and modes", () => {
  it("refuses a snapshot far smaller than the current state unless allowShrink", async () => {
    const small = tmp.make("enigma-small-");
    const sm = Manifest.open(join(small, "m.db"));
    sm.setClusterId("cluster-1");
    applyCommands(sm, commandSequence(10));
    const snap = await createSnapshot({
      manifest: sm,
      nodeId: 1,
      signingKey: { privateKey: keyA.privateKey },
      outDir: small,
    });
    sm.close();

    const dir = tmp.make("enigma-big-");
    const target = join(dir, "manifest.db");
    await live.backupTo(target);
    const before = dirState(dir);
    const err = await errorOf(
      restoreSnapshot(snap.file, { ...localA(), targetDbPath: target, mode: "reseed" }),
    );
    expect(err.code).toBe("Shrink");
    expect(err.message).toMatch(
      /far fewer rows than the current state \(.*objects \d+→\d+.*\); pass --allow-shrink/,
    );
    expect(dirState(dir)).toEqual(before);

    const warnings: string[] = [];
    const r = await restoreSnapshot(snap.file, {
      ...localA(),
      targetDbPath: target,
      mode: "reseed",
      allowShrink: true,
      onWarning: (w) => warnings.push(w),
    });
    expect(r.shrunk.length).toBeGreaterThan(0);
    expect(warnings.join("\n")).toMatch(/much smaller state \(--allow-shrink\)/);
    const restored = Manifest.open(target);
    expect(restored.checksum()).toBe(snap.manifest.dbChecksum);
    restored.close();
  });

  it("--force-unverified restores a bad signature anyway, with a loud warning; hashes still hold", async () => {
    const bad = Buffer.from(tarA);
    const sig = rawMembers(bad).find((m) => m.name === "manifest.sig")!;
    bad[sig.dataOffset + 5] = (bad[sig.dataOffset + 5] as number) ^ 0x02;
    const file = writeTemp(bad);
    const node = existingNode();
    const warnings: string[] = [];
    const r = await restoreSnapshot(file, {
      ...node.opts,
      forceUnverified: true,
      onWarning: (w) => warnings.push(w),
    });
    expect(r.snapshot.verified).toBe(false);
    expect(warnings[0]).toMatch(/^UNVERIFIED SNAPSHOT accepted by --force-unverified/);
    const restored = Manifest.open(node.db);
    expect(restored.checksum()).toBe(liveChecksum);
    restored.close();

    const broken = Buffer.from(bad);
    const db = rawMembers(broken).find((m) => m.name === "manifest.db")!;
    broken[db.dataOffset + 100] = (broken[db.dataOffset + 100] as number) ^ 0x01;
    const err = await errorOf(restoreSnapshot(writeTemp(broken), { ...node.opts, forceUnverified: true }));
    expect(err.code).toBe("ArtifactMismatch");
  });

  it("new-cluster mode: new cluster id, membership reset, data identical", async () => {
    const dir = tmp.make("enigma-dr-");
    const target = join(dir, "manifest.db");
    const r = await restoreSnapshot(fileA, {
      ...localA(),
      targetDbPath: target,
      mode: "new-cluster",
      newClusterId: "cluster-2",
      onWarning: () => {},
    });
    expect(r).toMatchObject({
      clusterId: "cluster-2",
      snapshotClusterId: "cluster-1",
      membership: null,
      appliedIndex: 401,
    });
    const m = Manifest.open(target);
    try {
      expect(m.raftMeta()).toMatchObject({
        clusterId: "cluster-2",
        membership: null,
        appliedIndex: 401,
        appliedTerm: 2,
      });
      expect(m.rowCounts()).toEqual(live.rowCounts());
      expect(m.checksum()).toBe(r.checksum);
      expect(m.getObject("b", "k5")).toEqual(live.getObject("b", "k5"));
      // GC's pause is in the restored manifest (replicated state), not a local marker.
      expect(m.gcPause()).toMatchObject({ mode: "new-cluster", appliedIndex: 401, clusterId: "cluster-2" });
      expect(() => assertGcNotPaused(dir, m)).toThrow(/GC is paused after a new-cluster restore/);
    } finally {
      m.close();
    }
    expect(r).toMatchObject({ gcPause: "manifest", gcPauseFile: null });
    expect(existsSync(join(dir, GC_PAUSED_FILE))).toBe(false);
  });

  it("refuses to reseed a node of another cluster", async () => {
    const node = existingNode("cluster-9");
    const before = dirState(node.dir);
    const err = await errorOf(restoreSnapshot(fileA, { ...node.opts, ...localA() }));
    expect(err.code).toBe("ClusterMismatch");
    expect(err.message).toMatch(/belongs to cluster cluster-9 but the snapshot to cluster-1/);
    expect(dirState(node.dir)).toEqual(before);
  });
});

describe("age encryption", () => {
  async function encrypted(postQuantum: boolean) {
    const kp = await generateAgeKeyPair({ postQuantum });
    const s = await createSnapshot({
      manifest: live,
      nodeId: 1,
      signingKey: { privateKey: keyA.privateKey },
      outDir: join(work, "age"),
      ageRecipients: [kp.recipient],
    });
    return { kp, s };
  }

  it.each([false, true])("round-trips through age (post-quantum hybrid: %s)", async (postQuantum) => {
    const { kp, s } = await encrypted(postQuantum);
    expect(s.file).toMatch(/\.tar\.age$/);
    const head = readFileSync(s.file).subarray(0, 200).toString("latin1");
    expect(head.startsWith("age-encryption.org/v1\n")).toBe(true);
    expect(head).toMatch(postQuantum ? /-> mlkem768x25519 / : /-> X25519 /);
    // The object names inside are not readable without the identity.
    expect(readFileSync(s.file).includes(Buffer.from("manifest.json"))).toBe(false);
    const opts: VerifyOptions = { ...localA(), ageIdentities: [kp.identity] };
    const v = await verifySnapshot(s.file, opts);
    expect(v).toMatchObject({ encrypted: true, verified: true, fileSha256: s.sha256 });
    const dir = tmp.make("enigma-age-");
    const r = await restoreSnapshot(s.file, { ...opts, targetDbPath: join(dir, "m.db"), mode: "reseed" });
    expect(r.checksum).toBe(liveChecksum);
    const m = Manifest.open(join(dir, "m.db"));
    expect(m.checksum()).toBe(liveChecksum);
    m.close();
  });

  it("says clearly when an identity is missing, wrong, or the ciphertext damaged", async () => {
    const { kp, s } = await encrypted(false);
    const missing = await errorOf(verifySnapshot(s.file, localA()));
    expect(missing.code).toBe("Encrypted");
    expect(missing.message).toMatch(/is age-encrypted: give an age identity/);
    const other = await generateAgeKeyPair();
    const wrong = await errorOf(verifySnapshot(s.file, { ageIdentities: [other.identity] }));
    expect(wrong.code).toBe("DecryptFailed");
    expect(wrong.message).toMatch(/none of the given age identities is a recipient of this snapshot/);
    const node = existingNode();
    const before = dirState(node.dir);
    const err = await errorOf(restoreSnapshot(s.file, { ...node.opts, ageIdentities: [other.identity] }));
    expect(err.code).toBe("DecryptFailed");
    expect(dirState(node.dir)).toEqual(before);
    const damaged = readFileSync(s.file);
    damaged[damaged.length - 3000] = (damaged[damaged.length - 3000] as number) ^ 0x01;
    const dmg = await errorOf(
      verifySnapshot(writeTemp(damaged, ".tar.age"), { ageIdentities: [kp.identity] }),
    );
    expect(dmg.code).toBe("DecryptFailed");
    expect(dmg.message).toMatch(/damaged or was altered/);
  });

  it("refuses mixing classical and post-quantum recipients", async () => {
    const a = await generateAgeKeyPair();
    const b = await generateAgeKeyPair({ postQuantum: true });
    const err = await errorOf(
      createSnapshot({
        manifest: live,
        nodeId: 1,
        signingKey: { privateKey: keyA.privateKey },
        outDir: join(work, "age"),
        ageRecipients: [a.recipient, b.recipient],
      }),
    );
    expect(err.code).toBe("BadArgument");
    expect(err.message).toMatch(/cannot mix post-quantum/);
  });
});
