/**
 * Dedup against GC, exhaustively: every interleaving of writers' {dedup check, upload, commit} with
 * GC's {mark, delete blobs, forget} (grace 0) and object deletes, on one chunk, replayed on a real
 * manifest with a model backend. After each schedule: every live chunk row has its blob (so no
 * object references a missing blob), and the manifest's own invariants hold.
 *
 * The writer model follows packages/server/src/engine/chunk-writer.ts: the dedup check sees the
 * chunk live (dedup hit: no upload, provenance `uploaded: false`) or not (upload after waiting out
 * `deleting`; provenance `uploaded: true` with the index of the read that found it not deleting).
 * GC follows packages/server/src/gc/run.ts: mark what is garbage, list `deleting`, delete those
 * blobs, forget what was deleted.
 *
 * The same schedules run once more with the provenance stripped (the pre-fence behaviour): some
 * must then end with a live reference to a deleted blob, which shows the check can fail.
 *
 * The sweep (packages/server/src/gc/sweep.ts) joins as a further actor: it lists the backend, sees
 * the chunk's object while no chunk row owns its name tag (an orphan, grace 0), fences the tag
 * (MarkSweeping), deletes the object, clears the fence (ClearSweeping); a later run finishes a
 * crashed run's fence. The writer here does *not* wait out a sweep (the real one does, as a
 * courtesy): safety must come from apply alone. Without MarkSweeping/ClearSweeping (the old sweep:
 * list, then delete) some schedule ends with a live reference to the deleted object.
 *
 * Object names: every scenario runs twice, with per-upload object names (what the chunk writer does:
 * the name tag + a nonce per upload, so each upload is its own backend object) and with the shared
 * name of builds before them (the bare name tag: every upload of the content is the same object).
 * Both must be safe with one deleter at a time. The late-delete scenarios drop that assumption: a
 * deposed leader's GC (or sweep) lists what to delete, and its delete lands at any later point,
 * after a new leader's run finished the job and writers stored the content again. Only per-upload
 * names survive every such schedule.
 */
import { describe, expect, it } from "vitest";
import type { ChunkRef } from "./commands.js";
import { Manifest } from "./manifest.js";
import { chunk, Log, put } from "./test-support.js";

const C = chunk("the-chunk", 100, ["local"]);

type Step = () => boolean; // false: not enabled now (the schedule is skipped)
interface Actor {
  readonly steps: readonly Step[];
}

interface World {
  readonly m: Manifest;
  readonly log: Log;
  /** The model backend: the object names stored (all of them the chunk's content). */
  readonly blobs: Set<string>;
  clock: number;
  readonly fenced: boolean;
  /** Per-upload object names (tag + nonce) rather than the bare name tag. */
  readonly perUpload: boolean;
  /** Uploads so far (the nonce source). */
  uploads: number;
  /** Writer commits refused with ChunkDeleting (the writer would re-upload). */
  refused: number;
}

function writer(w: World, key: string): Actor {
  let ref: ChunkRef | undefined;
  let needsUpload = false;
  return {
    steps: [
      () => {
        // Dedup check (sealStream's isKnown + #storedRef).
        const row = w.m.getChunk(C.hash);
        if (row?.state === "live") {
          ref = {
            ...C,
            nameTag: row.nameTag,
            locations: row.locations,
            uploaded: false,
            seenIndex: w.log.index,
          };
        } else needsUpload = true;
        return true;
      },
      () => {
        if (!needsUpload) return true;
        // #awaitNotDeleting: blocked while GC holds the chunk.
        if (w.m.getChunk(C.hash)?.state === "deleting") return false;
        const name = uploadName(w);
        ref = { ...C, nameTag: name, uploaded: true, seenIndex: w.log.index };
        w.blobs.add(name);
        return true;
      },
      () => {
        if (ref === undefined) throw new Error("commit before check");
        const sent: ChunkRef = w.fenced
          ? ref
          : {
              hash: ref.hash,
              size: ref.size,
              sealedSize: ref.sealedSize,
              keyId: ref.keyId,
              compressed: ref.compressed,
              nameTag: ref.nameTag,
              locations: ref.locations,
            };
        const r = w.log.apply(put("b", key, [sent], ++w.clock));
        if (!r.ok) {
          if (r.code !== "ChunkDeleting") throw new Error(`unexpected refusal ${r.code}`);
          w.refused++;
        }
        return true;
      },
    ],
  };
}

