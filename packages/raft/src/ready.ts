import type { Entry, HardState, Message, ReadState, Snapshot, SoftState } from "./types.js";

/**
 * Everything the core asks of the driver at one point in time. The contract, in this order:
 *
 * 1. **Persist** (one transaction, fsync if `mustSync`):
 *    - `snapshot`, if present: install it in storage (it replaces the log) and restore the state
 *      machine from it;
 *    - `entries`: append them, first discarding stored entries at or after `entries[0].index`;
 *    - `hardState`, if present: store it.
 *    Raft §5.1: term and vote must be durable before any message that depends on them leaves,
 *    and entries before they are acknowledged.
 * 2. **Send** `messages`, in any order, batched as you like; losing some is fine (Raft retries).
 *    A `Snap` message is streamed in chunks; report its outcome with `reportSnapshot`.
 * 3. **Apply** `committedEntries` to the state machine in order (they are durable by now), storing
 *    the applied index with each one. `normal` entries carry commands; `confChange` entries carry
 *    the new configuration (already in effect in the core) for the application's records; `noop`
 *    entries only advance the applied index.
 * 4. Serve `readStates`: each read may be answered once the applied index reaches its `index`.
 * 5. Call `advance()`. Only then may `ready()` be called again.
 *
 * `softState` is informational (role and leader changes) and needs no persistence.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** Term, vote or entries changed: the write must be fsynced before sending. */
  readonly mustSync: boolean;
}
