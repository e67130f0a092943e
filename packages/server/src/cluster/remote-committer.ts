/**
 * The `Committer` of a process that shares a cluster member's data directory without being the
 * member — the backup CLI, `enigma keys rotate`, `enigma gc` run on a node. Its manifest is the
 * node's own file (read through a second SQLite connection), so it must never write it: commands
 * go to the node's cluster service over gRPC (which forwards to the leader), and the committer
 * then waits until the node has applied the returned index to that same file — read-your-writes
 * for the CLI too. `readBarrier` is the node's ReadIndex plus the same wait.
 */
import { randomUUID } from "node:crypto";
import { type ApplyResult, type Command, encodeEnvelope, type Manifest } from "@enigma/manifest";
import { ClusterClient, failureToError, RaftNodeError, type TlsMaterial } from "@enigma/raft-node";
import type { Committer, ProposeOptions } from "../engine/committer.js";

const POLL_MS = 10;

export interface RemoteCommitterOptions {
  /** The node's gRPC address (its `[raft] grpc_addr`). */
  readonly addr: string;
  readonly secret: string | undefined;
  readonly tls: TlsMaterial | undefined;
  readonly timeoutMs: number;
}

export class RemoteCommitter implements Committer {
  readonly #manifest: Manifest;
  readonly #client: ClusterClient;
  readonly #timeoutMs: number;

  constructor(manifest: Manifest, opts: RemoteCommitterOptions) {
    this.#manifest = manifest;
    this.#client = new ClusterClient(opts.addr, { secret: opts.secret, tls: opts.tls });
    this.#timeoutMs = opts.timeoutMs;
  }

  async propose(command: Command, opts: ProposeOptions = {}): Promise<ApplyResult> {
    const data = encodeEnvelope({ requestId: opts.requestId ?? randomUUID(), command });
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const res = await this.#guard(() =>
        this.#client.propose({ command: data, timeoutMs: Math.max(1, deadline - Date.now()), hops: 0 }),
      );
      if (res.failure === undefined) {
        await this.#waitApplied(res.index, deadline);
        return (res.resultJson === "" ? { ok: true } : JSON.parse(res.resultJson)) as ApplyResult;
      }
      const err = failureToError(res.failure);
      // Same request id on every attempt: the state machine applies it at most once.
      if (!err.retriable || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async readBarrier(): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    const res = await this.#guard(() => this.#client.readIndex(this.#timeoutMs));
    if (res.failure !== undefined) throw failureToError(res.failure);
    await this.#waitApplied(res.index, deadline);
  }

  close(): void {
    this.#client.close();
  }

  async #guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (RaftNodeError.is(err, "Unreachable")) {
        throw new RaftNodeError(
          "Unreachable",
          `this directory belongs to cluster node at ${this.#client.addr}, which is not reachable: ` +
            `is "enigma serve" running? (${err.message})`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  async #waitApplied(index: number, deadline: number): Promise<void> {
    while (this.#manifest.raftMeta().appliedIndex < index) {
      if (Date.now() >= deadline) {
        throw new RaftNodeError("Timeout", `the node did not apply index ${index} to this manifest in time`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
