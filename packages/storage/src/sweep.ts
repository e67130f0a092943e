import { CHUNK_KEY_PREFIX, parseChunkObjectKey, type StorageBackend, StorageError } from "./backend.js";

export interface SweepOptions {
  readonly backends: readonly StorageBackend[];
  /**
   * True when the manifest still references this chunk on this provider (any state but
   * forgotten, including "deleting", which GC's own phase removes). Called once per object.
   */
  readonly isKnown: (nameTagHex: string, provider: string) => boolean | Promise<boolean>;
  /**
   * Objects younger than this are kept: a chunk is uploaded before the PutObject that
   * references it commits (ARCHITECTURE §3), so the grace must exceed the longest upload.
   */
  readonly graceMs: number;
  readonly nowMs: number;
  readonly dryRun: boolean;
  /** How many orphans the report lists by key (all are counted). Default 1000. */
  readonly reportLimit?: number;
}

export interface SweptObject {
  readonly provider: string;
  readonly key: string;
  readonly nameTagHex: string;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
}

export interface SweepReport {
  readonly dryRun: boolean;
  /** Objects listed under chunks/ across all backends. */
  scannedObjects: number;
  /** Unreferenced and older than the grace period: deleted, or would be with dryRun. */
  orphanObjects: number;
  orphanBytes: number;
  /** Up to reportLimit of them. */
  readonly orphans: SweptObject[];
  /** Actually deleted (0 in a dry run). */
  deletedObjects: number;
  deletedBytes: number;
  keptReferenced: number;
  keptYoung: number;
  /** Keys under chunks/ that are not chunk keys of ours: never touched. */
  ignoredForeign: number;
  readonly errors: {
    readonly provider: string;
    readonly key?: string;
    readonly code: string;
    readonly message: string;
  }[];
}

export const DEFAULT_SWEEP_REPORT_LIMIT = 1000;

/**
 * GC's sweep: list every backend's chunks and remove those the manifest does not reference and
 * that are older than the grace period. A provider that cannot be listed, or an object that
 * cannot be deleted, is recorded in `errors` and the sweep goes on with the rest.
 */
export async function sweepOrphans(opts: SweepOptions): Promise<SweepReport> {
  const limit = opts.reportLimit ?? DEFAULT_SWEEP_REPORT_LIMIT;
  const report: SweepReport = {
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
  };
  const cutoffMs = opts.nowMs - opts.graceMs;
  for (const backend of opts.backends) {
    const provider = backend.name;
    try {
      for await (const o of backend.list(CHUNK_KEY_PREFIX)) {
        report.scannedObjects++;
        const nameTagHex = parseChunkObjectKey(o.key);
        if (nameTagHex === null) {
          report.ignoredForeign++;
          continue;
        }
        if (o.lastModifiedMs > cutoffMs) {
          report.keptYoung++;
          continue;
        }
        if (await opts.isKnown(nameTagHex, provider)) {
          report.keptReferenced++;
          continue;
        }
        report.orphanObjects++;
        report.orphanBytes += o.sizeBytes;
        if (report.orphans.length < limit) {
          report.orphans.push({
            provider,
            key: o.key,
            nameTagHex,
            sizeBytes: o.sizeBytes,
            lastModifiedMs: o.lastModifiedMs,
          });
        }
        if (opts.dryRun) continue;
        try {
          await backend.delete(o.key);
          report.deletedObjects++;
          report.deletedBytes += o.sizeBytes;
        } catch (raw) {
          const e = StorageError.from(raw, provider);
          report.errors.push({ provider, key: o.key, code: e.code, message: e.message });
        }
      }
    } catch (raw) {
      const e = StorageError.from(raw, provider);
      report.errors.push({ provider, code: e.code, message: e.message });
    }
  }
  return report;
}
