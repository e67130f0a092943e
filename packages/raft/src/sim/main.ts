// Entry point: `pnpm sim --seed S [--steps N] [--nodes 3|5] [--seeds K] [--mutation M] [--long] [--trace]`.
// The only simulator file allowed to touch node: process (argv, exit, stdout).
import { TEST_MUTATIONS, type TestMutation } from "../config.js";
import { describeParams } from "./params.js";
import { runSimulation, type SimResult } from "./sim.js";

interface Args {
  seed: number;
  seeds: number;
  steps: number;
  nodes: number[];
  mutation: TestMutation | undefined;
  trace: boolean;
  keepGoing: boolean;
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: sim [--seed S] [--seeds K] [--steps N] [--nodes 3|5] [--mutation ${TEST_MUTATIONS.join("|")}] [--long] [--trace] [--keep-going]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    seed: 1,
    seeds: 1,
    steps: 2000,
    nodes: [3, 5],
    mutation: undefined,
    trace: false,
    keepGoing: false,
  };
  let seedGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) usage(`${k} needs a value`);
      return x;
    };
    const int = (): number => {
      const n = Number(v());
      if (!Number.isSafeInteger(n) || n < 0) usage(`${k} needs a non-negative integer`);
      return n;
    };
    switch (k) {
      case "--seed":
        a.seed = int();
        seedGiven = true;
        break;
      case "--seeds":
        a.seeds = int();
        break;
      case "--steps":
        a.steps = int();
        break;
      case "--nodes": {
        const n = int();
        if (n !== 3 && n !== 5) usage("--nodes must be 3 or 5");
        a.nodes = [n];
        break;
      }
      case "--mutation": {
        const m = v();
        if (!(TEST_MUTATIONS as readonly string[]).includes(m)) usage(`unknown mutation ${m}`);
        a.mutation = m as TestMutation;
        break;
      }
      case "--long":
        a.seeds = 5000;
        break;
      case "--trace":
        a.trace = true;
        break;
      case "--keep-going":
        a.keepGoing = true;
        break;
      default:
        usage(`unknown argument ${k}`);
    }
  }
  if (!seedGiven && a.seeds === 1) a.seeds = 200;
  return a;
}

function report(r: SimResult): string {
  const s = r.stats;
  return (
    `seed=${r.seed} nodes=${r.nodes} steps=${r.steps}: ${r.ok ? "ok" : "FAIL"} ` +
    `term=${s.maxTerm} commit=${s.maxCommit} elections=${s.leaderElections} proposals=${s.proposals} ` +
    `acked=${s.acked} reads=${s.readsServed}/${s.reads} crashes=${s.crashes} partitions=${s.partitions} ` +
    `conf=${s.confChanges} transfers=${s.transfers} snaps=${s.snapshotsSent} msgs=${s.messages} ` +
    `liveness=${s.livenessTicks}t checks=${s.checks}`
  );
}

const args = parseArgs(process.argv.slice(2));
let failed = 0;
let runs = 0;
for (const nodes of args.nodes) {
  for (let seed = args.seed; seed < args.seed + args.seeds; seed++) {
    const trace = args.trace ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
    const r = runSimulation({
      seed,
      steps: args.steps,
      nodes,
      ...(args.mutation !== undefined ? { mutation: args.mutation } : {}),
      ...(trace !== undefined ? { trace } : {}),
    });
    runs++;
    if (args.seeds === 1 || !r.ok) process.stdout.write(`${report(r)}\n`);
    if (!r.ok) {
      failed++;
      const f = r.failure!;
      process.stdout.write(
        `  ${f.invariant} violated at step ${f.step}\n  ${f.message}\n  params: ${describeParams(r.params)}\n` +
          `  replay: pnpm sim --seed ${seed} --nodes ${nodes} --steps ${args.steps}` +
          `${args.mutation !== undefined ? ` --mutation ${args.mutation}` : ""} --trace\n`,
      );
      if (args.mutation !== undefined && !args.keepGoing) break;
    }
  }
}
process.stdout.write(`${runs} runs, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
