export { chunkStream } from "./chunk-stream.js";
export type { Cutter } from "./cutter.js";
export { createCutter, FastCdcCutter, FixedCutter, NORMALIZATION_LEVEL } from "./cutter.js";
export type { ChunkerErrorCode } from "./errors.js";
export { ChunkerError } from "./errors.js";
export { GEAR, GEAR_SEED } from "./gear.js";
export { HEAP_GROWING_PERCENT, operatorSetHeapGrowing, tuneHeapForStreaming } from "./heap-tuning.js";
export type { OpenIntoOptions } from "./open-into.js";
export { OPEN_SLICE_BYTES, openSealedInto, sealedBlobBound } from "./open-into.js";
export type { OpenSealedOptions } from "./open-sealed.js";
export { openSealed } from "./open-sealed.js";
export type { ChunkingOptions, ChunkingParams } from "./options.js";
export {
  CHUNK_MAX_LIMIT_BYTES,
  CHUNK_MIN_LIMIT_BYTES,
  DEFAULT_CHUNK_AVG_BYTES,
  DEFAULT_CHUNKING,
  resolveChunking,
} from "./options.js";
export {
  defaultSealWorkers,
  SealWorkerPool,
  type SealWorkerPoolOptions,
  WORKER_RESTART_WINDOW_MS,
  WORKER_RESTARTS_PER_WINDOW,
  type WorkerExit,
} from "./seal-pool.js";
export type { CompressionOptions, PipelineOptions, SealedChunk } from "./seal-stream.js";
export { sealStream } from "./seal-stream.js";
