/**
 * A linearizability checker for a history of concurrent operations on S3 keys, in the style of
 * Wing & Gong's search with Lowe's memoization (as in Porcupine): find an order of the operations,
 * consistent with real time (an operation that returned before another was called comes first),
 * in which every operation's result matches a sequential register per key.
 *
 * Keys are independent objects, so each key's sub-history is checked on its own (linearizability
 * is compositional — Herlihy & Wing's locality).
 *
 * Writes (PUT, DELETE) whose outcome is unknown (timeout, 5xx, connection lost) may have taken
 * effect at any time after their call, or never: they get `returnMs = Infinity` and may be left
 * out of the order. Failed reads have no effect and are dropped before checking.
 */

export type OpKind = "put" | "get" | "delete";

export interface Operation {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly kind: OpKind;
  /** put: the value written. get: the value read (null = NoSuchKey). */
  readonly value: string | null;
  readonly callMs: number;
  /** Infinity for a write whose outcome is unknown. */
  readonly returnMs: number;
}

export interface CheckResult {
  readonly ok: boolean;
  /** For a failure: the key whose history admits no linearization, and that history. */
  readonly key?: string;
  readonly history?: readonly Operation[];
  /** Search states visited, summed over keys (for budgeting). */
  readonly statesVisited: number;
}

/** Gives up on a key after this many search states (never reached by our histories). */
const MAX_STATES_PER_KEY = 5_000_000;

export function checkHistory(ops: readonly Operation[]): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  let statesVisited = 0;
  for (const [key, list] of byKey) {
    const r = checkRegister(list);
    statesVisited += r.states;
    if (!r.ok) return { ok: false, key, history: list, statesVisited };
  }
  return { ok: true, statesVisited };
}

/** One key: a register that starts absent (null). */
export function checkRegister(history: readonly Operation[]): { ok: boolean; states: number } {
  const ops = [...history].sort((a, b) => a.callMs - b.callMs || a.returnMs - b.returnMs);
  const n = ops.length;
  const definite = ops.filter((o) => o.returnMs !== Infinity).length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let states = 0;

  // Depth-first search over "which operation is linearized next". Candidates are the pending
  // operations called before the earliest pending return (real-time order).
  const dfs = (state: string | null, definiteDone: number): boolean => {
    if (definiteDone === definite) return true; // only unknown-outcome writes remain: drop them
    const memo = `${state === null ? "\u0000" : state}|${Buffer.from(done).toString("base64")}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    if (++states > MAX_STATES_PER_KEY) throw new Error("linearizability search budget exhausted");
    let minReturn = Infinity;
    for (let i = 0; i < n; i++)
      if (done[i] === 0 && ops[i]!.returnMs < minReturn) minReturn = ops[i]!.returnMs;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if (op.callMs > minReturn) break;
      if (done[i] === 1) continue;
      let next: string | null;
      if (op.kind === "put") next = op.value;
      else if (op.kind === "delete") next = null;
      else {
        if (op.value !== state) continue;
        next = state;
      }
      done[i] = 1;
      const ok = dfs(next, definiteDone + (op.returnMs === Infinity ? 0 : 1));
      done[i] = 0;
      if (ok) return true;
    }
    return false;
  };

  return { ok: dfs(null, 0), states };
}

/** A readable rendering of a key's history, for failure messages. */
export function describeHistory(ops: readonly Operation[], t0 = 0): string {
  return [...ops]
    .sort((a, b) => a.callMs - b.callMs)
    .map((o) => {
      const ret = o.returnMs === Infinity ? "   ?    " : (o.returnMs - t0).toFixed(1).padStart(8);
      const v = o.value === null ? "∅" : o.value;
      return `  [${(o.callMs - t0).toFixed(1).padStart(8)} .. ${ret}] c${o.client} ${o.kind} ${o.key} ${v}`;
    })
    .join("\n");
}