/** The object name of the next upload (chunk-writer.ts: `chunkObjectName(tag, nonce)`). */
function uploadName(w: World): string {
  return w.perUpload ? C.nameTag + (++w.uploads).toString(16).padStart(16, "0") : C.nameTag;
}

function gc(w: World, cycles: number): Actor {
  const steps: Step[] = [];
  for (let i = 0; i < cycles; i++) {
    let deleted: { hash: string; nameTag: string }[] = [];
    steps.push(
      markGarbage(w),
      () => {
        deleted = w.m.listDeletingChunks();
        for (const c of deleted) w.blobs.delete(c.nameTag);
        return true;
      },
      () => {
        if (deleted.length > 0) w.log.ok({ type: "ForgetChunks", hashes: deleted.map((c) => c.hash) });
        return true;
      },
    );
  }
  return { steps };
}

function markGarbage(w: World): Step {
  return () => {
    const garbage = w.m.listGarbageChunks({ olderThanMs: w.clock }).map((c) => c.hash);
    if (garbage.length > 0) {
      w.log.ok({ type: "MarkChunksDeleting", hashes: garbage, nowMs: w.clock, graceMs: 0 });
    }
    return true;
  };
}

/**
 * A GC run on a leader about to be deposed: it marks and lists what to delete, then stalls; its
 * delete request lands at any later point (the last step). Meanwhile a new leader's run (`gc`)
 * finds the chunks `deleting`, deletes and forgets them.
 */
function lateGc(w: World): Actor {
  let names: string[] = [];
  return {
    steps: [
      markGarbage(w),
      () => {
        names = w.m.listDeletingChunks().map((c) => c.nameTag);
        return true;
      },
      () => {
        for (const n of names) w.blobs.delete(n);
        return true;
      },
    ],
  };
}

/** The sweep of one backend object (the chunk's name tag), fenced or (old behaviour) not. */
function sweeper(w: World, fenced: boolean): Actor {
  let candidates: string[] = [];
  let fencedTags: readonly string[] = [];
  const list: Step = () => {
    // Listed (grace 0) and unknown to the manifest: orphans to the sweep.
    candidates = [...w.blobs].filter((n) => !w.m.hasNameTag(n)).sort();
    return true;
  };
  if (!fenced) {
    return {
      steps: [
        list,
        () => {
          for (const n of candidates) w.blobs.delete(n);
          return true;
        },
      ],
    };
  }
  return {
    steps: [
      list,
      () => {
        if (candidates.length > 0)
          fencedTags = w.log.ok({ type: "MarkSweeping", nameTags: candidates }).nameTags ?? [];
        return true;
      },
      () => {
        for (const n of fencedTags) w.blobs.delete(n);
        return true;
      },
      () => {
        if (fencedTags.length > 0) w.log.ok({ type: "ClearSweeping", nameTags: fencedTags });
        return true;
      },
    ],
  };
}

/**
 * A sweep on a leader about to be deposed: it lists and fences its candidates, then stalls; its
 * delete lands at any later point. A new leader's sweep (`sweeper`) meanwhile finishes or redoes it.
 */
function lateSweep(w: World): Actor {
  const [list, fence] = sweeper(w, true).steps;
  let fenced: string[] = [];
  return {
    steps: [
      () => list!() && fence!(),
      () => {
        fenced = w.m.listSweepingNameTags();
        return true;
      },
      () => {
        for (const n of fenced) w.blobs.delete(n);
        return true;
      },
    ],
  };
}

