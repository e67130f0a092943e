import type Database from "better-sqlite3";
import { ManifestError } from "../errors.js";
import type { RaftMeta } from "./types.js";

interface MetaRow {
  readonly applied_index: number;
  readonly applied_term: number;
  readonly membership: string | null;
  readonly membership_index: number;
  readonly cluster_id: string | null;
}

export class RaftMetaQueries {
  readonly #get: Database.Statement<[], MetaRow>;
  readonly #setClusterId: Database.Statement<[string]>;
  readonly #resetCluster: Database.Statement<[string]>;
  readonly #request: Database.Statement<[string], { one: number }>;

  constructor(db: Database.Database) {
    this.#get = db.prepare(
      "SELECT applied_index, applied_term, membership, membership_index, cluster_id FROM raft_meta WHERE id = 1",
    );
    this.#setClusterId = db.prepare("UPDATE raft_meta SET cluster_id = ? WHERE id = 1");
    this.#resetCluster = db.prepare(
      "UPDATE raft_meta SET cluster_id = ?, membership = NULL, membership_index = 0 WHERE id = 1",
    );
    this.#request = db.prepare("SELECT 1 AS one FROM applied_requests WHERE request_id = ?");
  }

  /** True when a command with this requestId was applied and is still in the de-duplication window. */
  hasAppliedRequest(requestId: string): boolean {
    return this.#request.get(requestId) !== undefined;
  }

  raftMeta(): RaftMeta {
    const r = this.#get.get();
    if (r === undefined) throw new ManifestError("Corrupt", "manifest database has no raft_meta row");
    return {
      appliedIndex: r.applied_index,
      appliedTerm: r.applied_term,
      membership: r.membership === null ? null : (JSON.parse(r.membership) as Record<string, unknown>),
      membershipIndex: r.membership_index,
      clusterId: r.cluster_id,
    };
  }

  /** Records the cluster id once (bootstrap); a different id later is refused. */
  setClusterId(clusterId: string): void {
    const current = this.raftMeta().clusterId;
    if (current === clusterId) return;
    if (current !== null) {
      throw new ManifestError("InvalidArgument", `manifest belongs to cluster ${current}, not ${clusterId}`);
    }
    this.#setClusterId.run(clusterId);
  }

  /**
   * Disaster recovery only: makes this database the seed of a new cluster. Replaces the cluster id
   * and forgets the old cluster's membership (the new cluster's bootstrap records its own); the
   * applied index and term stay, so the new log starts after them.
   */
  resetClusterIdentity(clusterId: string): void {
    if (clusterId.length === 0) throw new ManifestError("InvalidArgument", "cluster id must not be empty");
    this.#resetCluster.run(clusterId);
  }
}
