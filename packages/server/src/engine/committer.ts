/**
 * The seam between "what should change" and "how it becomes durable". Handlers and the backup
 * engine only ever call `propose`; single-node mode applies locally, cluster mode goes through
 * Raft (the proposing node waits until its own state machine applied the entry, so reads after
 * the returned promise see the change: read-your-writes on every node).
 */
import type { ApplyResult, Command, Manifest } from "@enigma/manifest";

export interface ProposeOptions {
  /** Idempotency id: a retried proposal with the same id is applied at most once. */
  readonly requestId?: string;
}

export interface Committer {
  propose(command: Command, opts?: ProposeOptions): Promise<ApplyResult>;
  /**
   * Resolves once the local state machine reflects every write committed before the call
   * (ReadIndex, Raft thesis §6.4); a read after it is linearizable.
   */
  readBarrier(): Promise<void>;
}

/** One-member group without Raft traffic: each command is the next log index, applied at once. */
export class LocalCommitter implements Committer {
  readonly #manifest: Manifest;
  readonly #term: number;

  constructor(manifest: Manifest, term = 1) {
    this.#manifest = manifest;
    this.#term = term;
  }

  /** A single member is always up to date with itself. */
  async readBarrier(): Promise<void> {}

  async propose(command: Command, opts: ProposeOptions = {}): Promise<ApplyResult> {
    const index = this.#manifest.raftMeta().appliedIndex + 1;
    return this.#manifest.applyEntry({
      index,
      term: this.#term,
      command,
      ...(opts.requestId ? { requestId: opts.requestId } : {}),
    });
  }
}

/** Proposes and turns a refusal into an exception carrying the apply error code. */
export async function proposeOrThrow(committer: Committer, command: Command, opts?: ProposeOptions) {
  const res = await committer.propose(command, opts);
  if (!res.ok) throw new CommandRefused(res.code, res.message, res.hashes);
  return res;
}

export class CommandRefused extends Error {
  readonly code: string;
  readonly hashes: readonly string[] | undefined;
  constructor(code: string, message: string, hashes?: readonly string[]) {
    super(message);
    this.name = "CommandRefused";
    this.code = code;
    this.hashes = hashes;
  }
}
