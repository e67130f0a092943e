import { CHUNK_KEY_PREFIX, parseChunkObjectKey, type StorageBackend, StorageError } from "./backend.js";

export interface SweepOptions {
  readonly backends: readonly StorageBackend[];
  /**
   * True when the manifest still references this chunk on this provider (any state but
   * forgotten, including "deleting", which GC's own phase removes). Called once per object.
   */
  readonly isKnown: (chunkName: string, provider: string) => boolean | Promise<boolean>;
  /**
   * Objects younger than this are kept: a chunk is uploaded before the PutObject that
   * references it commits (ARCHITECTURE §3), so the grace must exceed the longest upload.
   */
  readonly graceMs: number;
  readonly nowMs: number;
  /** How many orphans the report lists by key (all are counted). Default 1000. */
  readonly reportLimit?: number;
}

export interface SweptObject {
  readonly provider: string;
  readonly key: string;
  readonly chunkName: string;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
}

/** What a listing saw besides the orphans it yielded. */
export interface SweepCounters {
  /** Objects listed under chunks/ across all backends. */
  scannedObjects: number;
  keptReferenced: number;
  keptYoung: number;
  /** Keys under chunks/ that are not chunk keys of ours: never touched. */
  ignoredForeign: number;
}

export interface SweepReport extends SweepCounters {
  readonly dryRun: boolean;
  /** Unreferenced and older than the grace period: deleted, or would be with dryRun. */
  orphanObjects: number;
  orphanBytes: number;
  /** Up to the report limit of them. */
  readonly orphans: SweptObject[];
  /** Actually deleted (0 in a dry run). */
  deletedObjects: number;
  deletedBytes: number;
  readonly errors: {
    readonly provider: string;
    readonly key?: string;
    readonly code: string;
    readonly message: string;
  }[];
}

export const DEFAULT_SWEEP_REPORT_LIMIT = 1000;

/**
 * Lists one backend's chunk objects and yields those the manifest does not know that are older
 * than `cutoffMs` (sweep candidates). Deleting them is the caller's job, and must be fenced
 * against writers re-uploading the same object (the server's GC sweep does it through the
 * manifest); this package never deletes an orphan by itself. A listing failure is thrown.
 */
export async function* listOrphans(
  backend: StorageBackend,
  opts: Pick<SweepOptions, "isKnown"> & { readonly cutoffMs: number },
  counters: SweepCounters,
): AsyncGenerator<SweptObject> {
  const provider = backend.name;
  for await (const o of backend.list(CHUNK_KEY_PREFIX)) {
    counters.scannedObjects++;
    const chunkName = parseChunkObjectKey(o.key);
    if (chunkName === null) {
      counters.ignoredForeign++;
      continue;
    }
    if (o.lastModifiedMs > opts.cutoffMs) {
      counters.keptYoung++;
      continue;
    }
    if (await opts.isKnown(chunkName, provider)) {
      counters.keptReferenced++;
      continue;
    }
    yield { provider, key: o.key, chunkName, sizeBytes: o.sizeBytes, lastModifiedMs: o.lastModifiedMs };
  }
}

/**
 * A dry-run report of every backend's orphans (diagnostics, tests). A provider that cannot be
 * listed is recorded in `errors` and the others are still listed.
 */
export async function findOrphans(opts: SweepOptions): Promise<SweepReport> {
  const limit = opts.reportLimit ?? DEFAULT_SWEEP_REPORT_LIMIT;
  const report: SweepReport = {
    dryRun: true,
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
  };
  const cutoffMs = opts.nowMs - opts.graceMs;
  for (const backend of opts.backends) {
    try {
      for await (const o of listOrphans(backend, { isKnown: opts.isKnown, cutoffMs }, report)) {
        report.orphanObjects++;
        report.orphanBytes += o.sizeBytes;
        if (report.orphans.length < limit) report.orphans.push(o);
      }
    } catch (raw) {
      const e = StorageError.from(raw, backend.name);
      report.errors.push({ provider: backend.name, code: e.code, message: e.message });
    }
  }
  return report;
}
