/**
 * The node's data-plane core, shared by `enigma serve`, the backup CLI and the admin API:
 * keystore → manifest → committer → keyring → storage backends → distributor → chunk writer/reader.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SealWorkerPool } from "@enigma/chunker";
import { decryptCredential, isEncryptedCredential, type Keystore, openKeystore } from "@enigma/crypto";
import { Manifest } from "@enigma/manifest";
import { Distributor, type DistributorEvent, type StorageBackend } from "@enigma/storage";
import type { EnigmaSettings } from "../config/index.js";
import { ChunkReader } from "./chunk-reader.js";
import { ChunkWriter } from "./chunk-writer.js";
import { type Committer, LocalCommitter } from "./committer.js";
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
  /** Replaces the local committer (cluster mode routes commands through Raft). */
  readonly committer?: (manifest: Manifest) => Committer;
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
    const committer = opts.committer ? opts.committer(manifest) : new LocalCommitter(manifest);
    await ensureDataKey(keystore, manifest, committer, (opts.nowMs ?? Date.now)());
    const keyring = new ManifestKeyring(keystore, manifest);
    const secret = (v: string | undefined) =>
      v !== undefined && isEncryptedCredential(v) ? decryptCredential(keystore, v) : v;
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
