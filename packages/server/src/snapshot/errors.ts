/**
 * The one error class of the snapshot module. Every refusal an operator can meet is a code here;
 * messages are one line, name the file or member at fault, and never contain key material.
 */

export type SnapshotErrorCode =
  /** A bad option or flag (no recipients, unknown mode, unreadable trusted-keys list, …). */
  | "BadArgument"
  /** The archive is not a well-formed ustar stream (bad checksum, truncated, trailing data). */
  | "TarMalformed"
  /** A member that must never be extracted: absolute path, `..`, link, device, FIFO, oversize, duplicate. */
  | "TarUnsafe"
  /** A tar feature this reader does not implement (GNU long names, pax headers, old-style tar). */
  | "TarUnsupported"
  /** manifest.json is missing, not canonical JSON, of an unknown format/version, or members are off. */
  | "FormatInvalid"
  /** The Ed25519 signature does not verify over manifest.json. */
  | "SignatureInvalid"
  /** The signature is valid but the signer is not in the trusted-keys list. */
  | "UntrustedKey"
  /** An artifact's SHA-256 or size differs from what manifest.json declares. */
  | "ArtifactMismatch"
  /** The database inside disagrees with the signed manifest (row counts, raft meta, checksum). */
  | "StateMismatch"
  /** The snapshot is age-encrypted and no identity was given. */
  | "Encrypted"
  /** age decryption failed: no identity matches, or the ciphertext is damaged. */
  | "DecryptFailed"
  /** The snapshot holds far fewer rows than the node's current state (override: allowShrink). */
  | "Shrink"
  /** A reseed from a snapshot of another cluster. */
  | "ClusterMismatch"
  /** GC is paused after a restore until an operator confirms. */
  | "GcPaused"
  /** The output file exists already (snapshots are never overwritten). */
  | "Exists"
  /** Disk full, permission denied, missing file. */
  | "Io"
  /** An invariant violation or an unexpected failure. */
  | "Internal";

export class SnapshotError extends Error {
  readonly code: SnapshotErrorCode;

  constructor(code: SnapshotErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SnapshotError";
    this.code = code;
  }

  /** Normalizes anything thrown into a SnapshotError (errno failures become Io). */
  static from(err: unknown): SnapshotError {
    if (err instanceof SnapshotError) return err;
    const code = errnoCode(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code !== undefined) return new SnapshotError("Io", message, { cause: err });
    return new SnapshotError("Internal", message, { cause: err });
  }
}

export function isSnapshotError(err: unknown, code?: SnapshotErrorCode): err is SnapshotError {
  return err instanceof SnapshotError && (code === undefined || err.code === code);
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? code : undefined;
}
