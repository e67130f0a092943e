/**
 * V8 heap tuning for processes that stream data through the pipeline (`enigma serve`, `backup`,
 * `restore`, and the benchmarks, which measure the pipeline as the product runs it).
 *
 * The gateway's JS heap is small (~18 MiB live) while it allocates fast (network reads, promises
 * per body piece), so the young generation grows to its maximum. V8 sets the next old-generation
 * limit to the live size times a growing factor of ~1.1–1.8; with an 18 MiB heap the slack left is
 * below the young generation's capacity, and V8 then starts incremental marking right after every
 * full GC. Measured on a 512 MiB PUT through one node (2 cores): 98 mark-compacts, ~2.4 s of CPU
 * on V8's helper threads and ~0.5 s on the main thread — a full GC every ~5 MiB of body, which
 * freed almost nothing (18.7 → 18.1 MiB each time). With a growing factor of 4 the same PUT does
 * 19 mark-compacts, the helper threads use ~0.6 s in total, and the PUT runs ~40 % faster. The
 * pipeline alone shows it too: a process sealing 1 GiB from memory with two workers did 12
 * mark-compacts of a ~10 MiB heap that freed nothing.
 *
 * `--heap-growing-percent` is read at every limit computation, so setting it at run time works
 * (heap *size* flags such as --initial-old-space-size do not: they are read once at isolate start).
 * The cost is a heap that may hold up to ~4× its live size of garbage between full GCs: tens of
 * MiB here. An operator's own `--heap-growing-percent` (command line or NODE_OPTIONS) wins.
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 300;

let applied = false;

/** True when the operator already chose a heap growing factor (node flags or NODE_OPTIONS). */
export function operatorSetHeapGrowing(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  return [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((a) =>
    /^--heap[-_]growing[-_]percent(=|$)/.test(a),
  );
}

/** Applies the tuning once per process; returns the percent in effect, or null if the operator set their own. */
export function tuneHeapForStreaming(): number | null {
  if (operatorSetHeapGrowing(process.execArgv, process.env.NODE_OPTIONS)) return null;
  if (!applied) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    applied = true;
  }
  return HEAP_GROWING_PERCENT;
}
