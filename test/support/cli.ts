/** Runs the real `enigma` CLI (TypeScript via tsx) as a child process, like a user would. */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI_BIN = join(REPO_ROOT, "packages", "cli", "bin", "enigma.mjs");

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Bytes or a stream piped to stdin. */
  readonly input?: Buffer | Readable;
  readonly cwd?: string;
}

export function spawnEnigma(args: readonly string[], opts: RunOptions = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export function runEnigma(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = spawnEnigma(args, opts);
  const out: Buffer[] = [];
  let err = "";
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  // A command that refuses its input exits before reading it all: that is an answer, not an error.
  child.stdin?.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
  if (opts.input instanceof Buffer) child.stdin?.end(opts.input);
  else if (opts.input) (opts.input as Readable).pipe(child.stdin!);
  else child.stdin?.end();
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** `runEnigma`, throwing (with the command, its exit code and stderr) unless it exited 0. */
export async function runEnigmaOk(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runEnigma(args, opts);
  if (r.code !== 0) throw new Error(`enigma ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}
