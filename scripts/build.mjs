#!/usr/bin/env node
// Bundles the `enigma` binary and the chunk-sealing worker into packages/cli/dist with esbuild.
// Native addons stay external (resolved from packages/cli's dependencies); cloud SDKs that are
// imported lazily land in separate chunks, so a Local-only run never loads them.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "packages", "cli", "dist");
rmSync(outdir, { recursive: true, force: true });
const started = performance.now();
await build({
  absWorkingDir: root,
  entryPoints: {
    enigma: "packages/cli/src/main.ts",
    "seal-worker": "packages/chunker/src/seal-worker.ts",
  },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  outExtension: { ".js": ".js" },
  chunkNames: "chunks/[name]-[hash]",
  external: ["better-sqlite3", "argon2", "zstd-napi"],
  // CommonJS dependencies bundled into ESM still call require() for node built-ins.
  banner: {
    js: 'import { createRequire as __enigmaCreateRequire } from "node:module"; const require = __enigmaCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});
process.stderr.write(`built ${outdir} in ${Math.round(performance.now() - started)} ms\n`);
