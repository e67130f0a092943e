/**
 * The node's data-plane core, shared by `enigma serve`, the backup CLI and the admin API:
 * key provider → manifest → committer → keyring → storage backends → distributor → chunk writer/reader.
 * The key provider (`[enigma] key_provider`: the local keystore or a cloud vault) is opened first
 * and closed last, after everything that uses its key material; closing it zeroes the material.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SealWorkerPool, type WorkerExit } from "@enigma/chunker";
import {
  decryptCredential,
  isEncryptedCredential,
  isKeyProviderError,
  type KeyProvider,
  KeyProviderError,
  type ProviderKeys,
} from "@enigma/crypto";
import { FEATURE_LEVEL, Manifest } from "@enigma/manifest";
import { RaftNodeError, readTls } from "@enigma/raft-node";
import { allocAligned, Distributor, type DistributorEvent, type StorageBackend } from "@enigma/storage";
import { RemoteCommitter } from "../cluster/remote-committer.js";
import type { EnigmaSettings } from "../config/index.js";
import { type ChunkBufferPool, ChunkReader, type ReadableChunk } from "./chunk-reader.js";
import { ChunkWriter } from "./chunk-writer.js";
import { CommandRefused, type Committer, LocalCommitter } from "./committer.js";
import {
  ensureDataKey,
  type Keyring,
  keyProviderFor,
  ManifestKeyring,
  type ManifestKeyringOptions,
} from "./keys.js";
import { createBackends } from "./providers.js";

export interface Engine {
  readonly settings: EnigmaSettings;
  /**
   * The key material of the configured key provider: identity keys (chunk names, chains, `enc:`
   * credentials) and the data-key wrapper. Zeroed by `close()`.
   */
  readonly keystore: ProviderKeys;
  /** Where the key material lives (`keys list / rotate / show-current`). Closed by `close()`. */
  readonly keyProvider: KeyProvider;
  readonly manifest: Manifest;
  readonly committer: Committer;
  readonly keyring: Keyring;
  readonly backends: readonly StorageBackend[];
  readonly distributor: Distributor;
  readonly writer: ChunkWriter;
  readonly reader: ChunkReader;
  /** Seal/hash worker threads alive and configured (null: the node seals on the main thread). */
  workers(): { readonly seal: number; readonly hash: number; readonly configured: number } | null;
  close(): Promise<void>;
}

export interface OpenEngineOptions {
  /**
   * The keystore passphrase (or a function asked once, when the keystore is read). Only the local
   * key provider needs it; vault providers ignore it.
   */
  readonly passphrase?: string | (() => Promise<string>);
  /** A key provider to use instead of the configured one; the engine owns and closes it. */
  readonly keyProvider?: KeyProvider;
  /**
   * Replaces the local committer (cluster mode routes commands through Raft). May be async: the
   * Raft node starts here, with the manifest it applies to and the key material (for `enc:` secrets).
   */
  readonly committer?: (manifest: Manifest, keystore: ProviderKeys) => Committer | Promise<Committer>;
  /** With an injected committer: how long to wait for the cluster before giving up (first start). */
  readonly clusterWaitMs?: number;
  /** Injected clock for deterministic tests (also the keyring's provider-refresh interval). */
  readonly nowMs?: () => number;
  /** The keyring's retry timer for a pending data key (ManifestKeyringOptions.setTimer; tests). */
  readonly keyringTimer?: ManifestKeyringOptions["setTimer"];
  /** Called when a read fell back to another replica or a backend misbehaved. */
  readonly onStorageEvent?: (event: DistributorEvent) => void;
  /** Called when a seal or hash worker thread died (the pool replaces it, within its budget). */
  readonly onWorkerExit?: (exit: WorkerExit) => void;
}

