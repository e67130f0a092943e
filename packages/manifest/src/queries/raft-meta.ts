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

  constructor(db: Database.Database) {
    this.#get = db.prepare(
      "SELECT applied_index, applied_term, membership, membership_index, cluster_id FROM raft_meta WHERE id = 1",
    );
    this.#setClusterId = db.prepare("UPDATE raft_meta SET cluster_id = ? WHERE id = 1");
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
}
