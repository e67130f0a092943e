/**
 * `createSnapshot`: online backup of the manifest (online-backup.ts) → artifacts → manifest.json
 * signed with Ed25519 → ustar stream → optional age encryption → a temp file in the output
 * directory, hashed while written, fsynced, then published under its final name without ever
 * replacing an existing file. Works on a live manifest: applies continue while it runs.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, statSync } from "node:fs";
import { link, mkdtemp, open, rm, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  ageEncryptStream,
  isCryptoError,
  loadPrivateKey,
  type PrivateKeyInput,
  publicKeyFingerprint,
  rawPublicKey,
  signCanonical,
} from "@enigma/crypto";
import type { Manifest } from "@enigma/manifest";
import { isDiskFull } from "../disk-full.js";
import { errnoCode, SnapshotError } from "./errors.js";
import {
  DB_ARTIFACT,
  DB_STATS_ARTIFACT,
  encodeCanonical,
  MANIFEST_MEMBER,
  RAFT_META_ARTIFACT,
  SIGNATURE_MEMBER,
  SNAPSHOT_FORMAT,
  SNAPSHOT_FORMAT_VERSION,
  type SnapshotArtifact,
  type SnapshotDbStats,
  type SnapshotManifest,
  type SnapshotRaftMeta,
} from "./format.js";
import { fsyncDir } from "./gc-pause.js";
import { ensureNodeSigningKey } from "./node-key.js";
import { snapshotManifestDb } from "./online-backup.js";
import { toWebStream } from "./source.js";
import { tarStream } from "./tar-writer.js";

export interface SigningKeyInput {
  readonly privateKey: PrivateKeyInput;
  /** "node" (the node's own key, the default) or "operator" (--sign-with). */
  readonly role?: "node" | "operator";
}

export interface CreateSnapshotOptions {
  readonly manifest: Manifest;
  readonly nodeId: number;
  readonly signingKey: SigningKeyInput;
  /** A directory: the file gets its content-addressed default name there. */
  readonly outDir?: string;
  /** An exact file name (never overwritten). Exactly one of outDir / outFile. */
  readonly outFile?: string;
  /** age recipients (age1… or age1pq1…, not mixed); the whole tarball is encrypted to all. */
  readonly ageRecipients?: readonly string[];
  /** The node's current Raft term (hard state); defaults to the applied term. */
  readonly raftTerm?: number;
  readonly nowMs?: number;
}

export interface CreatedSnapshot {
  readonly file: string;
  /** SHA-256 of the file as written (ciphertext when encrypted). */
  readonly sha256: string;
  readonly bytes: number;
  readonly encrypted: boolean;
  readonly manifest: SnapshotManifest;
}

