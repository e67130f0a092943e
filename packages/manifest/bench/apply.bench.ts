/**
 * Rough apply throughput: `npx tsx packages/manifest/bench/apply.bench.ts [dbPath]`.
 * Simple PutObject commands (one fresh chunk each), applied in batches (group commit) on a file
 * database with WAL + synchronous=FULL, then single-entry transactions for comparison.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApplyEntry } from "../src/apply/entries.js";
import { Manifest } from "../src/manifest.js";
import { chunk, put } from "../src/test-support.js";

const dir = mkdtempSync(join(tmpdir(), "manifest-bench-"));
const path = process.argv[2] ?? join(dir, "bench.db");
let m = Manifest.open(path);
let index = 0;
m.applyEntry({ index: ++index, term: 1, command: { type: "CreateBucket", bucket: "b", createdAtMs: 1 } });

function run(
  label: string,
  count: number,
  batch: number,
  make: (i: number) => ApplyEntry["index"] extends number ? Parameters<typeof put> : never,
) {
  const entries: ApplyEntry[] = [];
  for (let i = 0; i < count; i++) entries.push({ index: ++index, term: 1, command: put(...make(i)) });
  const t0 = performance.now();
  for (let i = 0; i < entries.length; i += batch) m.applyEntries(entries.slice(i, i + batch));
  const ms = performance.now() - t0;
  console.log(`${label}: ${count} commands in ${ms.toFixed(0)} ms = ${Math.round((count / ms) * 1000)}/s`);
}

run("PutObject, new key + new chunk, batch 1000", 50_000, 1000, (i) => [
  "b",
  `key/${i}`,
  [chunk(`c${i}`)],
  i,
]);
run("PutObject, overwrite + dedup chunk, batch 1000", 50_000, 1000, (i) => [
  "b",
  `key/${i % 500}`,
  [chunk(`c${i % 300}`)],
  i,
]);
run("PutObject, batch 1 (one fsync each)", 500, 1, (i) => ["b", `single/${i}`, [chunk(`s${i}`)], i]);
const t0 = performance.now();
const page = m.listObjects({ bucket: "b", prefix: "key/", delimiter: "/", maxKeys: 1000 });
console.log(`listObjects page of ${page.contents.length}: ${(performance.now() - t0).toFixed(1)} ms`);
const t1 = performance.now();
m.checksum();
console.log(`checksum over ${JSON.stringify(m.rowCounts())}: ${(performance.now() - t1).toFixed(0)} ms`);
m.close();
const t2 = performance.now();
m = Manifest.open(path);
console.log(`reopen with quick_check: ${(performance.now() - t2).toFixed(0)} ms`);
m.close();
const t3 = performance.now();
Manifest.open(path, { integrityCheck: "none" }).close();
console.log(`reopen without check: ${(performance.now() - t3).toFixed(0)} ms`);
rmSync(dir, { recursive: true, force: true });
