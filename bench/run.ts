/**
 * `pnpm bench [--quick] [--only a,b]`: every figure with the reference it is compared to, measured
 * in the same run (this machine is shared and noisy: ratios, not absolute times, are the point).
 * Writes bench/results/latest.json and prints a markdown table. Exits non-zero only if it could
 * not run; no figure is pass/fail.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { runPipelineBench } from "../packages/chunker/bench/pipeline.bench.js";
import { tuneHeapForStreaming } from "../packages/chunker/src/heap-tuning.js";
import type { Figure } from "./figure.js";
import { runGatewayBench } from "./gateway.js";
import { runSmallObjectBench } from "./small.js";
import { REPO_ROOT } from "./support/node-process.js";
import { cpuTimes, stealPercent } from "./support/steal.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? "").split(",")) : undefined;
const log = (s: string) => process.stderr.write(`${s}\n`);
// The heap settings `enigma serve` / `backup` run with (heap-tuning.ts), for the in-process figures
// (pipeline, and the references, which then get them too).
tuneHeapForStreaming();

type Suite = { readonly name: string; run(): Promise<Figure[]> };

/** Optional suites live next to the code they measure; absent ones are reported, not fatal. */
async function optional(
  name: string,
  modulePath: string,
  exportName: string,
  expected: string[],
): Promise<Suite> {
  return {
    name,
    async run() {
      let mod: Record<string, unknown>;
      try {
        mod = (await import(modulePath)) as Record<string, unknown>;
      } catch (err) {
        const reason = `not available: ${(err as Error).message.split("\n")[0]}`;
        return expected.map((n) => ({
          name: n,
          value: 0,
          unit: "",
          reference: null,
          ratio: null,
          skipped: reason,
        }));
      }
      const fn = mod[exportName] as (o: { quick: boolean; log: typeof log }) => Promise<Figure[]>;
      return fn({ quick, log });
    },
  };
}

const suites: Suite[] = [
  {
    name: "pipeline",
    async run() {
      const figs = await runPipelineBench({ quick, log });
      const single = figs.find((f) => f.name === "pipeline workers=0");
      const workers = figs.find((f) => /^pipeline workers=\d+$/.test(f.name) && f !== single);
      const out: Figure[] = [];
      if (single) out.push({ ...single, name: "pipeline.single" });
      if (workers) out.push({ ...workers, name: "pipeline.workers" });
      return out;
    },
  },
  { name: "gateway", run: () => runGatewayBench({ quick, log }) },
  { name: "small", run: () => runSmallObjectBench({ quick, log }) },
  {
    name: "list",
    async run() {
      // Always the 100,000-key bucket (filling it takes seconds); --quick only times fewer pages.
      const { runListBench } = await import("../packages/server/bench/list.bench.js");
      const figs = await runListBench({ quick, largeKeys: 100_000, log });
      const rename: [RegExp, string][] = [
        [/^ListObjectsV2 delimiter page, /, "list.delimiter_100k"],
        [/^ListObjectsV2 delimiter page from a token/, "list.delimiter_token_100k"],
        [/^ListObjectsV2 page of 10 keys inside one prefix/, "list.prefix_page_100k"],
      ];
      return figs.map((f) => ({ ...f, name: rename.find(([re]) => re.test(f.name))?.[1] ?? f.name }));
    },
  },
  await optional("cluster", "../test/cluster/bench/cluster.bench.js", "runClusterBench", [
    "small.put.cluster",
    "small.get.cluster",
    "raft.commit.64",
    "raft.commit.1",
    "failover.median",
    "catchup.entries",
  ]),
];

const load = () => loadavg().map((l) => Number(l.toFixed(2)));
const steal: Record<string, number | null> = {};
const loadBefore = load();
const startedAt = Date.now();
const figures: Figure[] = [];
let failed = 0;
for (const suite of suites) {
  if (only && !only.has(suite.name)) continue;
  log(`── ${suite.name}`);
  const t0 = cpuTimes();
  try {
    figures.push(...(await suite.run()));
  } catch (err) {
    failed++;
    log(`bench ${suite.name} could not run: ${(err as Error).stack ?? err}`);
  }
  steal[suite.name] = stealPercent(t0, cpuTimes());
  if (steal[suite.name] !== null)
    log(`   (${suite.name}: ${steal[suite.name]}% of CPU time stolen by the hypervisor)`);
}

const fmt = (v: number | null) => (v === null ? "" : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const lines = [
  `| figure | value | unit | reference | ratio |`,
  `|---|---:|---|---:|---:|`,
  ...figures.map((f) =>
    f.skipped
      ? `| ${f.name} | — | | | ${f.skipped} |`
      : `| ${f.name} | ${fmt(f.value)} | ${f.unit} | ${fmt(f.reference)} | ${fmt(f.ratio)} |`,
  ),
];
const loadAfter = load();
const seconds = Math.round((Date.now() - startedAt) / 1000);
lines.push(
  "",
  `${quick ? "--quick, " : ""}${cpus().length} cores, load average (1/5/15 min) ${loadBefore.join(" ")} before, ` +
    `${loadAfter.join(" ")} after; ${seconds} s` +
    (Object.values(steal).some((v) => v !== null)
      ? `; CPU steal ${Object.entries(steal)
          .map(([k, v]) => `${k} ${v ?? "?"}%`)
          .join(", ")}`
      : ""),
);
process.stdout.write(`${lines.join("\n")}\n`);
const outDir = join(REPO_ROOT, "bench", "results");
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, "latest.json"),
  `${JSON.stringify(
    {
      quick,
      at: new Date().toISOString(),
      cores: cpus().length,
      loadBefore,
      loadAfter,
      stealPercent: steal,
      seconds,
      figures,
    },
    null,
    2,
  )}\n`,
);
process.exit(failed > 0 && figures.length === 0 ? 1 : 0);
