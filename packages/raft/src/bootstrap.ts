import { normalizeConfState } from "./conf-change.js";
import { encodeConfChangeEntry } from "./conf-change-codec.js";
import { assert } from "./errors.js";
import type { ConfState, Entry, HardState } from "./types.js";

/**
 * What a fresh cluster member writes to its empty storage before it first starts: one committed
 * configuration entry at index 1, term 1, naming the initial configuration. Every initial member
 * (a StatefulSet's ordinals) writes the same bytes, so their logs match from the start, and a
 * node that joins later receives that entry (or a snapshot covering it) like any other.
 *
 * A node joining an existing cluster writes nothing: it starts with an empty log and an empty
 * configuration, is added by the leader as a learner, and receives the log or a snapshot.
 */
export function bootstrapState(confState: ConfState): { entries: Entry[]; hardState: HardState } {
  const conf = normalizeConfState(confState);
  assert(conf.voters.length > 0, "bootstrap configuration needs at least one voter");
  assert(
    conf.voters.every((v) => Number.isSafeInteger(v) && v > 0) &&
      conf.learners.every((l) => !conf.voters.includes(l)),
    "bootstrap configuration: ids must be positive and voters and learners disjoint",
  );
  const entry: Entry = {
    term: 1,
    index: 1,
    type: "confChange",
    data: encodeConfChangeEntry({ change: undefined, conf }),
  };
  return { entries: [entry], hardState: { term: 1, vote: 0, commit: 1 } };
}
