/**
 * Data keys live wrapped in the replicated manifest (AddDataKey), so every node that can open the
 * key provider can unwrap them, and a rotation on any node is seen by all (ARCHITECTURE §6).
 *
 * A data key is wrapped under the *current provider key* of the node that created it. When another
 * node rotated the provider key (a vault provider: `enigma keys rotate`), this node learns about
 * the new data key through the manifest before it has loaded the new provider key: the unwrap
 * fails, and the keyring re-reads the key provider once (`KeyProvider.refresh`) and retries. Until
 * that finishes, the key is *pending*: new chunks keep being sealed under the newest key this node
 * holds (older keys stay valid for writing and reading), and `sync()` waits for it.
 */
import {
  isCryptoError,
  type KeyMaterial,
  type KeyProvider,
  type KeyProviderKind,
  type KeyProviderSettings,
  openKeyProvider,
  type ProviderKeys,
} from "@enigma/crypto";
import type { Manifest } from "@enigma/manifest";
import type { EnigmaSettings } from "../config/index.js";
import type { Committer } from "./committer.js";
import { proposeOrThrow } from "./committer.js";

export interface DataKey {
  readonly keyId: number;
  readonly key: Uint8Array;
}

export interface Keyring {
  /** The key new chunks are sealed with (the highest key id this node has unwrapped). */
  current(): DataKey;
  /** Any key by id, for opening chunks sealed before a rotation. */
  keyFor(keyId: number): Uint8Array | undefined;
  readonly nameKey: Uint8Array;
  readonly chainKey: Uint8Array;
  /**
   * Re-reads keys from the manifest (after a rotation elsewhere). Synchronous: a key that needs a
   * provider refresh first becomes pending and is loaded in the background (see `sync`).
   */
  refresh(): void;
  /**
   * Loads every data key in the manifest; when one does not unwrap under the loaded provider keys,
   * re-reads the key provider once and retries. Rejects (UnwrapFailed, or the provider's error) if
   * a key still cannot be unwrapped.
   */
  sync(): Promise<void>;
  /** Data keys in the manifest this node has not unwrapped (yet). */
  pendingIds(): number[];
  ids(): number[];
}

/** A pending key does not make the keyring read the key provider more often than this... */
export const PROVIDER_REFRESH_MIN_INTERVAL_MS = 5_000;
/** ...and while it stays pending the interval doubles up to this (a vault down for long). */
export const PROVIDER_REFRESH_MAX_INTERVAL_MS = 5 * 60_000;
/**
 * Provider reads one refresh makes in a row when new keys keep arriving while it reads (each read
 * may have been answered from before the latest rotation); past it, the timer takes over.
 */
const MAX_CHAINED_PROVIDER_READS = 4;

export interface ManifestKeyringOptions {
  /** Clock for the refresh interval (tests inject one). */
  readonly nowMs?: () => number;
  /** Schedules the retry of a pending key; returns a cancel function (tests inject one). */
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
}

const unrefTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/**
 * Pending keys and provider refreshes (the orderings are tested in test/keys/keyring-race.test.ts):
 *
 * - A provider refresh that is already reading when a new key is asked for may have read the
 *   vault before that key's rotation: the keyring reads again right after it (`#again`), instead
 *   of waiting for the next AddDataKey or read to come along.
 * - A refresh that leaves a key pending (vault unreachable, or answering from before the rotation)
 *   is retried by a timer after an interval that doubles while it fails, and by any `current()`
 *   (the write path) or `keyFor()` past that interval: a node never seals under an old data key
 *   for longer than the interval once the vault answers.
 */
export class ManifestKeyring implements Keyring {
  readonly #keys: ProviderKeys;
  readonly #provider: KeyProvider;
  readonly #manifest: Manifest;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => () => void;
  readonly #dataKeys = new Map<number, Uint8Array>();
  /** Key id → the unwrap failure, for keys waiting for a provider refresh. */
  readonly #pending = new Map<number, unknown>();
  #providerRefresh: Promise<void> | undefined;
  /** A key was asked for while `#providerRefresh` was reading: read the provider once more. */
  #again = false;
  /** No background provider read before this (sync, which a caller waits for, ignores it). */
  #nextRefreshAtMs = Number.NEGATIVE_INFINITY;
  /** The next wait while a key stays pending: doubles per fruitless refresh, reset once loaded. */
  #intervalMs = PROVIDER_REFRESH_MIN_INTERVAL_MS;
  #cancelRetry: (() => void) | undefined;
  #lastRefreshError: unknown;
  #closed = false;

