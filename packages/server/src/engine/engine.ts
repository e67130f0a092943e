/**
 * The node's data-plane core, shared by `enigma serve`, the backup CLI and the admin API:
 * keystore → manifest → committer → keyring → storage backends → distributor → chunk writer/reader.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SealWorkerPool } from "@enigma/chunker";
import { decryptCredential, isEncryptedCredential, type Keystore, openKeystore } from "@enigma/crypto";
import { Manifest } from "@enigma/manifest";
import { RaftNodeError, readTls } from "@enigma/raft-node";
import { Distributor, type DistributorEvent, type StorageBackend } from "@enigma/storage";
import { RemoteCommitter } from "../cluster/remote-committer.js";
import type { EnigmaSettings } from "../config/index.js";
import { ChunkReader } from "./chunk-reader.js";
import { ChunkWriter } from "./chunk-writer.js";
import { CommandRefused, type Committer, LocalCommitter } from "./committer.js";
import { ensureDataKey, type Keyring, ManifestKeyring } from "./keys.js";
import { createBackends } from "./providers.js";

export interface Engine {
  readonly settings: EnigmaSettings;
  readonly keystore: Keystore;
  readonly manifest: Manifest;
  readonly committer: Committer;
  readonly keyring: Keyring;
  readonly backends: readonly StorageBackend[];
  readonly distributor: Distributor;
  readonly writer: ChunkWriter;
  readonly reader: ChunkReader;
  close(): Promise<void>;
}

export interface OpenEngineOptions {
  readonly passphrase: string;
  /**
   * Replaces the local committer (cluster mode routes commands through Raft). May be async: the
   * Raft node starts here, with the manifest it applies to and the keystore (for `enc:` secrets).
   */
  readonly committer?: (manifest: Manifest, keystore: Keystore) => Committer | Promise<Committer>;
  /** With an injected committer: how long to wait for the cluster before giving up (first start). */
  readonly clusterWaitMs?: number;
  /** Injected clock for deterministic tests. */
  readonly nowMs?: () => number;
  /** Called when a read fell back to another replica or a backend misbehaved. */
  readonly onStorageEvent?: (event: DistributorEvent) => void;
}

export async function openEngine(settings: EnigmaSettings, opts: OpenEngineOptions): Promise<Engine> {
  const keystore = await openKeystore(settings.keyfilePath, opts.passphrase);
  mkdirSync(dirname(settings.dbPath), { recursive: true });
  const manifest = Manifest.open(settings.dbPath);
  try {
    const secret = (v: string | undefined) =>
      v !== undefined && isEncryptedCredential(v) ? decryptCredential(keystore, v) : v;
    const clusterMember = settings.raft.peers.length > 0;
    let committer: Committer;
    if (opts.committer !== undefined) committer = await opts.committer(manifest, keystore);
    else if (clusterMember) {
      // A process beside a cluster member (the CLI): commit through the member, never locally.
      committer = new RemoteCommitter(manifest, {
        addr: settings.raft.grpcAddr,
        secret: secret(settings.raft.clusterSecret),
        tls: settings.raft.tls === undefined ? undefined : readTls(settings.raft.tls),
        timeoutMs: settings.raft.requestTimeoutMs,
      });
    } else committer = new LocalCommitter(manifest);
    if (opts.committer === undefined && !clusterMember) {
      await ensureDataKey(keystore, manifest, committer, (opts.nowMs ?? Date.now)());
    } else await ensureReplicatedDataKey(keystore, manifest, committer, opts);
    const keyring = new ManifestKeyring(keystore, manifest);
    const backends = await createBackends(settings.providers, secret);
    const distributor = new Distributor({
      providers: backends.map((b) => ({ backend: b.backend, weight: b.weight })),
      distribution: settings.distribution,
      replicationFactor: settings.replicationFactor,
      ...(opts.onStorageEvent ? { onEvent: opts.onStorageEvent } : {}),
    });
    const pool = settings.workers > 0 ? new SealWorkerPool(settings.workers) : undefined;
    const writer = new ChunkWriter(manifest, distributor, keyring, settings, pool);
    const reader = new ChunkReader(distributor, keyring);
    return {
      settings,
      keystore,
      manifest,
      committer,
      keyring,
      backends: backends.map((b) => b.backend),
      distributor,
      writer,
      reader,
      async close() {
        if (committer instanceof RemoteCommitter) committer.close();
        await pool?.close();
        for (const b of backends) await b.backend.close?.();
        manifest.close();
      },
    };
  } catch (err) {
    manifest.close();
    throw err;
  }
}

/** How long a first start waits for its cluster (peers starting in any order) by default. */
const DEFAULT_CLUSTER_WAIT_MS = 10 * 60_000;

/**
 * Cluster mode: the first data key is created once for the whole cluster. Every node that finds
 * none first catches up (ReadIndex, retried while the cluster forms), and only proposes a key if
 * it still sees none; when several fresh nodes race, the first AddDataKey applied wins and the
 * others' are refused with KeyExists, which is fine: the key every node unwraps is the applied one.
 */
async function ensureReplicatedDataKey(
  keystore: Keystore,
  manifest: Manifest,
  committer: Committer,
  opts: OpenEngineOptions,
): Promise<void> {
  if (manifest.dataKeys().length > 0) return;
  const deadline = Date.now() + (opts.clusterWaitMs ?? DEFAULT_CLUSTER_WAIT_MS);
  for (;;) {
    try {
      await committer.readBarrier();
      break;
    } catch (err) {
      // The CLI beside a member whose server is down: say so now instead of waiting.
      if (committer instanceof RemoteCommitter && RaftNodeError.is(err, "Unreachable")) throw err;
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await ensureDataKey(keystore, manifest, committer, (opts.nowMs ?? Date.now)());
  } catch (err) {
    if (!(err instanceof CommandRefused && err.code === "KeyExists")) throw err;
  }
}