/** A sweep killed after its delete (no clear), then the next run finishing the fence it left. */
function crashedSweepThenResume(w: World): Actor {
  const crashed = sweeper(w, true).steps.slice(0, 3);
  let tags: readonly string[] = [];
  return {
    steps: [
      ...crashed,
      () => {
        tags = w.m.listSweepingNameTags();
        return true;
      },
      () => {
        for (const n of tags) w.blobs.delete(n);
        return true;
      },
      () => {
        if (tags.length > 0) w.log.ok({ type: "ClearSweeping", nameTags: tags });
        return true;
      },
    ],
  };
}

function deleter(w: World, key: string): Actor {
  return {
    steps: [
      () => {
        w.log.apply({ type: "DeleteObject", bucket: "b", key, atMs: ++w.clock });
        return true;
      },
    ],
  };
}

const LONG = process.env.ENIGMA_LONG === "1";

/** The writer with its dedup check and upload as one atomic step. */
function fused(a: Actor): Actor {
  const [check, upload, ...rest] = a.steps;
  if (check === undefined || upload === undefined) throw new Error("not a writer");
  return { steps: [() => check() && upload(), ...rest] };
}

/** One actor doing a's steps, then b's. */
function sequence(a: Actor, b: Actor): Actor {
  return { steps: [...a.steps, ...b.steps] };
}

/** Every interleaving of actors with these step counts, as sequences of actor indexes. */
function* schedules(counts: readonly number[]): Generator<number[]> {
  const left = [...counts];
  const total = left.reduce((a, b) => a + b, 0);
  const seq: number[] = [];
  function* rec(): Generator<number[]> {
    if (seq.length === total) {
      yield [...seq];
      return;
    }
    for (let a = 0; a < left.length; a++) {
      if (left[a] === 0) continue;
      left[a]!--;
      seq.push(a);
      yield* rec();
      seq.pop();
      left[a]!++;
    }
  }
  yield* rec();
}

/** orphan: no chunk row, but the backend holds the chunk's object (a failed PUT's leftover). */
type Initial = "absent" | "garbage" | "referenced" | "orphan";

interface Scenario {
  readonly name: string;
  readonly initial: Initial;
  readonly actors: (w: World) => Actor[];
}

interface Outcome {
  readonly schedules: number;
  readonly skipped: number;
  readonly violations: string[];
  readonly refused: number;
}

/**
 * One manifest per scenario (opening one costs ~10 ms; there are thousands of schedules): between
 * schedules every object is deleted and the chunk collected and forgotten through commands, which
 * leaves only a tombstone older than any later observation, i.e. the same starting state.
 */
function open(fenced: boolean, perUpload: boolean): World {
  const m = Manifest.openInMemory();
  const log = new Log(m);
  log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  return { m, log, blobs: new Set(), clock: 10, fenced, perUpload, uploads: 0, refused: 0 };
}

function reset(w: World, initial: Initial): void {
  for (const key of ["k0", "w", "v"])
    w.log.apply({ type: "DeleteObject", bucket: "b", key, atMs: ++w.clock });
  const row = w.m.getChunk(C.hash);
  if (row?.state === "live") {
    w.log.ok({ type: "MarkChunksDeleting", hashes: [C.hash], nowMs: w.clock, graceMs: 0 });
  }
  if (row !== undefined) w.log.ok({ type: "ForgetChunks", hashes: [C.hash] });
  if (w.m.getChunk(C.hash) !== undefined) throw new Error("reset failed");
  const sweeping = w.m.listSweepingNameTags();
  if (sweeping.length > 0) w.log.ok({ type: "ClearSweeping", nameTags: sweeping });
  w.blobs.clear();
  if (initial === "orphan") w.blobs.add(uploadName(w));
  w.refused = 0;
  if (initial === "garbage" || initial === "referenced") {
    const name = uploadName(w);
    w.blobs.add(name);
    w.log.ok(put("b", "k0", [{ ...C, nameTag: name, uploaded: true, seenIndex: w.log.index }], ++w.clock));
    if (initial === "garbage") w.log.ok({ type: "DeleteObject", bucket: "b", key: "k0", atMs: ++w.clock });
  }
}