export async function createSnapshot(opts: CreateSnapshotOptions): Promise<CreatedSnapshot> {
  if ((opts.outDir === undefined) === (opts.outFile === undefined))
    throw new SnapshotError("BadArgument", "give exactly one of outDir and outFile");
  const recipients = opts.ageRecipients ?? [];
  if (opts.ageRecipients !== undefined && recipients.length === 0)
    throw new SnapshotError("BadArgument", "ageRecipients is empty: omit it for an unencrypted snapshot");
  const privateKey = toPrivateKey(opts.signingKey.privateKey);
  const outDir = resolve(opts.outDir ?? dirname(opts.outFile as string));
  const outFile = opts.outFile === undefined ? undefined : resolve(opts.outFile);
  if (outFile !== undefined && existsSync(outFile))
    throw new SnapshotError("Exists", `${outFile} exists: snapshots are never overwritten`);
  mkdirSync(outDir, { recursive: true });
  const work = await mkdtemp(join(outDir, ".enigma-snapshot-"));
  try {
    const db = await snapshotManifestDb(opts.manifest, join(work, DB_ARTIFACT));
    const createdAtMs = opts.nowMs ?? Date.now();
    const meta = db.raftMeta;
    const raft: SnapshotRaftMeta = {
      clusterId: meta.clusterId,
      nodeId: opts.nodeId,
      term: opts.raftTerm ?? meta.appliedTerm,
      appliedIndex: meta.appliedIndex,
      appliedTerm: meta.appliedTerm,
      membership: meta.membership,
      membershipIndex: meta.membershipIndex,
    };
    const stats: SnapshotDbStats = {
      schemaVersion: db.schemaVersion,
      rowCounts: db.rowCounts,
      checksum: db.checksum,
    };
    const raftBytes = encodeCanonical(raft);
    const statsBytes = encodeCanonical(stats);
    const artifacts: SnapshotArtifact[] = [
      { name: RAFT_META_ARTIFACT, sha256: sha256(raftBytes), bytes: raftBytes.length },
      { name: DB_STATS_ARTIFACT, sha256: sha256(statsBytes), bytes: statsBytes.length },
      { name: DB_ARTIFACT, sha256: db.sha256, bytes: db.bytes },
    ];
    const manifest: SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      createdAt: new Date(createdAtMs).toISOString(),
      nodeId: opts.nodeId,
      clusterId: meta.clusterId,
      schemaVersion: db.schemaVersion,
      raft,
      rowCounts: db.rowCounts,
      dbChecksum: db.checksum,
      artifacts,
      signer: {
        algorithm: "ed25519",
        publicKey: rawPublicKey(privateKey).toString("base64"),
        fingerprint: publicKeyFingerprint(privateKey),
        role: opts.signingKey.role ?? "node",
      },
    };
    const manifestBytes = encodeCanonical(manifest);
    const sigBytes = Buffer.from(`${signCanonical(privateKey, manifest).toString("base64")}\n`, "latin1");
    const tar = tarStream(
      [
        { name: MANIFEST_MEMBER, size: manifestBytes.length, body: manifestBytes },
        { name: SIGNATURE_MEMBER, size: sigBytes.length, body: sigBytes },
        { name: RAFT_META_ARTIFACT, size: raftBytes.length, body: raftBytes },
        { name: DB_STATS_ARTIFACT, size: statsBytes.length, body: statsBytes },
        { name: DB_ARTIFACT, size: db.bytes, body: () => createReadStream(db.path) },
      ],
      { mtimeS: Math.floor(createdAtMs / 1000) },
    );
    const encrypted = recipients.length > 0;
    const partial = join(work, "snapshot.partial");
    const written = await writeHashed(partial, encrypted ? await encrypt(tar, recipients) : tar);
    const file =
      outFile ??
      join(
        outDir,
        `enigma-snapshot-n${opts.nodeId}-i${meta.appliedIndex}-${written.sha256.slice(0, 16)}.tar${encrypted ? ".age" : ""}`,
      );
    await publish(partial, file, outFile === undefined);
    return { file, sha256: written.sha256, bytes: written.bytes, encrypted, manifest };
  } catch (err) {
    // Say which disk: a full output dir reads as a manifest I/O error otherwise.
    if (isDiskFull(err))
      throw new SnapshotError(
        "Io",
        `no space left in ${outDir} for the snapshot (${err instanceof Error ? err.message : String(err)})`,
        { cause: err },
      );
    throw SnapshotError.from(err);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface NodeSnapshotOptions {
  readonly manifest: Manifest;
  readonly nodeId: number;
  /** The node's data dir, home of its own signing key (created on first use). */
  readonly dataDir: string;
  /** An operator's Ed25519 private key file (PKCS#8 PEM) to sign with instead of the node key. */
  readonly signWith?: string;
  readonly outDir?: string;
  readonly outFile?: string;
  readonly ageRecipients?: readonly string[];
  readonly raftTerm?: number;
}

/** What `enigma snapshot create` and the admin API call: picks the key, then createSnapshot. */
export async function createNodeSnapshot(opts: NodeSnapshotOptions): Promise<CreatedSnapshot> {
  const signingKey: SigningKeyInput = opts.signWith
    ? { privateKey: await loadOperatorKey(opts.signWith), role: "operator" }
    : { privateKey: (await ensureNodeSigningKey(opts.dataDir)).privateKey, role: "node" };
  return createSnapshot({
    manifest: opts.manifest,
    nodeId: opts.nodeId,
    signingKey,
    ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
    ...(opts.outFile !== undefined ? { outFile: opts.outFile } : {}),
    ...(opts.ageRecipients !== undefined ? { ageRecipients: opts.ageRecipients } : {}),
    ...(opts.raftTerm !== undefined ? { raftTerm: opts.raftTerm } : {}),
  });
}

async function loadOperatorKey(path: string): Promise<KeyObject> {
  try {
    return await loadPrivateKey(path);
  } catch (err) {
    throw new SnapshotError("BadArgument", `--sign-with ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function toPrivateKey(k: PrivateKeyInput): KeyObject {
  try {
    const key = typeof k === "string" ? createPrivateKey(k) : k;
    if (key.type !== "private" || key.asymmetricKeyType !== "ed25519") throw new Error("not Ed25519");
    createPublicKey(key);
    return key;
  } catch {
    throw new SnapshotError("BadArgument", "the signing key is not an Ed25519 private key");
  }
}

async function encrypt(
  tar: AsyncIterable<Buffer>,
  recipients: readonly string[],
): Promise<AsyncIterable<Uint8Array>> {
  try {
    return await ageEncryptStream(toWebStream(tar), recipients);
  } catch (err) {
    if (isCryptoError(err, "AgeFailed")) throw new SnapshotError("BadArgument", err.message, { cause: err });
    throw err;
  }
}

async function writeHashed(
  path: string,
  source: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; bytes: number }> {
  const sha = createHash("sha256");
  let bytes = 0;
  const fh = await open(path, "wx", 0o600);
  try {
    for await (const piece of source) {
      sha.update(piece);
      bytes += piece.length;
      await fh.write(piece);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { sha256: sha.digest("hex"), bytes };
}

/**
 * link() never replaces an existing file. A content-addressed name that exists already holds the
 * same bytes (same SHA-256 prefix and size), so that is success, not a clash.
 */
async function publish(tmp: string, file: string, contentAddressed: boolean): Promise<void> {
  try {
    await link(tmp, file);
  } catch (err) {
    if (errnoCode(err) !== "EEXIST") throw err;
    if (!contentAddressed || statSync(file).size !== statSync(tmp).size)
      throw new SnapshotError("Exists", `${file} exists: snapshots are never overwritten`);
  }
  await unlink(tmp);
  fsyncDir(dirname(file));
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
