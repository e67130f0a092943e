/**
 * Chunk reference counting. Every command that adds references goes through `acquire`, every one
 * that drops them through `release`, in the same transaction as the rows that hold the references.
 * refcount == number of rows in object_chunks + part_chunks + backup_file_chunks +
 * backup_stream_chunks naming the chunk (checked by invariants.ts and the property test).
 */
import type Database from "better-sqlite3";
import type { ChunkRef } from "../commands.js";
import { assertInvariant } from "../errors.js";
import type { FeatureLevel } from "./features.js";
import { type ApplyContext, refuse } from "./refusal.js";

interface ChunkHead {
  readonly state: "live" | "deleting";
  readonly size: number;
  readonly locations: string;
  readonly name_tag: string;
}

interface Pending {
  readonly first: ChunkRef;
  count: number;
  readonly locations: Set<string>;
  /** Some ref for this hash claims its own upload (or carries no provenance: legacy, unfenced). */
  uploaded: boolean;
  /** The oldest observation among the refs with provenance (conservative); undefined: none. */
  seenIndex: number | undefined;
  /** Every ref for this hash carries provenance. */
  fenced: boolean;
}

/** Why a reference cannot be accepted: GC deleted (or may have deleted) the blob it names. */
const GONE_MESSAGE = "chunk(s) are being or were garbage-collected since the writer looked; re-upload them";

export class ChunkRefs {
  readonly #select: Database.Statement<[string], ChunkHead>;
  readonly #features: FeatureLevel;
  readonly #insert: Database.Statement<[string, number, number, number, number, string, string, number]>;
  readonly #addRefs: Database.Statement<[number, string, string]>;
  readonly #retain: Database.Statement<[number, string]>;
  readonly #tombstone: Database.Statement<[string], { forgotten_index: number }>;
  readonly #horizon: Database.Statement<[], { tombstone_horizon_index: number }>;
  readonly #swept: Database.Statement<
    [string],
    { state: "sweeping" | "swept"; cleared_index: number | null }
  >;
  readonly #release: Database.Statement<
    { hash: string; n: number; atMs: number; index: number },
    { refcount: number }
  >;

