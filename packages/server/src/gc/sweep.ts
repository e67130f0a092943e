/**
 * GC's sweep: backend objects the manifest does not know (left by failed or abandoned PUTs) are
 * removed once older than the sweep grace period — fenced like the chunk phase (manifest DESIGN.md
 * "Sweep against writers"):
 *
 *   1. list each backend; an object past the grace period whose name tag no chunk row owns is a
 *      candidate;
 *   2. `MarkSweeping` (a batch of at most SWEEP_BATCH_NAME_TAGS tags): apply fences the tags still
 *      unknown (the result); from now on any command referencing one of them is refused
 *      (ChunkDeleting, retriable: the writer re-uploads);
 *   3. delete the candidates whose tag was fenced (others became live meanwhile: kept);
 *   4. `ClearSweeping` the tags whose deletes all succeeded: each leaves a tombstone, so a writer
 *      that uploaded the same object before the clear (observation older than it) is refused too.
 *
 * A tag whose delete failed stays fenced; each non-dry sweep first finishes fences a crashed or
 * failed run left (delete the tag's object on every backend — no chunk row owns it and nothing can
 * reference it while fenced — then clear). Safety no longer depends on the grace period; it still
 * keeps in-flight uploads from being swept and re-uploaded (hence the 1 h floor by default).
 */
import type { SweepReport, SweptObject } from "@enigma/storage";
import { chunkObjectKey, listOrphans, StorageError } from "@enigma/storage";
import { proposeOrThrow } from "../engine/committer.js";
import type { Engine } from "../engine/engine.js";
import { crashPoint } from "./crash-point.js";
import type { GcReport } from "./report.js";

export const SWEEP_MIN_GRACE_MS = 60 * 60 * 1000;
/** Name tags per MarkSweeping / ClearSweeping command (≤ the codec's MAX_SWEEP_NAME_TAGS). */
export const SWEEP_BATCH_NAME_TAGS = 500;
/** Orphans the report lists by key (all are counted). */
export const SWEEP_REPORT_LIMIT = 1000;

export interface SweepResult {
  readonly report: GcReport["sweep"];
  /** Per provider: unknown objects removed (or, dry, that would be). */
  readonly swept: ReadonlyMap<string, { objects: number; bytes: number }>;
}

type MutableReport = SweepReport & { resumedFences: number };

export async function sweep(
  engine: Engine,
  opts: { readonly dryRun: boolean; readonly sweepGraceMs?: number },
  nowMs: number,
): Promise<SweepResult> {
  if (opts.sweepGraceMs === undefined) return { report: undefined, swept: new Map() };
  const report: MutableReport = {
    dryRun: opts.dryRun,
    scannedObjects: 0,
    orphanObjects: 0,
    orphanBytes: 0,
    orphans: [],
    deletedObjects: 0,
    deletedBytes: 0,
    keptReferenced: 0,
    keptYoung: 0,
    ignoredForeign: 0,
    errors: [],
    resumedFences: 0,
  };
  const swept = new Map<string, { objects: number; bytes: number }>();
  const count = (o: SweptObject) => {
    report.orphanObjects++;
    report.orphanBytes += o.sizeBytes;
    if (report.orphans.length < SWEEP_REPORT_LIMIT) report.orphans.push(o);
    const s = swept.get(o.provider) ?? { objects: 0, bytes: 0 };
    s.objects++;
    s.bytes += o.sizeBytes;
    swept.set(o.provider, s);
  };
  if (!opts.dryRun) await finishFences(engine, report);

  const cutoffMs = nowMs - opts.sweepGraceMs;
  for (const backend of engine.backends) {
    const provider = backend.name;
    let batch: SweptObject[] = [];
    const tags = new Set<string>();
    /** A proposal failed (no leader, paused, …): the run fails; listing errors do not. */
    let fatal: { err: unknown } | undefined;
    const flush = async () => {
      if (batch.length === 0) return;
      const candidates = batch;
      batch = [];
      tags.clear();
      try {
        await deleteFenced(engine, backend, candidates, report, count);
      } catch (err) {
        fatal = { err };
        throw err;
      }
    };
    try {
      const isKnown = (tag: string) => engine.manifest.hasNameTag(tag);
      for await (const orphan of listOrphans(backend, { isKnown, cutoffMs }, report)) {
        if (opts.dryRun) {
          count(orphan);
          continue;
        }
        batch.push(orphan);
        tags.add(orphan.chunkName);
        if (tags.size >= SWEEP_BATCH_NAME_TAGS) await flush();
      }
      await flush();
    } catch (raw) {
      if (fatal !== undefined) throw fatal.err;
      const e = StorageError.from(raw, provider);
      report.errors.push({ provider, code: e.code, message: e.message });
    }
  }
  const { orphans: _listed, ...rest } = report;
  return { report: { ...rest, graceMs: opts.sweepGraceMs }, swept };
}

/** Steps 2–4 for one batch of candidates on one backend. */
async function deleteFenced(
  engine: Engine,
  backend: Engine["backends"][number],
  candidates: readonly SweptObject[],
  report: MutableReport,
  count: (o: SweptObject) => void,
): Promise<void> {
  const tags = [...new Set(candidates.map((c) => c.chunkName))];
  const res = await proposeOrThrow(engine.committer, { type: "MarkSweeping", nameTags: tags });
  const fenced = new Set(res.nameTags ?? []);
  crashPoint("sweep-after-mark");
  const failed = new Set<string>();
  for (const c of candidates) {
    if (!fenced.has(c.chunkName)) {
      // A chunk row owns the tag now (committed between the listing and the mark): live data.
      report.keptReferenced++;
      continue;
    }
    count(c);
    try {
      await backend.delete(c.key);
      report.deletedObjects++;
      report.deletedBytes += c.sizeBytes;
    } catch (raw) {
      // Left fenced: the next sweep deletes it again and clears.
      failed.add(c.chunkName);
      const e = StorageError.from(raw, backend.name);
      report.errors.push({ provider: backend.name, key: c.key, code: e.code, message: e.message });
    }
  }
  crashPoint("sweep-after-delete");
  const done = [...fenced].filter((t) => !failed.has(t));
  if (done.length > 0) await proposeOrThrow(engine.committer, { type: "ClearSweeping", nameTags: done });
}

/** Fences an earlier run left (crash, failed delete): delete the tag's object everywhere, clear. */
async function finishFences(engine: Engine, report: MutableReport): Promise<void> {
  let after = "";
  for (;;) {
    const tags = engine.manifest.listSweepingNameTags({ afterNameTag: after, limit: SWEEP_BATCH_NAME_TAGS });
    if (tags.length === 0) return;
    after = tags[tags.length - 1]!;
    const done: string[] = [];
    for (const tag of tags) {
      const key = chunkObjectKey(tag);
      let ok = true;
      for (const backend of engine.backends) {
        try {
          await backend.delete(key);
        } catch (raw) {
          ok = false;
          const e = StorageError.from(raw, backend.name);
          report.errors.push({ provider: backend.name, key, code: e.code, message: e.message });
        }
      }
      if (ok) done.push(tag);
    }
    if (done.length > 0) {
      const res = await proposeOrThrow(engine.committer, { type: "ClearSweeping", nameTags: done });
      report.resumedFences += res.nameTags?.length ?? 0;
    }
    if (tags.length < SWEEP_BATCH_NAME_TAGS) return;
  }
}
