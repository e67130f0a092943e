/**
 * Listening ports for test processes. `listen(0)` hands out ports from the kernel's ephemeral
 * range (32768–60999 here), which every outbound connection on the machine also draws from, so a
 * port that was free when probed can be taken by someone's client socket before the child process
 * binds it (CI saw exactly that: EADDRINUSE on 127.0.0.1:36193). Ports here come from below the
 * ephemeral range instead, in a block of its own for each vitest worker (VITEST_POOL_ID), handed
 * out round-robin and checked free by binding before use. Only an explicit bind elsewhere can
 * still collide, which is why callers that spawn a process also retry on EADDRINUSE.
 */
import { createServer } from "node:net";

/** First port of the test range; the ephemeral range starts at 32768 on Linux by default. */
const RANGE_START = 20_000;
/** Ports per worker block; 12 blocks fit below 32768. */
const BLOCK_SIZE = 1_000;
const BLOCKS = 12;

const poolId = Number(process.env.VITEST_POOL_ID ?? process.pid) || 0;
const blockStart = RANGE_START + (poolId % BLOCKS) * BLOCK_SIZE;
/** Start at a pid-dependent offset so successive test files in one worker don't replay ports. */
let cursor = process.pid % BLOCK_SIZE;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that is free now and outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < BLOCK_SIZE; tries++) {
    const port = blockStart + (cursor++ % BLOCK_SIZE);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${blockStart}..${blockStart + BLOCK_SIZE - 1}`);
}

/** Whether a child's output says it lost a race for its listening port. */
export function lostPortRace(output: string): boolean {
  return output.includes("EADDRINUSE");
}
