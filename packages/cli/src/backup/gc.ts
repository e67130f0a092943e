/**
 * GC moved to the server (packages/server/src/gc/) so a running node can run it (Admin RPC
 * `gc.run`, scheduled GC). Kept as a re-export for the CLI's older imports.
 */
export {
  GC_BATCH_CHUNKS,
  type GcReport,
  type GcRunOptions as GcOptions,
  runGc,
  SWEEP_MIN_GRACE_MS,
} from "@enigma/server";