export async function openEngine(settings: EnigmaSettings, opts: OpenEngineOptions = {}): Promise<Engine> {
  const keyProvider =
    opts.keyProvider ??
    keyProviderFor(settings, opts.passphrase === undefined ? {} : { passphrase: opts.passphrase });
  let manifest: Manifest | undefined;
  let keyring: ManifestKeyring | undefined;
  try {
    const keystore = await openKeyMaterial(keyProvider);
    mkdirSync(dirname(settings.dbPath), { recursive: true });
    manifest = Manifest.open(settings.dbPath);
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
      // A single node is every replica there is: it switches on what this build implements at
      // once (a cluster's leader does so once every member supports it: cluster/feature-level.ts).
      if (manifest.featureLevel() < FEATURE_LEVEL) {
        const res = await committer.propose({ type: "SetFeatureLevel", level: FEATURE_LEVEL });
        if (!res.ok) throw new Error(`raising the feature level: ${res.code} ${res.message}`);
      }
    } else await ensureReplicatedDataKey(keystore, manifest, committer, opts);
    keyring = new ManifestKeyring(keyProvider, keystore, manifest, {
      ...(opts.nowMs === undefined ? {} : { nowMs: opts.nowMs }),
      ...(opts.keyringTimer === undefined ? {} : { setTimer: opts.keyringTimer }),
    });
    // A data key wrapped under a provider key another node added since open(): refresh once.
    await keyring.sync();
    const backends = await createBackends(settings.providers, secret);
    const distributor = new Distributor({
      providers: backends.map((b) => ({ backend: b.backend, weight: b.weight })),
      distribution: settings.distribution,
      replicationFactor: settings.replicationFactor,
      ...(opts.onStorageEvent ? { onEvent: opts.onStorageEvent } : {}),
    });
    const pool =
      settings.workers > 0
        ? new SealWorkerPool(settings.workers, {
            // Page-aligned chunk buffers: the local backend writes sealed chunks with O_DIRECT, no copy.
            allocate: (bytes) => allocAligned(bytes, { shared: true }),
            ...(opts.onWorkerExit ? { onWorkerExit: opts.onWorkerExit } : {}),
          })
        : undefined;
    const writer = new ChunkWriter(manifest, distributor, keyring, settings, pool);
    const reader = new KeySyncingChunkReader(distributor, keyring, pool, settings.downloadConcurrency);
    const opened = manifest;
    const ring = keyring;
    return {
      settings,
      keystore,
      keyProvider,
      manifest,
      committer,
      keyring,
      backends: backends.map((b) => b.backend),
      distributor,
      writer,
      reader,
      workers: () => (pool === undefined ? null : { ...pool.liveWorkers, configured: pool.size }),
      async close() {
        if (committer instanceof RemoteCommitter) committer.close();
        await pool?.close();
        for (const b of backends) await b.backend.close?.();
        ring.close();
        opened.close();
        await keyProvider.close(); // last: zeroes the key material everything above used
      },
    };
  } catch (err) {
    keyring?.close();
    manifest?.close();
    await keyProvider.close();
    throw err;
  }
}

/**
 * Opens the provider's key material, turning its failures into one line an operator can act on:
 * which provider, which secret, and whether the vault was unreachable or refused access (the
 * provider's messages never hold a secret value).
 */
async function openKeyMaterial(provider: KeyProvider): Promise<ProviderKeys> {
  try {
    return await provider.open();
  } catch (err) {
    if (!isKeyProviderError(err)) throw err;
    const why: Partial<Record<KeyProviderError["code"], string>> = {
      VaultUnreachable:
        "key provider unreachable at start-up; this node does not start or serve writes until it can load its keys",
      PermissionDenied:
        "key provider denied access to the key material; check this node's credentials and its permission to read the secrets",
      SecretNotFound: `no key set in ${provider.description}; create one with "enigma init --key-provider ${provider.kind}"`,
      SecretCorrupt: "the key material in the key provider is invalid; do not write to this cluster",
    };
    throw new KeyProviderError(
      err.provider,
      err.code,
      err.secretName,
      `${err.message}: ${why[err.code] ?? "cannot load the key material"}`,
    );
  }
}

/** Whether a read failed because a chunk's data key is not loaded (anywhere in the cause chain). */
function isUnknownKey(err: unknown, depth = 0): boolean {
  if (depth > 6 || typeof err !== "object" || err === null) return false;
  if ((err as { code?: unknown }).code === "UnknownKey") return true;
  if (err instanceof AggregateError && err.errors.some((e) => isUnknownKey(e, depth + 1))) return true;
  return isUnknownKey((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * A chunk sealed under a data key that arrived with a provider key this node has not loaded yet
 * (another node rotated): sync the keyring (one provider refresh) and read once more.
 */
class KeySyncingChunkReader extends ChunkReader {
  readonly #keyring: Keyring;

  constructor(
    distributor: Distributor,
    keyring: Keyring,
    workers: SealWorkerPool | undefined,
    prefetch: number,
  ) {
    super(distributor, keyring, { prefetch, ...(workers === undefined ? {} : { workers }) });
    this.#keyring = keyring;
  }

  override async readChunk(ref: ReadableChunk, pool?: ChunkBufferPool): Promise<Buffer> {
    try {
      return await super.readChunk(ref, pool);
    } catch (err) {
      if (!isUnknownKey(err)) throw err;
      this.#keyring.refresh();
      if (this.#keyring.pendingIds().length === 0) throw err;
      await this.#keyring.sync();
      return super.readChunk(ref, pool);
    }
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
  keystore: ProviderKeys,
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
