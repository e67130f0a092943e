import type { Prng } from "./prng.js";

/*
 * Swarm testing: each seed draws the core's knobs once, and the faults and workload afresh for
 * every phase of a run (a few hundred steps each), so a single run passes through calm, lossy,
 * crash-heavy and partition-heavy stretches, and rare interleavings get a chance.
 */

/** The core's configuration: fixed for a run. */
export interface CoreParams {
  /** 1 byte means exactly one entry per App, which splits a new leader's catch-up across messages. */
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly electionTicks: number;
  /** The application snapshots after this many applied entries (Infinity: never). */
  readonly snapshotEvery: number;
}

/** Faults and workload: redrawn for every phase. */
export interface FaultParams {
  readonly dropProb: number;
  readonly dupProb: number;
  readonly maxDelayTicks: number;
  /**
   * Whom the faults pick: any node, or mostly the current leader (crashing or isolating leaders
   * right after they append is what leaves the divergent logs of Raft's figure 8).
   */
  readonly nemesis: "random" | "leader";
  /** Per step, probability that a live node crashes. */
  readonly crashProb: number;
  /** A crashed node restarts after a uniform number of ticks in [0, maxDownTicks]. */
  readonly maxDownTicks: number;
  /** Per step, probability of a new partition (replacing the current one). */
  readonly partitionProb: number;
  /** Per step, probability that the current partition heals. */
  readonly healProb: number;
  /** Per round, probability that a node leaves its Ready for later (a slow disk). */
  readonly slowDiskProb: number;
  /**
   * Targeted faults at the moments that matter (as Jepsen's targeted nemeses do): isolate a
   * leader right after it accepts a proposal (the entry stays on it alone) or right after its
   * commit index advances; crash a node right after it grants a vote.
   */
  readonly isolateAfterAppendProb: number;
  readonly isolateAfterCommitProb: number;
  readonly crashAfterVoteProb: number;
  readonly proposeProb: number;
  readonly readProb: number;
  readonly confChangeProb: number;
  readonly transferProb: number;
}

export function drawCoreParams(p: Prng): CoreParams {
  return {
    maxSizePerMsgBytes: p.pick([1, 1, 100, 1024 * 1024]),
    maxInflightMsgs: p.pick([1, 1, 4, 256]),
    preVote: p.chance(0.75),
    checkQuorum: p.chance(0.75),
    electionTicks: p.pick([4, 6, 10]),
    snapshotEvery: p.pick([3, 10, 40, Number.POSITIVE_INFINITY]),
  };
}

export function drawFaultParams(p: Prng): FaultParams {
  return {
    dropProb: p.pick([0, 0, 0.02, 0.05, 0.15]),
    dupProb: p.pick([0, 0.02, 0.1]),
    maxDelayTicks: p.pick([0, 1, 2, 4, 8]),
    nemesis: p.pick(["random", "leader"] as const),
    crashProb: p.pick([0, 0.003, 0.01, 0.03, 0.1]),
    maxDownTicks: p.pick([0, 2, 5, 30, 100]),
    partitionProb: p.pick([0, 0.005, 0.01, 0.03, 0.1]),
    healProb: p.pick([0.01, 0.05, 0.2, 0.5]),
    slowDiskProb: p.pick([0, 0.1, 0.3]),
    isolateAfterAppendProb: p.pick([0, 0, 0.05, 0.2]),
    isolateAfterCommitProb: p.pick([0, 0, 0.05, 0.2]),
    crashAfterVoteProb: p.pick([0, 0, 0.1, 0.4]),
    proposeProb: p.pick([0.1, 0.3, 0.8]),
    readProb: p.pick([0.05, 0.2, 0.5]),
    confChangeProb: p.pick([0, 0, 0.005, 0.02]),
    transferProb: p.pick([0, 0.002, 0.01]),
  };
}

/** Steps in one fault phase: uniform in [PHASE_MIN_STEPS, PHASE_MAX_STEPS). */
export const PHASE_MIN_STEPS = 100;
export const PHASE_MAX_STEPS = 500;

export function describeParams(s: object): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}
