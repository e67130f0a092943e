#!/usr/bin/env node
// Bundles the `enigma` binary and the chunk-sealing worker into packages/cli/dist with esbuild.
// Native addons stay external (resolved from packages/cli's dependencies); cloud SDKs that are
// imported lazily land in separate chunks, so a Local-only run never loads them.
import { mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "packages", "cli", "dist");
const started = performance.now();
// Processes started from an earlier build (tests running in parallel, a node being restarted) may
// still load its chunks lazily: write every file atomically (temp + rename) and prune only files
// this build did not produce that are old enough that nothing can still be starting from them.
const STALE_MS = 15 * 60_000;
const result = await build({
  write: false,
  absWorkingDir: root,
  entryPoints: {
    enigma: "packages/cli/src/main.ts",
    "seal-worker": "packages/chunker/src/seal-worker.ts",
    "hash-worker": "packages/chunker/src/hash-worker.ts",
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
  // @google-cloud/secret-manager (google-gax) reads its proto files relative to __dirname: it is
  // loaded from packages/cli's dependencies at run time instead of being bundled.
  external: ["better-sqlite3", "argon2", "zstd-napi", "@google-cloud/secret-manager"],
  // CommonJS dependencies bundled into ESM still call require() for node built-ins.
  banner: {
    js: 'import { createRequire as __enigmaCreateRequire } from "node:module"; const require = __enigmaCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});
const produced = new Set();
for (const f of result.outputFiles) {
  mkdirSync(dirname(f.path), { recursive: true });
  const tmp = `${f.path}.${process.pid}.tmp`;
  writeFileSync(tmp, f.contents);
  renameSync(tmp, f.path);
  produced.add(f.path);
}
const now = Date.now();
for (const dir of [outdir, join(outdir, "chunks")]) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isFile() && !produced.has(path) && now - st.mtimeMs > STALE_MS) unlinkSync(path);
  }
}
process.stderr.write(`built ${outdir} in ${Math.round(performance.now() - started)} ms\n`);
