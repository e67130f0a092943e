/**
 * Verification of a snapshot file, with no writes: decrypt (age) → strict tar reader → manifest.json
 * (canonical, v1 shape) → signature against the trusted key → every artifact's size (from its tar
 * header, before reading it) and SHA-256 → the JSON artifacts agree with manifest.json. Restore runs
 * the same scan a second time with a sink for the database bytes, so what it writes is exactly
 * what was verified even if the file changed in between.
 */
import { createHash } from "node:crypto";
import { type PublicKeyInput, verifyCanonical } from "@enigma/crypto";
import { SCHEMA_VERSION } from "@enigma/manifest";
import { SnapshotError } from "./errors.js";
import {
  DB_ARTIFACT,
  DB_STATS_ARTIFACT,
  dbStatsOf,
  encodeCanonical,
  MANIFEST_MEMBER,
  MAX_JSON_MEMBER_BYTES,
  MAX_SIGNATURE_MEMBER_BYTES,
  parseDbStatsArtifact,
  parseRaftMetaArtifact,
  parseSnapshotManifest,
  RAFT_META_ARTIFACT,
  SIGNATURE_MEMBER,
  type SnapshotManifest,
} from "./format.js";
import { openSnapshotSource } from "./source.js";
import { DEFAULT_TAR_LIMITS, readTar, type TarEntry } from "./tar-reader.js";
import { decideTrust, type TrustedKey, type TrustSource } from "./trust.js";

export interface VerifyOptions {
  /** Parsed trusted-keys list (loadTrustedKeys); when given, the signer must be on it. */
  readonly trustedKeys?: readonly TrustedKey[];
  /** This node's public key: trusted when no list is given. */
  readonly localKey?: PublicKeyInput;
  /** age identities (AGE-SECRET-KEY-…) for an encrypted snapshot. */
  readonly ageIdentities?: readonly string[];
  /** Largest manifest.db accepted (checked from the tar header). Default 64 GiB. */
  readonly maxDbBytes?: number;
  /**
   * Accept a bad signature or an untrusted signer, as a loud warning. Never relaxes the archive
   * rules, the artifact hashes or the database checks.
   */
  readonly forceUnverified?: boolean;
  /** Receives each warning as it happens (also returned in the report). */
  readonly onWarning?: (message: string) => void;
}

export interface TrustReport {
  readonly source: TrustSource;
  readonly fingerprint: string;
  readonly explanation: string;
}

export interface VerifyReport {
  readonly file: string;
  /** SHA-256 of the file as stored (the ciphertext when encrypted). */
  readonly fileSha256: string;
  readonly fileBytes: number;
  readonly encrypted: boolean;
  readonly manifest: SnapshotManifest;
  readonly trust: TrustReport;
  /** The signature verified under the chosen key and that key was trusted. */
  readonly verified: boolean;
  /** The snapshot's manifest schema against this build's; an older one is migrated by restore. */
  readonly schema: SchemaReport;
  readonly warnings: readonly string[];
}

export interface SchemaReport {
  /** The schema version of the snapshot's manifest.db (as signed). */
  readonly snapshot: number;
  /** This build's schema version. */
  readonly build: number;
  /** snapshot < build: restore migrates the restored copy to this build's schema. */
  readonly migrates: boolean;
}

/** Receives the database bytes during a restore's second scan. */
export interface DbSink {
  write(piece: Buffer): Promise<void>;
}

/** Verifies everything; throws SnapshotError with the first problem found. Writes nothing. */
export function verifySnapshot(file: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  return scanSnapshot(file, opts);
}