  /** `keys` must be `provider.open()`'s result (refresh updates it in place). */
  constructor(
    provider: KeyProvider,
    keys: ProviderKeys,
    manifest: Manifest,
    opts: ManifestKeyringOptions = {},
  ) {
    this.#provider = provider;
    this.#keys = keys;
    this.#manifest = manifest;
    this.#now = opts.nowMs ?? Date.now;
    this.#setTimer = opts.setTimer ?? unrefTimer;
    this.#load();
  }

  get nameKey(): Uint8Array {
    return this.#keys.nameKey;
  }

  get chainKey(): Uint8Array {
    return this.#keys.chainKey;
  }

  refresh(): void {
    if (this.#closed) return;
    if (this.#load() && this.#provider.canRotate) this.#requestProviderRefresh();
  }

  async sync(): Promise<void> {
    if (!this.#load()) return;
    // A refresh in flight may have read the provider before the rotation: it reads once more.
    if (this.#providerRefresh) {
      this.#again = true;
      await this.#providerRefresh;
      if (!this.#load()) return;
    }
    // Not rate-limited: the caller waits for this key (open, a read of a chunk sealed under it).
    await (this.#providerRefresh ?? this.#startProviderRefresh());
    if (!this.#load()) return;
    const [keyId, err] = [...this.#pending][0]!;
    if (this.#lastRefreshError !== undefined) throw this.#lastRefreshError;
    throw err instanceof Error ? err : new Error(`data key ${keyId} does not unwrap`);
  }

  pendingIds(): number[] {
    return [...this.#pending.keys()].sort((a, b) => a - b);
  }

  /**
   * The write path: picks up keys the manifest gained since (a rotation committed by another
   * process on a single node has no apply hook here) and, when the newest is pending, asks for a
   * provider refresh (rate-limited, in the background); this write seals under the newest key
   * loaded now.
   */
  current(): DataKey {
    this.refresh();
    let best = -1;
    for (const id of this.#dataKeys.keys()) best = Math.max(best, id);
    const key = this.#dataKeys.get(best);
    if (!key) {
      if (this.#pending.size > 0)
        throw new Error(
          `no usable data key: data keys ${this.pendingIds().join(", ")} do not unwrap under ` +
            `${this.#provider.description} (yet)`,
        );
      throw new Error("no data key: the manifest holds none (run enigma init)");
    }
    return { keyId: best, key };
  }

  keyFor(keyId: number): Uint8Array | undefined {
    if (!this.#dataKeys.has(keyId)) this.refresh();
    return this.#dataKeys.get(keyId);
  }

  ids(): number[] {
    return [...this.#dataKeys.keys()].sort((a, b) => a - b);
  }

  /** Stops the retry timer; later refreshes do nothing (the engine closes it before the provider). */
  close(): void {
    this.#closed = true;
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
  }

  /** Unwraps what is new in the manifest; true if some key is pending. */
  #load(): boolean {
    for (const row of this.#manifest.dataKeys()) {
      if (this.#dataKeys.has(row.keyId)) continue;
      try {
        this.#dataKeys.set(row.keyId, this.#keys.unwrapDataKey(row.keyId, row.wrappedHex));
        this.#pending.delete(row.keyId);
      } catch (err) {
        if (!isCryptoError(err, "UnwrapFailed")) throw err;
        this.#pending.set(row.keyId, err);
      }
    }
    if (this.#pending.size === 0) {
      this.#intervalMs = PROVIDER_REFRESH_MIN_INTERVAL_MS;
      this.#cancelRetry?.();
      this.#cancelRetry = undefined;
    }
    return this.#pending.size > 0;
  }

  /** Background: joins a refresh in flight (and makes it read again), or starts one, or schedules one. */
  #requestProviderRefresh(): void {
    if (this.#providerRefresh) {
      this.#again = true;
      return;
    }
    const waitMs = this.#nextRefreshAtMs - this.#now();
    if (waitMs > 0) {
      this.#scheduleRetry(waitMs);
      return;
    }
    void this.#startProviderRefresh().catch(() => {});
  }

  /**
   * One provider refresh (reading again while keys were asked for during the read, bounded), then
   * a #load; if a key is still pending, a retry after a doubled interval. The provider updates
   * `#keys` in place, so #load sees the new provider keys.
   */
  #startProviderRefresh(): Promise<void> {
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    this.#providerRefresh = (async () => {
      try {
        for (let reads = 0; reads < MAX_CHAINED_PROVIDER_READS && !this.#closed; reads++) {
          this.#again = false;
          this.#nextRefreshAtMs = this.#now() + this.#intervalMs;
          try {
            await this.#provider.refresh();
            this.#lastRefreshError = undefined;
          } catch (err) {
            this.#lastRefreshError = err;
          }
          if (this.#closed || !this.#load() || !this.#again) break;
        }
      } finally {
        this.#providerRefresh = undefined;
      }
      if (this.#closed || this.#pending.size === 0) return;
      this.#scheduleRetry(this.#nextRefreshAtMs - this.#now());
      this.#intervalMs = Math.min(this.#intervalMs * 2, PROVIDER_REFRESH_MAX_INTERVAL_MS);
    })();
    return this.#providerRefresh;
  }

  #scheduleRetry(waitMs: number): void {
    if (this.#cancelRetry !== undefined || this.#closed) return;
    this.#cancelRetry = this.#setTimer(
      () => {
        this.#cancelRetry = undefined;
        this.refresh();
      },
      Math.max(0, waitMs),
    );
  }
}

/**
 * Adds a new current data key cluster-wide, wrapped under the current provider key; old chunks stay
 * readable by their key id. Other nodes unwrap it when they apply the AddDataKey (after a provider
 * refresh if the provider key is new to them).
 */
export async function rotateDataKey(
  keys: KeyMaterial,
  manifest: Manifest,
  committer: Committer,
  nowMs: number,
  requestId?: string,
): Promise<number> {
  const ids = manifest.dataKeys().map((k) => k.keyId);
  const keyId = (ids.length ? Math.max(...ids) : 0) + 1;
  const { key, wrapped } = keys.newDataKey(keyId);
  key.fill(0); // this node unwraps it from the manifest like every other node
  await proposeOrThrow(
    committer,
    { type: "AddDataKey", keyId, wrappedHex: Buffer.from(wrapped).toString("hex"), createdAtMs: nowMs },
    requestId === undefined ? undefined : { requestId },
  );
  return keyId;
}

/** Ensures at least one data key exists (first start). */
export async function ensureDataKey(
  keys: KeyMaterial,
  manifest: Manifest,
  committer: Committer,
  nowMs: number,
): Promise<void> {
  if (manifest.dataKeys().length === 0) await rotateDataKey(keys, manifest, committer, nowMs);
}

/** `[enigma] key_provider` and its options, as the crypto package names them. */
export function keyProviderSettings(settings: EnigmaSettings): KeyProviderSettings {
  const kp = settings.keyProvider;
  return {
    keyProvider: kp.kind,
    keyfilePath: settings.keyfilePath,
    secretPrefix: kp.secretPrefix,
    ...(kp.awsRegion === undefined ? {} : { awsRegion: kp.awsRegion }),
    ...(kp.vaultUrl === undefined ? {} : { vaultUrl: kp.vaultUrl }),
    ...(kp.gcpProjectId === undefined ? {} : { gcpProjectId: kp.gcpProjectId }),
  };
}

/** Whether this key provider needs the keystore passphrase (only the local keystore does). */
export function needsPassphrase(kind: KeyProviderKind): boolean {
  return kind === "local";
}

/**
 * The configured key provider (constructed only: nothing is read until `open()`). A vault provider
 * ignores the passphrase; the local one asks for it when it first reads the file.
 */
export function keyProviderFor(
  settings: EnigmaSettings,
  opts: { readonly passphrase?: string | (() => Promise<string>); readonly env?: NodeJS.ProcessEnv } = {},
): KeyProvider {
  return openKeyProvider(keyProviderSettings(settings), {
    ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
}
