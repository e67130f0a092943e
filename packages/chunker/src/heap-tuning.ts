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
import { runInNewContext } from "node:vm";

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

/**
 * Applies the tuning once per process (the V8 growing factor; glibc's malloc thresholds and early
 * minor GCs of streamed input, both below); returns the percent in effect, or null if the operator
 * set their own.
 */
export function tuneHeapForStreaming(): number | null {
  if (!mallocTuned) {
    mallocTuned = true;
    raiseMallocThresholds(process.env);
  }
  if (streamGc === undefined) {
    setFlagsFromString("--expose-gc");
    streamGc = runInNewContext("gc") as typeof streamGc;
  }
  if (operatorSetHeapGrowing(process.execArgv, process.env.NODE_OPTIONS)) return null;
  if (!applied) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    applied = true;
  }
  return HEAP_GROWING_PERCENT;
}

/**
 * glibc's malloc, left to its defaults, makes the seal workers page-fault on almost every byte.
 *
 * node:crypto's `cipher.update` returns each 256 KiB slice of ciphertext in freshly malloc'ed
 * memory, freed only when V8 collects the Buffer: ~8 MiB at a time, at each young-generation GC.
 * With glibc's default dynamic thresholds (trim above 2× the mmap threshold, which starts at
 * 128 KiB and rises only when an mmapped block is freed) that bulk free leaves a free top chunk
 * above the trim threshold, so the arena hands the pages back to the kernel — and the next slices
 * fault them in again, zeroed and charged to the cgroup one 4 KiB page at a time. Measured on a
 * 1 GiB PUT through one node: 213,000 page faults on the seal worker and ~12 % of its CPU.
 *
 * glibc raises both thresholds itself when a program frees an mmapped block larger than the
 * current mmap threshold (up to 32 MiB): "this program allocates and frees big blocks". Doing that
 * once, with a MALLOC_THRESHOLD_PROBE_BYTES block that is never touched (calloc'ed mmapped memory
 * is not zeroed, so it is never resident), sets the mmap threshold to that size and the trim
 * threshold to twice it for the whole process. The same 1 GiB PUT then takes ~5,500 faults.
 * The cost: each malloc arena may keep up to 2 × the probe of freed memory for reuse.
 *
 * Nothing is done when the operator set malloc thresholds (GLIBC_TUNABLES or MALLOC_*_ variables:
 * explicit thresholds also switch glibc's dynamic adjustment off), or off Linux. On a C library
 * without this heuristic (musl) the probe is a harmless allocate-and-free.
 */
export const MALLOC_THRESHOLD_PROBE_BYTES = 8 * 1024 * 1024;
let mallocTuned = false;

/** True when the environment sets glibc's malloc thresholds explicitly. */
export function operatorSetMallocThresholds(env: NodeJS.ProcessEnv): boolean {
  return (
    /glibc\.malloc\.(trim|mmap)_threshold/.test(env.GLIBC_TUNABLES ?? "") ||
    env.MALLOC_TRIM_THRESHOLD_ !== undefined ||
    env.MALLOC_MMAP_THRESHOLD_ !== undefined
  );
}

/** Allocates and frees one untouched MALLOC_THRESHOLD_PROBE_BYTES block (see above); false if skipped. */
export function raiseMallocThresholds(env: NodeJS.ProcessEnv): boolean {
  if (process.platform !== "linux" || operatorSetMallocThresholds(env)) return false;
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as ((opts?: { type: "major" }) => void) | undefined;
  if (gc === undefined) return false;
  let probe: ArrayBuffer | null = new ArrayBuffer(MALLOC_THRESHOLD_PROBE_BYTES);
  if (probe.byteLength !== MALLOC_THRESHOLD_PROBE_BYTES) return false;
  probe = null;
  // The block is freed when V8 sweeps it, during or shortly after this collection.
  gc({ type: "major" });
  return true;
}

/**
 * Streamed input bytes between minor GCs on the thread that reads request bodies (see
 * `noteStreamedBytes`). Measured in one node after 3 × (1 GiB PUT + GET) and a 5 GiB PUT, three
 * runs each way, alternated: the malloc heap's resident size 76–81, 98, 107 MiB → 58–62, 75,
 * 101 MiB. It costs the main thread ~40 ms of GC per GiB (`--trace-gc`: 65 scavenges, 156 ms, vs 42
 * and 118 ms when V8 scavenges on external memory pressure alone, every ~40–75 MiB of body).
 */
export const STREAM_MINOR_GC_EVERY_BYTES = 16 * 1024 * 1024;
let streamGc: ((opts?: { type: "minor" | "major" }) => void) | undefined;
let sinceStreamGc = 0;

/**
 * Every body piece Node's HTTP parser hands over is a fresh malloc'ed copy (64 KiB), dead once the
 * pipeline copied it into a chunk, and freed only when V8 collects its Buffer: a scavenge, which
 * V8 starts on "external memory pressure" only after tens of MiB of such garbage. With streaming
 * tuned on (`tuneHeapForStreaming`), a minor GC every STREAM_MINOR_GC_EVERY_BYTES of streamed input
 * frees it early, so it reuses the same few MiB of the malloc heap.
 */
export function noteStreamedBytes(n: number): void {
  if (streamGc === undefined) return;
  sinceStreamGc += n;
  if (sinceStreamGc >= STREAM_MINOR_GC_EVERY_BYTES) {
    sinceStreamGc = 0;
    streamGc({ type: "minor" });
  }
}
