import { createRequire } from "node:module";
import type * as ZstdBinding from "zstd-napi/binding.js";

/**
 * zstd-napi's low-level binding: the high-level `compress`/`decompress` allocate a fresh output
 * per call and `decompress` has no output bound, so we drive ZSTD_CCtx/DCtx directly with reused,
 * bounded buffers.
 */
const require = createRequire(import.meta.url);
export const zstd: typeof ZstdBinding = require("zstd-napi/binding.js");