function explore(s: Scenario, fenced: boolean, perUpload: boolean, stopAtFirst = false): Outcome {
  let n = 0;
  let skipped = 0;
  let refused = 0;
  const violations: string[] = [];
  const w = open(fenced, perUpload);
  const counts = s.actors(w).map((a) => a.steps.length);
  for (const order of schedules(counts)) {
    reset(w, s.initial);
    const actors = s.actors(w);
    const next = actors.map(() => 0);
    let ok = true;
    for (const a of order) {
      const step = actors[a]!.steps[next[a]!]!;
      next[a]!++;
      if (!step()) {
        ok = false;
        break;
      }
    }
    if (!ok) {
      skipped++;
      continue;
    }
    n++;
    const row = w.m.getChunk(C.hash);
    const objects = w.m.listObjects({ bucket: "b" }).contents.length;
    if (row?.state === "live" && !w.blobs.has(row.nameTag)) {
      violations.push(
        `${order.join("")}: live chunk (refcount ${row.refcount}, ${objects} objects) without blob`,
      );
    }
    if (row === undefined && objects > 0) violations.push(`${order.join("")}: objects without chunk row`);
    const inv = w.m.checkInvariants();
    if (inv.length > 0) violations.push(`${order.join("")}: ${inv.join("; ")}`);
    refused += w.refused;
    if (stopAtFirst && violations.length > 0) break;
  }
  w.m.close();
  return { schedules: n, skipped, violations, refused };
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: "writer vs one GC cycle, chunk garbage at start",
    initial: "garbage",
    actors: (w) => [writer(w, "w"), gc(w, 1)],
  },
  {
    name: "writer vs GC while the last reference is deleted",
    initial: "referenced",
    actors: (w) => [writer(w, "w"), deleter(w, "k0"), gc(w, 1)],
  },
  {
    name: "two writers of the same chunk, one deleted again, GC with grace 0",
    initial: "absent",
    actors: (w) => [writer(w, "w"), sequence(writer(w, "v"), deleter(w, "v")), gc(w, 1)],
  },
  {
    // The re-creating writer's check+upload is one step by default (4,620 schedules); ENIGMA_LONG=1
    // splits it (18,480 schedules, ~1 min on a loaded 2-core machine).
    name: "writer vs two GC cycles and a writer that re-creates the chunk in between",
    initial: "garbage",
    actors: (w) => [writer(w, "w"), gc(w, 2), LONG ? writer(w, "v") : fused(writer(w, "v"))],
  },
];

const SWEEP_SCENARIOS: readonly Scenario[] = [
  {
    name: "writer vs the sweep of an orphan of the same content",
    initial: "orphan",
    actors: (w) => [writer(w, "w"), sweeper(w, true)],
  },
  {
    name: "writer vs two sweeps in a row (a swept tag fenced again)",
    initial: "orphan",
    actors: (w) => [writer(w, "w"), sequence(sweeper(w, true), sweeper(w, true))],
  },
  {
    name: "writer vs a sweep killed after its delete and the run that finishes its fence",
    initial: "orphan",
    actors: (w) => [writer(w, "w"), crashedSweepThenResume(w)],
  },
  {
    // Check+upload fused by default (1,260 schedules); ENIGMA_LONG=1 splits it (4,200).
    name: "writer vs the sweep vs one GC cycle, chunk garbage at start",
    initial: "garbage",
    actors: (w) => [LONG ? writer(w, "w") : fused(writer(w, "w")), sweeper(w, true), gc(w, 1)],
  },
  {
    // Fused writers by default (1,260 schedules); ENIGMA_LONG=1 splits them (11,550).
    name: "two writers of the same content, one deleted again, vs the sweep of its orphan",
    initial: "orphan",
    actors: (w) => {
      const f = (a: Actor) => (LONG ? a : fused(a));
      return [f(writer(w, "w")), sequence(f(writer(w, "v")), deleter(w, "v")), sweeper(w, true)];
    },
  },
];

