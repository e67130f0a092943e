/** What a GC run did (or, dry, would do), per backend; the admin RPC and `enigma gc --json` send it as is. */
import type { SweepReport } from "@enigma/storage";
import { formatBytes } from "../config/units.js";

export interface BackendFreed {
  /** Chunk blobs deleted from this backend (fenced phase). */
  readonly blobs: number;
  readonly bytes: number;
  /** Unknown objects the sweep removed from this backend (counted among the listed ones). */
  readonly sweptObjects: number;
  readonly sweptBytes: number;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly graceMs: number;
  /** The run's clock (command timestamps): chunks at zero since before nowMs - graceMs qualify. */
  readonly nowMs: number;
  readonly candidates: number;
  /** Chunks fenced by this run (MarkChunksDeleting results). */
  readonly marked: number;
  /** Chunks forgotten after their blobs were deleted (this run's and any a crashed run left). */
  readonly freedChunks: number;
  /** The same count under its earlier `enigma gc --json` name (kept for scripts). */
  readonly forgotten: number;
  readonly deletedBlobs: number;
  /** Sealed bytes deleted from the backends, replicas counted (dry run: would be). */
  readonly freedBytes: number;
  /** Plaintext bytes of the freed chunks. */
  readonly freedPlainBytes: number;
  readonly perBackend: Readonly<Record<string, BackendFreed>>;
  readonly errors: readonly string[];
  /** resumedFences: name tags an earlier (crashed or failed) sweep had fenced, finished now. */
  readonly sweep?: Omit<SweepReport, "orphans"> & {
    readonly graceMs: number;
    readonly resumedFences: number;
  };
  readonly durationMs: number;
}

/** Human lines for `enigma gc`. */
export function renderGcReport(r: GcReport): string {
  const lines = [
    r.dryRun
      ? `dry run: ${r.candidates} unreferenced chunks past the grace period would be deleted (${formatBytes(r.freedBytes)})`
      : `gc: ${r.marked} chunks marked, ${r.freedChunks} freed (${r.deletedBlobs} blobs, ${formatBytes(r.freedBytes)} stored, ${formatBytes(r.freedPlainBytes)} plaintext)`,
  ];
  for (const [name, b] of Object.entries(r.perBackend)) {
    lines.push(
      `  ${name}: ${b.blobs} blobs ${formatBytes(b.bytes)}` +
        (b.sweptObjects > 0 ? `, swept ${b.sweptObjects} unknown ${formatBytes(b.sweptBytes)}` : ""),
    );
  }
  lines.push(
    r.sweep
      ? `sweep: ${r.sweep.scannedObjects} backend objects scanned, ${r.sweep.orphanObjects} unknown older than ${r.sweep.graceMs / 1000}s ` +
          `(${formatBytes(r.sweep.orphanBytes)})${r.dryRun ? " would be" : ""} removed`
      : "sweep: skipped",
  );
  for (const e of r.errors) lines.push(`  error: ${e}`);
  for (const e of r.sweep?.errors ?? [])
    lines.push(`  sweep error: [${e.provider}] ${e.key ?? ""} ${e.message}`);
  return lines.join("\n");
}
