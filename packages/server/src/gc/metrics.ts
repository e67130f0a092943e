/**
 * GC and chunk figures for /metrics. Chunk statistics are a full scan of the chunks table
 * (`chunkStats`), so they are computed at most once per scrape, on collect. Labels are backend
 * (provider) names only — never bucket or key names.
 */
import type { Registry } from "prom-client";
import { Counter, Gauge } from "prom-client";
import type { AdminContext } from "../admin/registry.js";
import { gcPauseStatus } from "../snapshot/gc-pause.js";
import { gcState } from "./run.js";

export function registerGcMetrics(registry: Registry, ctx: AdminContext): void {
  const engine = ctx.engine;
  let cached: { atMs: number; stats: ReturnType<typeof engine.manifest.chunkStats> } | undefined;
  const stats = () => {
    const now = Date.now();
    if (cached === undefined || now - cached.atMs > 1000) {
      cached = { atMs: now, stats: engine.manifest.chunkStats() };
    }
    return cached.stats;
  };
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  gauge("enigma_chunks_live", "Chunks referenced by at least one object, part or backup", () => stats().live);
  gauge("enigma_chunks_garbage", "Unreferenced live chunks (GC candidates)", () => stats().garbage);
  gauge(
    "enigma_chunks_deleting",
    "Chunks fenced by GC whose blobs are being deleted",
    () => stats().deleting,
  );
  gauge("enigma_stored_bytes", "Sealed bytes of every known chunk (one replica)", () => stats().storedBytes);
  gauge(
    "enigma_unique_bytes",
    "Plaintext bytes of referenced chunks, counted once",
    () => stats().uniqueBytes,
  );
  gauge(
    "enigma_logical_bytes",
    "Plaintext bytes as referenced (dedup not applied)",
    () => stats().logicalBytes,
  );
  gauge("enigma_dedup_ratio", "Logical bytes / unique bytes", () => stats().dedupRatio);
  new Gauge({
    name: "enigma_backend_chunks",
    help: "Chunk blobs the manifest places on each backend",
    labelNames: ["backend"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [backend, s] of Object.entries(stats().perLocation)) this.set({ backend }, s.chunks);
    },
  });
  new Gauge({
    name: "enigma_backend_stored_bytes",
    help: "Sealed bytes the manifest places on each backend",
    labelNames: ["backend"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [backend, s] of Object.entries(stats().perLocation)) this.set({ backend }, s.sealedBytes);
    },
  });
  // Filesystem space under backends that have one (Local): alert on available - reserve before
  // writes start failing with 507. Read at scrape time (one statfs per Local backend).
  const spaces = async () =>
    Promise.all(
      engine.backends.map(async (b) => ({
        backend: b.name,
        space: await b.space?.().catch(() => undefined),
      })),
    );
  new Gauge({
    name: "enigma_backend_available_bytes",
    help: "Bytes available on the filesystem of each Local backend",
    labelNames: ["backend"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { backend, space } of await spaces()) if (space) this.set({ backend }, space.availableBytes);
    },
  });
  new Gauge({
    name: "enigma_backend_reserve_bytes",
    help: "Free space each Local backend keeps (min_free_space); writes below it fail with 507",
    labelNames: ["backend"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { backend, space } of await spaces()) if (space) this.set({ backend }, space.reserveBytes);
    },
  });
  new Gauge({
    name: "enigma_backend_direct_io",
    help: "1 when a Local backend writes and reads chunks with O_DIRECT, 0 when off or refused by its filesystem (direct_io); before the first chunk, what a one-block probe found",
    labelNames: ["backend"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { backend, space } of await spaces()) {
        if (typeof space?.directIo === "boolean") this.set({ backend }, space.directIo ? 1 : 0);
      }
    },
  });
  // Counters mirror this process's cumulative GC state (runs happen on the leader).
  const mirror = (name: string, help: string, value: () => number) => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = value();
        if (v > reported) {
          this.inc(v - reported);
          reported = v;
        }
      },
    });
  };
  mirror("enigma_gc_runs_total", "GC runs completed by this node", () => gcState(engine).runs);
  mirror("enigma_gc_failed_runs_total", "GC runs that failed on this node", () => gcState(engine).failedRuns);
  mirror(
    "enigma_gc_freed_chunks_total",
    "Chunks freed (forgotten) by GC on this node",
    () => gcState(engine).freedChunks,
  );
  mirror(
    "enigma_gc_freed_bytes_total",
    "Sealed bytes deleted by GC on this node",
    () => gcState(engine).freedBytes,
  );
  gauge("enigma_gc_last_run_timestamp_seconds", "When this node's last GC run finished (0: never)", () =>
    Math.floor((gcState(engine).lastRunAtMs ?? 0) / 1000),
  );
  gauge("enigma_gc_running", "1 while a GC run is in progress on this node", () =>
    gcState(engine).running === undefined ? 0 : 1,
  );
  gauge(
    "enigma_gc_paused",
    "1 while GC is paused after a restore (the manifest's replicated pause or this node's marker)",
    () => (gcPauseStatus(ctx.settings.raft.dataDir, engine.manifest).paused ? 1 : 0),
  );
  gauge(
    "enigma_sweep_fenced_name_tags",
    "Name tags a sweep fenced and has not cleared (a crashed or failed sweep's work until the next run)",
    () => engine.manifest.sweepingCount(),
  );
}
