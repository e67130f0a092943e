/**
 * Orderings of "rotate the provider key, then add a data key wrapped under it" against a node that
 * loads keys at the same time, in-process and deterministic: a vault kept in memory whose reads can
 * be held (the value is taken when the read is sent, the answer arrives when the test says) or
 * fail, a clock and a timer the test drives, one shared manifest standing for the replicated one.
 *
 * - A node that read the pointer before a rotation and the manifest after it: open (sync) refreshes
 *   the provider once and seals under the new key.
 * - A provider refresh already in flight when the next AddDataKey is applied read the pointer
 *   before that rotation: the keyring refreshes again instead of leaving the key pending.
 * - A refresh that failed (vault hiccup) is retried on the write path: the next write after the
 *   rate-limit interval refreshes, and writes after it seal under the new key, with no read and no
 *   further AddDataKey needed; and a timer retries even with no traffic at all.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyProviderError, type ProviderKeys, VaultKeyProvider } from "../../packages/crypto/src/index.js";
import type { SecretStore, StoredSecret } from "../../packages/crypto/src/providers/secret-store.js";
import { Manifest } from "../../packages/manifest/src/index.js";
import {
  type Engine,
  ensureDataKey,
  LocalCommitter,
  loadConfig,
  ManifestKeyring,
  openEngine,
  PROVIDER_REFRESH_MIN_INTERVAL_MS,
  rotateDataKey,
  toSettings,
} from "../../packages/server/src/index.js";

/** A vault in memory, shared by every "node" of a test. */
class MemoryVault implements SecretStore {
  readonly where = "memory";
  readonly #secrets = new Map<string, { id: string; value: string }[]>();
  #holds: { name: string; reached: () => void; release: Promise<void> }[] = [];
  #failures: { name: string; delivered: () => void }[] = [];
  #n = 0;

