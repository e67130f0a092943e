/**
 * Snapshot actions of the `Admin` RPC (run on the node called, never forwarded):
 *
 * - `snapshot.create` makes an operator snapshot of this node's state without stopping it (the same
 *   `createNodeSnapshot` as `enigma snapshot create`, on the node's own manifest connection). In a
 *   cluster it first passes a read barrier (ReadIndex): every write acknowledged anywhere before
 *   the call is applied here, hence in the snapshot. Paths are on this node's disk and absolute;
 *   without outDir/outFile the file goes to `<[raft] data_dir>/snapshots/` under its default name.
 * - `snapshot.gc-pause` reports this node's post-restore GC pause marker (null when none).
 */
import { isAbsolute, join } from "node:path";
import { AdminRejected, RaftNodeError } from "@enigma/raft-node";
import { z } from "zod";
import type { AdminContext, AdminRegistry } from "../admin/registry.js";
import { createNodeSnapshot } from "./create.js";
import { isSnapshotError } from "./errors.js";
import { readGcPause } from "./gc-pause.js";

export const SNAPSHOT_CREATE_ACTION = "snapshot.create";
export const SNAPSHOT_GC_PAUSE_ACTION = "snapshot.gc-pause";

/** Where `snapshot.create` puts files without outDir/outFile, under the node's data dir. */
export const DEFAULT_SNAPSHOT_SUBDIR = "snapshots";
/** Bound on recipients in one request (an age header per recipient). */
const MAX_AGE_RECIPIENTS = 64;
const MAX_PATH_CHARS = 4096;

const absolutePath = (what: string) =>
  z
    .string()
    .min(1)
    .max(MAX_PATH_CHARS)
    .refine((p) => isAbsolute(p), `${what} must be an absolute path on the node`);

export const SnapshotCreateArgs = z
  .object({
    outDir: absolutePath("outDir").optional(),
    outFile: absolutePath("outFile").optional(),
    ageRecipients: z.array(z.string().min(1).max(8192)).min(1).max(MAX_AGE_RECIPIENTS).optional(),
    signWith: absolutePath("signWith").optional(),
  })
  .strict()
  .refine((a) => a.outDir === undefined || a.outFile === undefined, "give at most one of outDir and outFile");
export type SnapshotCreateArgs = z.infer<typeof SnapshotCreateArgs>;

/** What `snapshot.create` returns (and `enigma snapshot create` prints, embedded or remote). */
export interface SnapshotCreateResult {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly encrypted: boolean;
  readonly nodeId: number;
  readonly clusterId: string | null;
  readonly appliedIndex: number;
  readonly appliedTerm: number;
  readonly term: number;
  readonly schemaVersion: number;
  readonly rowCounts: Readonly<Record<string, number>>;
  readonly signer: { readonly fingerprint: string; readonly role: "node" | "operator" };
}

export function registerSnapshotActions(registry: AdminRegistry, ctx: AdminContext): void {
  let busy = false;
  registry.register(SNAPSHOT_CREATE_ACTION, async (raw, { deadline }) => {
    const parsed = SnapshotCreateArgs.safeParse(raw ?? {});
    if (!parsed.success)
      throw new AdminRejected(
        `${SNAPSHOT_CREATE_ACTION}: bad arguments: ${parsed.error.issues.map((i) => `${i.path.join(".") || "args"}: ${i.message}`).join("; ")}`,
      );
    if (busy)
      throw new AdminRejected(`${SNAPSHOT_CREATE_ACTION}: a snapshot is being created on this node already`);
    busy = true;
    try {
      const a = parsed.data;
      let term: number | undefined;
      if (ctx.cluster !== undefined) {
        const node = ctx.cluster.node;
        await node.readBarrier(Math.max(1, deadline - Date.now()));
        term = node.status().term;
      }
      const s = await createNodeSnapshot({
        manifest: ctx.engine.manifest,
        nodeId: ctx.settings.raft.nodeId,
        dataDir: ctx.settings.raft.dataDir,
        ...(a.signWith !== undefined ? { signWith: a.signWith } : {}),
        ...(a.outFile !== undefined
          ? { outFile: a.outFile }
          : { outDir: a.outDir ?? join(ctx.settings.raft.dataDir, DEFAULT_SNAPSHOT_SUBDIR) }),
        ...(a.ageRecipients !== undefined ? { ageRecipients: a.ageRecipients } : {}),
        ...(term !== undefined ? { raftTerm: term } : {}),
      });
      ctx.logger.info(
        { snapshot: { file: s.file, bytes: s.bytes, appliedIndex: s.manifest.raft.appliedIndex } },
        "snapshot created",
      );
      return describeCreated(s);
    } catch (err) {
      if (err instanceof RaftNodeError) throw err;
      if (isSnapshotError(err)) throw new AdminRejected(`${SNAPSHOT_CREATE_ACTION}: ${err.message}`);
      throw err;
    } finally {
      busy = false;
    }
  });
  registry.register(SNAPSHOT_GC_PAUSE_ACTION, async () => ({
    nodeId: ctx.settings.raft.nodeId,
    pause: readGcPause(ctx.settings.raft.dataDir) ?? null,
  }));
}

export function describeCreated(s: Awaited<ReturnType<typeof createNodeSnapshot>>): SnapshotCreateResult {
  const m = s.manifest;
  return {
    file: s.file,
    sha256: s.sha256,
    bytes: s.bytes,
    encrypted: s.encrypted,
    nodeId: m.nodeId,
    clusterId: m.clusterId,
    appliedIndex: m.raft.appliedIndex,
    appliedTerm: m.raft.appliedTerm,
    term: m.raft.term,
    schemaVersion: m.schemaVersion,
    rowCounts: m.rowCounts,
    signer: { fingerprint: m.signer.fingerprint, role: m.signer.role },
  };
}
