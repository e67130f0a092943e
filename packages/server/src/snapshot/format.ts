/**
 * The node-state snapshot format, version 1 (see DESIGN.md). A ustar archive whose members are,
 * in this order:
 *
 *   manifest.json   canonical JSON of SnapshotManifest (sorted keys, no whitespace): the signed bytes
 *   manifest.sig    base64 of the 64-byte Ed25519 signature over exactly the bytes of manifest.json
 *   raft-meta.json  canonical JSON of SnapshotRaftMeta            ┐ artifacts: name, SHA-256 and
 *   db-stats.json   canonical JSON of SnapshotDbStats             │ size of each are listed in
 *   manifest.db     the manifest database (SQLite, rollback mode) ┘ manifest.json
 *
 * The manifest and signature come first so a reader checks the signature before it reads any
 * artifact, and can refuse an oversize or misnamed artifact from its tar header alone.
 */
import { canonicalJson } from "@enigma/crypto";
import { z } from "zod";
import { SnapshotError } from "./errors.js";

export const SNAPSHOT_FORMAT = "enigma-ha/node-snapshot";
export const SNAPSHOT_FORMAT_VERSION = 1;

export const MANIFEST_MEMBER = "manifest.json";
export const SIGNATURE_MEMBER = "manifest.sig";
export const RAFT_META_ARTIFACT = "raft-meta.json";
export const DB_STATS_ARTIFACT = "db-stats.json";
export const DB_ARTIFACT = "manifest.db";
/** Artifacts in archive order; format v1 has exactly these. */
export const ARTIFACT_NAMES: readonly string[] = [RAFT_META_ARTIFACT, DB_STATS_ARTIFACT, DB_ARTIFACT];

/** Bound on manifest.json and the JSON artifacts: they hold metadata only. */
export const MAX_JSON_MEMBER_BYTES = 1024 * 1024;
/** base64 of 64 bytes plus a newline, with room for nothing else. */
export const MAX_SIGNATURE_MEMBER_BYTES = 128;

export interface SnapshotRaftMeta {
  readonly clusterId: string | null;
  readonly nodeId: number;
  /** The node's current term (Raft hard state); the applied term until the Raft driver supplies it. */
  readonly term: number;
  readonly appliedIndex: number;
  readonly appliedTerm: number;
  readonly membership: Readonly<Record<string, unknown>> | null;
  readonly membershipIndex: number;
}

export interface SnapshotDbStats {
  readonly schemaVersion: number;
  readonly rowCounts: Readonly<Record<string, number>>;
  /** Manifest.checksum() of the database: the restored file must reproduce it. */
  readonly checksum: string;
}

export interface SnapshotArtifact {
  readonly name: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface SnapshotSigner {
  readonly algorithm: "ed25519";
  /** base64 of the raw 32-byte public key. */
  readonly publicKey: string;
  /** publicKeyFingerprint(): "ed25519:" + hex SHA-256 of the raw key. */
  readonly fingerprint: string;
  /** "node": the node's own key; "operator": a key given with --sign-with. */
  readonly role: "node" | "operator";
}

export interface SnapshotManifest {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly formatVersion: typeof SNAPSHOT_FORMAT_VERSION;
  /** ISO 8601, UTC, millisecond precision. */
  readonly createdAt: string;
  readonly nodeId: number;
  readonly clusterId: string | null;
  readonly schemaVersion: number;
  readonly raft: SnapshotRaftMeta;
  readonly rowCounts: Readonly<Record<string, number>>;
  readonly dbChecksum: string;
  readonly artifacts: readonly SnapshotArtifact[];
  readonly signer: SnapshotSigner;
}

const count = z.number().int().nonnegative();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "not a lowercase hex SHA-256");

const raftMetaSchema = z.strictObject({
  clusterId: z.string().min(1).max(256).nullable(),
  nodeId: z.number().int().positive(),
  term: count,
  appliedIndex: count,
  appliedTerm: count,
  membership: z.record(z.string(), z.unknown()).nullable(),
  membershipIndex: count,
});