  constructor(db: Database.Database, features: FeatureLevel) {
    this.#features = features;
    this.#select = db.prepare("SELECT state, size, locations, name_tag FROM chunks WHERE hash = ?");
    this.#insert = db.prepare(
      `INSERT INTO chunks (hash, size, sealed_size, key_id, compressed, name_tag, locations, refcount,
         state, zero_since_ms, zero_since_index)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'live', NULL, NULL)`,
    );
    this.#addRefs = db.prepare(
      `UPDATE chunks SET refcount = refcount + ?, locations = ?, zero_since_ms = NULL,
         zero_since_index = NULL
       WHERE hash = ?`,
    );
    this.#retain = db.prepare(
      `UPDATE chunks SET refcount = refcount + ?, zero_since_ms = NULL, zero_since_index = NULL
       WHERE hash = ? AND state = 'live' AND refcount > 0`,
    );
    this.#tombstone = db.prepare("SELECT forgotten_index FROM chunk_tombstones WHERE hash = ?");
    this.#horizon = db.prepare("SELECT tombstone_horizon_index FROM gc_meta WHERE id = 1");
    this.#swept = db.prepare("SELECT state, cleared_index FROM swept_name_tags WHERE name_tag = ?");
    this.#release = db.prepare(
      `UPDATE chunks SET refcount = refcount - @n,
         zero_since_ms = CASE WHEN refcount = @n THEN @atMs ELSE zero_since_ms END,
         zero_since_index = CASE WHEN refcount = @n THEN @index ELSE zero_since_index END
       WHERE hash = @hash AND refcount >= @n
       RETURNING refcount`,
    );
  }

  /**
   * Adds one reference per element of `refs` (a hash listed twice counts twice). Unknown chunks are
   * inserted with the first ref's sealed-blob metadata; known ones keep theirs but gain the
   * locations of a fresh upload. Refuses the whole command with InvalidArgument if a ref disagrees
   * with the stored plaintext size (same hash, same plaintext: a writer bug), and with
   * ChunkDeleting + hashes (retriable: the writer re-uploads) when GC may have removed a blob the
   * command relies on (DESIGN.md "Dedup against GC"):
   *   - the chunk is `deleting` (GC is deleting its blob now);
   *   - a dedup hit (`uploaded: false`) whose row is gone (GC forgot it after the writer looked);
   *   - an upload whose row is gone and that was forgotten after `seenIndex` (or whose observation
   *     is older than the tombstone horizon): GC's delete of the same backend key may have come
   *     after our upload.
   * The sweep fence (DESIGN.md "Sweep against writers") by name tag, the backend key: a reference
   * whose name tag a sweep is deleting now (`sweeping`, whatever the provenance) is refused, and a
   * swept tag's tombstone counts like a forget for the `seenIndex` check.
   * An upload whose chunk was forgotten (or its name tag swept) after `seenIndex` but exists live
   * again (re-created by a writer that looked later) is accepted like a dedup hit: its own
   * locations are not merged in.
   */
  acquire(refs: readonly ChunkRef[]): void {
    if (refs.length === 0) return;
    const pending = new Map<string, Pending>();
    for (const ref of refs) {
      const fenced = ref.uploaded !== undefined && ref.seenIndex !== undefined;
      const uploaded = ref.uploaded !== false;
      const p = pending.get(ref.hash);
      if (p === undefined) {
        pending.set(ref.hash, {
          first: ref,
          count: 1,
          locations: new Set(uploaded ? ref.locations : []),
          uploaded,
          seenIndex: fenced ? ref.seenIndex : undefined,
          fenced,
        });
      } else {
        if (p.first.size !== ref.size) {
          refuse("InvalidArgument", `chunk ${ref.hash} listed with two different sizes`);
        }
        if (p.first.nameTag !== ref.nameTag) {
          refuse("InvalidArgument", `chunk ${ref.hash} listed with two different name tags`);
        }
        p.count++;
        if (uploaded) for (const l of ref.locations) p.locations.add(l);
        p.uploaded ||= uploaded;
        p.fenced &&= fenced;
        if (fenced && ref.seenIndex !== undefined) {
          p.seenIndex = p.seenIndex === undefined ? ref.seenIndex : Math.min(p.seenIndex, ref.seenIndex);
        }
      }
    }
    const heads = new Map<string, ChunkHead>();
    const gone: string[] = [];
    /** Hashes whose fresh locations must not be merged (GC may have deleted them). */
    const stale = new Set<string>();
    const horizon = this.#horizon.get()?.tombstone_horizon_index ?? 0;
    for (const [hash, p] of pending) {
      const head = this.#select.get(hash);
      if (head !== undefined) heads.set(hash, head);
      const swept = this.#swept.get(p.first.nameTag);
      if (head?.state === "deleting" || swept?.state === "sweeping") {
        gone.push(hash);
        continue;
      }
      if (head !== undefined && head.size !== p.first.size) {
        refuse(
          "InvalidArgument",
          `chunk ${hash} has size ${head.size} in the manifest but ${p.first.size} in the command`,
        );
      }
      if (!p.fenced || p.seenIndex === undefined) continue; // legacy ref: no provenance, no fence
      const forgottenSinceSeen =
        p.seenIndex < horizon ||
        (this.#tombstone.get(hash)?.forgotten_index ?? -1) > p.seenIndex ||
        (swept?.cleared_index ?? -1) > p.seenIndex;
      if (head === undefined) {
        if (!p.uploaded || forgottenSinceSeen) gone.push(hash);
      } else if (forgottenSinceSeen) stale.add(hash);
    }
    if (gone.length > 0) refuse("ChunkDeleting", `${gone.length} ${GONE_MESSAGE}`, gone);
    for (const [hash, p] of pending) {
      const head = heads.get(hash);
      if (head === undefined) {
        const r = p.first;
        this.#insert.run(
          hash,
          r.size,
          r.sealedSize,
          r.keyId,
          r.compressed ? 1 : 0,
          r.nameTag,
          encodeLocations(p.locations.size > 0 ? p.locations : r.locations),
          p.count,
        );
      } else {
        const merged = new Set<string>(JSON.parse(head.locations) as string[]);
        // From feature level 2 an upload under another name than the row's (two writers racing on
        // new content) adds no locations: the providers it wrote hold its name, not the row's, and
        // its object is an orphan for the sweep. Below it, every replica merges as older builds do.
        const otherName = head.name_tag !== p.first.nameTag && this.#features.has("exactLocations");
        if (!stale.has(hash) && !otherName) for (const l of p.locations) merged.add(l);
        this.#addRefs.run(p.count, encodeLocations(merged), hash);
      }
    }
  }

  /**
   * Adds references to chunks that are already referenced (copying an object's chunk list): they are
   * live by construction, so there is nothing to refuse.
   */
  retain(counts: Iterable<{ readonly hash: string; readonly n: number }>): void {
    for (const { hash, n } of counts) {
      const changes = this.#retain.run(n, hash).changes;
      assertInvariant(changes === 1, `retaining chunk ${hash} that is not referenced and live`);
    }
  }

  /** Drops `n` references per hash; a chunk reaching 0 records the command's time and log index. */
  release(counts: Iterable<{ readonly hash: string; readonly n: number }>, atMs: number, ctx: ApplyContext) {
    for (const { hash, n } of counts) {
      const row = this.#release.get({ hash, n, atMs, index: ctx.index });
      assertInvariant(
        row !== undefined,
        `releasing ${n} reference(s) to chunk ${hash} below zero or unknown`,
      );
    }
  }
}

/** Locations are stored as a sorted JSON array, so merge order never changes the stored text. */
function encodeLocations(locations: Iterable<string>): string {
  return JSON.stringify([...locations].sort());
}

/** Groups an ordered hash list into per-hash reference counts (first-appearance order). */
export function countHashes(hashes: readonly string[]): { hash: string; n: number }[] {
  const m = new Map<string, number>();
  for (const h of hashes) m.set(h, (m.get(h) ?? 0) + 1);
  return [...m].map(([hash, n]) => ({ hash, n }));
}