const NAMINGS = [
  { perUpload: true, label: "per-upload names" },
  { perUpload: false, label: "shared names (before nonces)" },
] as const;

function report(s: Scenario, label: string, r: Outcome): void {
  console.log(
    `${s.name} [${label}]: ${r.schedules} schedules (${r.skipped} blocked), ${r.refused} commits refused`,
  );
}

for (const { perUpload, label } of NAMINGS) {
  describe(`dedup against GC: every interleaving, ${label}`, () => {
    for (const s of SCENARIOS) {
      it(s.name, () => {
        const r = explore(s, true, perUpload);
        report(s, label, r);
        expect(r.schedules).toBeGreaterThan(0);
        expect(r.violations).toEqual([]);
        if (s.initial !== "referenced") expect(r.refused).toBeGreaterThan(0); // the fence was exercised
      });
    }

    it("without provenance (the old behaviour) some interleaving loses the blob", () => {
      // Two writers, one object deleted again, GC with grace 0: the hole the provenance closes.
      const bad = explore(SCENARIOS[2]!, false, perUpload, true).violations;
      console.log(`unfenced [${label}]: ${bad[0]}`);
      expect(bad.length).toBeGreaterThan(0);
    });
  });

  describe(`writers against the sweep: every interleaving, ${label}`, () => {
    for (const s of SWEEP_SCENARIOS) {
      it(s.name, () => {
        const r = explore(s, true, perUpload);
        report(s, label, r);
        expect(r.schedules).toBeGreaterThan(0);
        expect(r.violations).toEqual([]);
        expect(r.refused).toBeGreaterThan(0); // the fence was exercised
      });
    }

    it("without the sweep fence (list, then delete) some interleaving loses the blob", () => {
      const bad = explore(
        { name: "unfenced sweep", initial: "orphan", actors: (w) => [writer(w, "w"), sweeper(w, false)] },
        true,
        perUpload,
        true,
      ).violations;
      console.log(`unfenced sweep [${label}]: ${bad[0]}`);
      expect(bad.length).toBeGreaterThan(0);
    });
  });
}

/** A deposed leader's delete landing late, against a new leader's run and a writer (see the top). */
const LATE_DELETE_SCENARIOS: readonly Scenario[] = [
  {
    name: "writer vs a new leader's GC run vs the old leader's late delete, chunk garbage at start",
    initial: "garbage",
    actors: (w) => [writer(w, "w"), gc(w, 1), lateGc(w)],
  },
  {
    name: "writer vs a new leader's sweep vs the old leader's late sweep delete, orphan at start",
    initial: "orphan",
    actors: (w) => [writer(w, "w"), sweeper(w, true), lateSweep(w)],
  },
];

describe("late deletes (two deleters): every interleaving", () => {
  for (const s of LATE_DELETE_SCENARIOS) {
    it(`${s.name}: per-upload names lose nothing`, () => {
      const r = explore(s, true, true);
      report(s, "per-upload names", r);
      expect(r.schedules).toBeGreaterThan(0);
      expect(r.violations).toEqual([]);
    });

    it(`${s.name}: shared names lose the blob in some interleaving`, () => {
      const bad = explore(s, true, false, true).violations;
      console.log(`${s.name} [shared names]: ${bad[0]}`);
      expect(bad.length).toBeGreaterThan(0);
    });
  }
});
