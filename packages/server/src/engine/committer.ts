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

/** Proposals applied per SQLite transaction at most (group commit). */
export const LOCAL_COMMIT_BATCH_MAX = 512;

/**
 * One-member group without Raft traffic: each command is the next log index. Concurrent proposals
 * are group-committed: everything queued while a transaction runs goes into the next one, so 32
 * concurrent PUTs share one fsync instead of paying one each.
 */
export class LocalCommitter implements Committer {
  readonly #manifest: Manifest;
  readonly #term: number;
  #queue: {
    command: Command;
    requestId: string | undefined;
    resolve: (r: ApplyResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #scheduled = false;

  constructor(manifest: Manifest, term = 1) {
    this.#manifest = manifest;
    this.#term = term;
  }

  /** A single member is always up to date with itself. */
  async readBarrier(): Promise<void> {}

  propose(command: Command, opts: ProposeOptions = {}): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ command, requestId: opts.requestId, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const batch = this.#queue.splice(0, LOCAL_COMMIT_BATCH_MAX);
    this.#scheduled = this.#queue.length > 0;
    if (this.#scheduled) setImmediate(() => this.#flush());
    let index = this.#manifest.raftMeta().appliedIndex;
    const entries = batch.map((p) => ({
      index: ++index,
      term: this.#term,
      command: p.command,
      ...(p.requestId ? { requestId: p.requestId } : {}),
    }));
    let results: ApplyResult[];
    try {
      results = this.#manifest.applyEntries(entries);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      p.resolve(results[i]!);
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