  /**
   * The next read of `name` takes its value at once but answers only after `release()`:
   * a read that reached the vault before a write and whose answer arrives after it.
   */
  holdNextRead(name: string): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const r = new Promise<void>((res) => {
      reached = res;
    });
    this.#holds.push({ name, reached, release: new Promise<void>((res) => (release = res)) });
    return { reached: r, release };
  }

  /** The next read of `name` fails VaultUnreachable; resolves once it has. */
  failNextRead(name: string): Promise<void> {
    return new Promise((delivered) => this.#failures.push({ name, delivered }));
  }

  async create(name: string, value: string): Promise<string> {
    if (this.#secrets.has(name))
      throw new KeyProviderError("aws-secretsmanager", "SecretExists", name, `${name} exists`);
    this.#secrets.set(name, []);
    return this.put(name, value);
  }

  async put(name: string, value: string): Promise<string> {
    const versions = this.#secrets.get(name);
    if (!versions) throw new KeyProviderError("aws-secretsmanager", "SecretNotFound", name, `no ${name}`);
    const id = `v${++this.#n}`;
    versions.push({ id, value });
    return id;
  }

  async read(name: string, version?: string): Promise<StoredSecret> {
    const f = this.#failures.findIndex((x) => x.name === name);
    if (f >= 0) {
      const [failure] = this.#failures.splice(f, 1);
      failure!.delivered();
      throw new KeyProviderError("aws-secretsmanager", "VaultUnreachable", name, `${name}: unreachable`);
    }
    const versions = this.#secrets.get(name);
    const v = version === undefined ? versions?.at(-1) : versions?.find((x) => x.id === version);
    if (!v) throw new KeyProviderError("aws-secretsmanager", "SecretNotFound", name, `no ${name}`);
    const h = this.#holds.findIndex((x) => x.name === name);
    if (h >= 0) {
      const [hold] = this.#holds.splice(h, 1);
      hold!.reached();
      await hold!.release;
    }
    return { value: v.value, version: v.id };
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.#secrets.keys()].filter((n) => n.startsWith(prefix));
  }

  async remove(name: string): Promise<void> {
    this.#secrets.delete(name);
  }

  async close(): Promise<void> {}
}

class MemoryVaultProvider extends VaultKeyProvider {
  constructor(vault: MemoryVault) {
    super("aws-secretsmanager", "memory", "race", async () => vault);
  }
}

/** A clock and a timer the test drives: nothing happens "later" unless the test says so. */
class TestTime {
  now = 1_000_000;
  readonly timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  readonly nowMs = () => this.now;
  readonly setTimer = (fn: () => void, ms: number) => {
    const t = { at: this.now + ms, fn, cancelled: false };
    this.timers.push(t);
    return () => {
      t.cancelled = true;
    };
  };
  /** Moves the clock and runs the timers that are due (not the ones it schedules meanwhile). */
  advance(ms: number): number {
    this.now += ms;
    const due = this.timers.filter((t) => !t.cancelled && t.at <= this.now);
    for (const t of due) {
      this.timers.splice(this.timers.indexOf(t), 1);
      t.fn();
    }
    return due.length;
  }
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

/** Polls (never sleeps a fixed time to decide): background work finishes in a few microtasks. */
async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The rotating node R and a shared manifest with data key 1 under provider key 1. */
async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "enigma-keyring-race-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const vault = new MemoryVault();
  const r = new MemoryVaultProvider(vault);
  cleanup.push(() => r.close());
  const rKeys = await r.create();
  const manifest = Manifest.open(join(dir, "manifest.db"));
  cleanup.push(() => manifest.close());
  const committer = new LocalCommitter(manifest);
  await ensureDataKey(rKeys, manifest, committer, 1);
  /** What `enigma keys rotate` does on R: provider key, then a data key wrapped under it. */
  const rotate = async () => {
    await r.rotate();
    return rotateDataKey(rKeys, manifest, committer, 2);
  };
  /** Another node X: its own provider instance on the same vault. */
  const node = async (): Promise<{ provider: MemoryVaultProvider; keys: ProviderKeys }> => {
    const provider = new MemoryVaultProvider(vault);
    cleanup.push(() => provider.close());
    return { provider, keys: await provider.open() };
  };
  return { dir, vault, r, manifest, committer, rotate, node, pointer: r.pointerName };
}

describe("rotation against a node loading keys at the same time", () => {
  it("pointer read before the rotation, manifest after: open's sync refreshes once and uses the new key", async () => {
    const s = await setup();
    const x = await s.node(); // X read the pointer: provider key 1 only
    expect(await s.rotate()).toBe(2); // R: provider key 2, data key 2 under it
    const time = new TestTime();
    const ring = new ManifestKeyring(x.provider, x.keys, s.manifest, time);
    expect(ring.pendingIds()).toEqual([2]);
    await ring.sync();
    expect(ring.pendingIds()).toEqual([]);
    expect(x.keys.keyIds()).toEqual([1, 2]);
    expect(ring.current().keyId).toBe(2);
  });

  it("a refresh in flight from before the next rotation does not leave its data key pending", async () => {
    const s = await setup();
    const x = await s.node();
    const time = new TestTime();
    const ring = new ManifestKeyring(x.provider, x.keys, s.manifest, time);
    expect(ring.current().keyId).toBe(1);

    // Rotation 1 is applied on X: its provider refresh sends the pointer read now (it sees provider
    // key 2) but the answer is slow.
    expect(await s.rotate()).toBe(2);
    const slow = s.vault.holdNextRead(s.pointer);
    ring.refresh();
    await slow.reached;
    // Rotation 2 lands meanwhile and its AddDataKey is applied on X too.
    expect(await s.rotate()).toBe(3);
    ring.refresh();
    slow.release();
    // The refresh in flight could not know provider key 3: X must read the vault again, now,
    // not only when the next AddDataKey or read happens to come along.
    await until("data key 3 loaded on X", () => ring.pendingIds().length === 0);
    expect(x.keys.keyIds()).toEqual([1, 2, 3]);
    expect(ring.current().keyId).toBe(3);
    expect(time.now).toBe(1_000_000); // no clock moved: not a rate-limit retry
  });

  it("sync while a stale refresh is in flight refreshes again before answering", async () => {
    const s = await setup();
    const x = await s.node();
    const ring = new ManifestKeyring(x.provider, x.keys, s.manifest, new TestTime());
    expect(await s.rotate()).toBe(2);
    const slow = s.vault.holdNextRead(s.pointer);
    ring.refresh();
    await slow.reached;
    expect(await s.rotate()).toBe(3);
    const synced = ring.sync();
    slow.release();
    await synced;
    expect(ring.current().keyId).toBe(3);
  });
});

describe("the write path retries a pending data key", () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  async function openX(s: Awaited<ReturnType<typeof setup>>, time: TestTime) {
    const dir = join(s.dir, "x");
    mkdirSync(join(dir, "chunks"), { recursive: true });
    writeFileSync(
      join(dir, "enigma.toml"),
      [
        "[enigma]",
        'chunk_size = "64KiB"',
        "workers = 0",
        'key_provider = "aws-secretsmanager"',
        'secret_prefix = "race"',
        "",
        "[[providers]]",
        'name = "local"',
        'type = "Local"',
        `bucket = "${join(dir, "chunks")}"`,
        "",
      ].join("\n"),
    );
    const settings = toSettings(loadConfig({ configDir: dir, env: {} }));
    engine = await openEngine(settings, {
      keyProvider: new MemoryVaultProvider(s.vault),
      nowMs: time.nowMs,
      keyringTimer: time.setTimer,
    });
    const e = engine;
    // X's manifest stands for its replica: R's commands are "applied" to it through X's committer.
    const rKeys = await s.r.open();
    return {
      e,
      rotate: async () => {
        await s.r.rotate();
        return rotateDataKey(rKeys, e.manifest, e.committer, 3);
      },
      write: async () => {
        const body = randomBytes(100_000);
        const w = await e.writer.write(
          (async function* () {
            yield body;
          })(),
        );
        return new Set(w.chunks.map((c) => c.keyId));
      },
    };
  }

  it("a refresh that failed is retried by the next write after the interval", async () => {
    const s = await setup();
    const time = new TestTime();
    const x = await openX(s, time);
    expect(await x.write()).toEqual(new Set([1]));

    expect(await x.rotate()).toBe(2);
    // X applies the AddDataKey (node.ts refreshes the keyring then); the vault hiccups right then.
    const failed = s.vault.failNextRead(s.pointer);
    x.e.keyring.refresh();
    await failed;
    await until(
      "the failed refresh settled",
      () => x.e.keyring.pendingIds().length === 1 && time.pending() === 1,
    );
    // Old keys stay valid for writing: until the refresh succeeds X seals under data key 1.
    expect(await x.write()).toEqual(new Set([1]));

    // Past the interval, with no AddDataKey and no read: a write notices the pending key and
    // refreshes (in the background); later writes seal under the new key.
    time.now += PROVIDER_REFRESH_MIN_INTERVAL_MS;
    await x.write();
    await until("data key 2 loaded by the write path", () => x.e.keyring.pendingIds().length === 0);
    expect(await x.write()).toEqual(new Set([2]));
  });

  it("with no traffic at all, a timer retries the failed refresh", async () => {
    const s = await setup();
    const time = new TestTime();
    const x = await openX(s, time);
    expect(await x.rotate()).toBe(2);
    const failed = s.vault.failNextRead(s.pointer);
    x.e.keyring.refresh();
    await failed;
    await until("a retry is scheduled", () => time.pending() === 1);
    expect(time.advance(PROVIDER_REFRESH_MIN_INTERVAL_MS - 1)).toBe(0);
    expect(time.advance(1)).toBe(1);
    await until("data key 2 loaded by the timer", () => x.e.keyring.pendingIds().length === 0);
    expect(x.e.keyring.current().keyId).toBe(2);
    expect(time.pending()).toBe(0);
  });
});