export async function scanSnapshot(
  file: string,
  opts: VerifyOptions,
  dbSink?: DbSink,
): Promise<VerifyReport> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const source = await openSnapshotSource(file, opts.ageIdentities);
  let manifest: SnapshotManifest | undefined;
  let trust: TrustReport | undefined;
  let verified = false;
  let members = 0;

  const onEntry = async (entry: TarEntry, body: AsyncIterable<Buffer>) => {
    members++;
    if (entry.index === 0) {
      expectName(entry, MANIFEST_MEMBER);
      manifest = parseSnapshotManifest(await readSmall(entry, body, MAX_JSON_MEMBER_BYTES));
      return;
    }
    if (manifest === undefined) throw new SnapshotError("Internal", "manifest.json not read first");
    if (entry.index === 1) {
      expectName(entry, SIGNATURE_MEMBER);
      const sig = decodeSignature(await readSmall(entry, body, MAX_SIGNATURE_MEMBER_BYTES));
      const decision = decideTrust(manifest.signer, {
        ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}),
        ...(opts.localKey ? { localKey: opts.localKey } : {}),
      });
      trust = {
        source: decision.source,
        fingerprint: decision.fingerprint,
        explanation: decision.explanation,
      };
      const valid = sig !== undefined && verifyCanonical(decision.publicKey, manifest, sig);
      if (!valid) {
        const why =
          `${SIGNATURE_MEMBER} does not verify over ${MANIFEST_MEMBER} under ${decision.fingerprint} ` +
          `(${decision.source}): the snapshot was altered, or signed by another key`;
        if (!opts.forceUnverified) throw new SnapshotError("SignatureInvalid", why);
        warn(`UNVERIFIED SNAPSHOT accepted by --force-unverified: ${why}`);
      } else if (!decision.trusted) {
        const why = `the signature is valid but ${decision.explanation}`;
        if (!opts.forceUnverified) throw new SnapshotError("UntrustedKey", why);
        warn(`UNTRUSTED SNAPSHOT accepted by --force-unverified: ${why}`);
      }
      verified = valid && decision.trusted;
      // Before any artifact (and before restore writes anything): a schema is never downgraded.
      if (manifest.schemaVersion > SCHEMA_VERSION)
        throw new SnapshotError(
          "FormatInvalid",
          `${MANIFEST_MEMBER}: the manifest database has schema version ${manifest.schemaVersion}, newer than ` +
            `this build's ${SCHEMA_VERSION}: restore it with a newer enigma`,
        );
      if (decision.source === "declared-key" && verified) warn(decision.explanation);
      return;
    }
    const artifact = manifest.artifacts[entry.index - 2];
    if (artifact === undefined)
      throw new SnapshotError(
        "FormatInvalid",
        `unexpected member "${entry.name}": ${MANIFEST_MEMBER} lists ${manifest.artifacts.length} artifacts`,
      );
    expectName(entry, artifact.name);
    if (entry.size !== artifact.bytes)
      throw new SnapshotError(
        "ArtifactMismatch",
        `artifact ${artifact.name} is ${entry.size} bytes, ${MANIFEST_MEMBER} says ${artifact.bytes}`,
      );
    if (artifact.name === DB_ARTIFACT) {
      const max = opts.maxDbBytes ?? DEFAULT_TAR_LIMITS.maxMemberBytes;
      if (entry.size > max)
        throw new SnapshotError(
          "TarUnsafe",
          `member "${entry.name}" is ${entry.size} bytes, above the limit of ${max}`,
        );
      const sha = createHash("sha256");
      for await (const piece of body) {
        sha.update(piece);
        await dbSink?.write(piece);
      }
      checkHash(artifact.name, sha.digest("hex"), artifact.sha256);
      return;
    }
    const bytes = await readSmall(entry, body, MAX_JSON_MEMBER_BYTES);
    checkHash(artifact.name, createHash("sha256").update(bytes).digest("hex"), artifact.sha256);
    const expected =
      artifact.name === RAFT_META_ARTIFACT
        ? encodeCanonical(parseRaftMetaArtifact(bytes)).equals(encodeCanonical(manifest.raft))
        : artifact.name === DB_STATS_ARTIFACT
          ? encodeCanonical(parseDbStatsArtifact(bytes)).equals(encodeCanonical(dbStatsOf(manifest)))
          : false;
    if (!expected)
      throw new SnapshotError("FormatInvalid", `artifact ${artifact.name} disagrees with ${MANIFEST_MEMBER}`);
  };

  await readTar(source.stream, onEntry, {
    ...DEFAULT_TAR_LIMITS,
    maxMemberBytes: Math.max(opts.maxDbBytes ?? DEFAULT_TAR_LIMITS.maxMemberBytes, MAX_JSON_MEMBER_BYTES),
  });
  if (manifest === undefined || trust === undefined)
    throw new SnapshotError(
      "FormatInvalid",
      `${file} holds no ${manifest ? SIGNATURE_MEMBER : MANIFEST_MEMBER}`,
    );
  if (members !== 2 + manifest.artifacts.length) {
    const missing = manifest.artifacts[members - 2]?.name ?? "?";
    throw new SnapshotError("FormatInvalid", `${file} ends before artifact ${missing}`);
  }
  const raw = source.rawDigest();
  const schema: SchemaReport = {
    snapshot: manifest.schemaVersion,
    build: SCHEMA_VERSION,
    migrates: manifest.schemaVersion < SCHEMA_VERSION,
  };
  if (schema.migrates)
    warn(
      `the snapshot's manifest has schema version ${schema.snapshot}, older than this build's ${schema.build}: ` +
        "a restore migrates it (the restored node then needs this build or newer)",
    );
  return {
    file,
    fileSha256: raw.sha256,
    fileBytes: raw.bytes,
    encrypted: source.encrypted,
    manifest,
    trust,
    verified,
    schema,
    warnings,
  };
}

function expectName(entry: TarEntry, name: string): void {
  if (entry.name !== name)
    throw new SnapshotError(
      "FormatInvalid",
      `member #${entry.index + 1} is "${entry.name}"; a v1 snapshot has "${name}" there`,
    );
}

async function readSmall(entry: TarEntry, body: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  if (entry.size > max)
    throw new SnapshotError(
      "TarUnsafe",
      `member "${entry.name}" is ${entry.size} bytes, above its limit of ${max}`,
    );
  const parts: Buffer[] = [];
  for await (const piece of body) parts.push(piece);
  return Buffer.concat(parts);
}

/** The signature bytes, or undefined when the member is not base64 of 64 bytes (then: invalid). */
function decodeSignature(bytes: Buffer): Buffer | undefined {
  const text = bytes.toString("latin1").replace(/\n$/, "");
  if (!/^[A-Za-z0-9+/]{86}==$/.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

function checkHash(name: string, actual: string, expected: string): void {
  if (actual !== expected)
    throw new SnapshotError(
      "ArtifactMismatch",
      `artifact ${name}: SHA-256 ${actual.slice(0, 16)}… differs from ${MANIFEST_MEMBER}'s ${expected.slice(0, 16)}…`,
    );
}
