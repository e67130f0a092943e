/**
 * GC's sweep: backend objects the manifest does not know (left by failed or abandoned PUTs) are
 * removed once older than the sweep grace period.
 *
 * The sweep is not fenced the way the chunk phase is: a chunk is uploaded *before* the command
 * referencing it commits, so an in-flight upload looks orphaned, and an orphan re-uploaded by a new
 * PUT between the listing and the delete would lose its fresh copy. The grace period must exceed
 * the longest upload, whatever `--grace` says for the fenced phase; hence the 1 h floor by default.
 */
import { sweepOrphans } from "@enigma/storage";
import type { Engine } from "../engine/engine.js";
import type { GcReport } from "./report.js";

export const SWEEP_MIN_GRACE_MS = 60 * 60 * 1000;

export interface SweepResult {
  readonly report: GcReport["sweep"];
  /** Per provider: unknown objects removed (or, dry, that would be), from the report's list. */
  readonly swept: ReadonlyMap<string, { objects: number; bytes: number }>;
}

export async function sweep(
  engine: Engine,
  opts: { readonly dryRun: boolean; readonly sweepGraceMs?: number },
  nowMs: number,
): Promise<SweepResult> {
  if (opts.sweepGraceMs === undefined) return { report: undefined, swept: new Map() };
  const { orphans, ...report } = await sweepOrphans({
    backends: engine.backends,
    isKnown: (nameTag) => engine.manifest.hasNameTag(nameTag),
    graceMs: opts.sweepGraceMs,
    nowMs,
    dryRun: opts.dryRun,
  });
  const swept = new Map<string, { objects: number; bytes: number }>();
  for (const o of orphans) {
    const s = swept.get(o.provider) ?? { objects: 0, bytes: 0 };
    s.objects++;
    s.bytes += o.sizeBytes;
    swept.set(o.provider, s);
  }
  return { report: { ...report, graceMs: opts.sweepGraceMs }, swept };
}