const dbStatsSchema = z.strictObject({
  schemaVersion: z.number().int().positive(),
  rowCounts: z.record(z.string(), count),
  checksum: sha256Hex,
});

const manifestSchema = z.strictObject({
  format: z.literal(SNAPSHOT_FORMAT),
  formatVersion: z.number().int(),
  createdAt: z.iso.datetime(),
  nodeId: z.number().int().positive(),
  clusterId: z.string().min(1).max(256).nullable(),
  schemaVersion: z.number().int().positive(),
  raft: raftMetaSchema,
  rowCounts: z.record(z.string(), count),
  dbChecksum: sha256Hex,
  artifacts: z.array(z.strictObject({ name: z.string(), sha256: sha256Hex, bytes: count })).max(16),
  signer: z.strictObject({
    algorithm: z.literal("ed25519"),
    publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "not base64 of 32 bytes"),
    fingerprint: z.string().regex(/^ed25519:[0-9a-f]{64}$/),
    role: z.enum(["node", "operator"]),
  }),
});

/**
 * Parses manifest.json: UTF-8, JSON, *canonical* (re-encoding gives the same bytes, so what was
 * signed is exactly what is read), the v1 shape with no unknown fields, and internally consistent.
 */
export function parseSnapshotManifest(bytes: Buffer): SnapshotManifest {
  const value = parseCanonical(bytes, MANIFEST_MEMBER);
  if (typeof value === "object" && value !== null && "formatVersion" in value) {
    const v = (value as { formatVersion: unknown }).formatVersion;
    if (typeof v === "number" && v !== SNAPSHOT_FORMAT_VERSION)
      throw invalid(`${MANIFEST_MEMBER}: format version ${v} is not supported (this build reads 1)`);
  }
  const r = manifestSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(root)";
    throw invalid(
      `${MANIFEST_MEMBER} is not a v1 snapshot manifest: ${where}: ${issue?.message ?? "invalid"}`,
    );
  }
  const m = r.data as SnapshotManifest;
  const names = m.artifacts.map((a) => a.name);
  if (canonicalJson(names) !== canonicalJson(ARTIFACT_NAMES))
    throw invalid(
      `${MANIFEST_MEMBER} lists artifacts ${names.join(", ")}; v1 has ${ARTIFACT_NAMES.join(", ")}`,
    );
  if (m.raft.nodeId !== m.nodeId || m.raft.clusterId !== m.clusterId)
    throw invalid(`${MANIFEST_MEMBER}: node or cluster id differs between the top level and raft`);
  return m;
}

export function parseRaftMetaArtifact(bytes: Buffer): SnapshotRaftMeta {
  const r = raftMetaSchema.safeParse(parseCanonical(bytes, RAFT_META_ARTIFACT));
  if (!r.success) throw invalid(`${RAFT_META_ARTIFACT} is malformed: ${r.error.issues[0]?.message}`);
  return r.data;
}

export function parseDbStatsArtifact(bytes: Buffer): SnapshotDbStats {
  const r = dbStatsSchema.safeParse(parseCanonical(bytes, DB_STATS_ARTIFACT));
  if (!r.success) throw invalid(`${DB_STATS_ARTIFACT} is malformed: ${r.error.issues[0]?.message}`);
  return r.data;
}

export function dbStatsOf(m: SnapshotManifest): SnapshotDbStats {
  return { schemaVersion: m.schemaVersion, rowCounts: m.rowCounts, checksum: m.dbChecksum };
}

export function encodeCanonical(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseCanonical(bytes: Buffer, member: string): unknown {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw invalid(`${member} is not valid UTF-8 JSON`);
  }
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch {
    throw invalid(`${member} holds values canonical JSON cannot encode`);
  }
  if (canonical !== text) throw invalid(`${member} is not in canonical JSON form (altered after signing?)`);
  return value;
}

function invalid(message: string): SnapshotError {
  return new SnapshotError("FormatInvalid", message);
}
