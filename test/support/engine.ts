/**
 * An `Engine` (the real data plane of `enigma serve`) in a temp dir: keystore with cheap Argon2
 * parameters, local chunk storage, small chunks so multi-chunk objects and ranges are exercised.
 * Used by the gateway tests that run the S3 suites over `EngineObjectService`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKeystore } from "../../packages/crypto/src/index.js";
import type { Manifest } from "../../packages/manifest/src/index.js";
import type { ObjectInfo } from "../../packages/s3/src/index.js";
import type { BackendFactory, TestBackend } from "../../packages/s3/src/testing/harness.js";
import {
  type Engine,
  EngineObjectService,
  loadConfig,
  openEngine,
  proposeOrThrow,
  toSettings,
} from "../../packages/server/src/index.js";

export const TEST_PASSPHRASE = "gateway test passphrase";
/** Cheap enough for tests; the keystore records them, so every open uses them too. */
export const TEST_ARGON2 = { memoryKiB: 8192, iterations: 1, parallelism: 1 } as const;

export interface TestEngineOptions {
  /** `[enigma] chunk_size` (default 64KiB: a few MiB already spans many chunks). */
  readonly chunkSize?: string;
  /** Extra TOML appended to the `[enigma]` section. */
  readonly extraToml?: string;
  /** Use this directory (created by the caller) instead of a fresh temp dir. */
  readonly dir?: string;
}

export interface TestEngine {
  readonly dir: string;
  readonly engine: Engine;
  /** Closes the engine and removes the temp dir (unless the caller gave it). */
  close(): Promise<void>;
}

/** Writes enigma.toml and a keystore into `dir`: what `enigma serve --data-dir dir` then opens. */
export async function prepareDataDir(dir: string, opts: TestEngineOptions = {}): Promise<void> {
  const toml = `[enigma]\nchunk_size = "${opts.chunkSize ?? "64KiB"}"\n${opts.extraToml ?? ""}`;
  writeFileSync(join(dir, "enigma.toml"), toml);
  await createKeystore(join(dir, "keystore.enigma"), TEST_PASSPHRASE, { argon2: TEST_ARGON2 });
}

/**
 * Writes `bytes` through the engine's chunk pipeline and commits them as object `key` (the path a
 * PUT takes, without HTTP). `etag` defaults to the content's MD5; `extra` adds command fields.
 */
export async function putBytes(
  engine: Pick<Engine, "writer" | "committer">,
  bucket: string,
  key: string,
  bytes: Uint8Array,
  opts: { etag?: string; extra?: Record<string, unknown> } = {},
) {
  const written = await engine.writer.write(
    (async function* () {
      yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    })(),
  );
  await proposeOrThrow(engine.committer, {
    type: "PutObject",
    bucket,
    key,
    size: written.size,
    etag: opts.etag ?? written.md5Hex,
    meta: {},
    lastModifiedMs: Date.now(),
    chunks: written.chunks,
    ...opts.extra,
  } as never);
  return written;
}

export async function openTestEngine(opts: TestEngineOptions = {}): Promise<TestEngine> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "enigma-engine-"));
  try {
    await prepareDataDir(dir, opts);
    const settings = toSettings(loadConfig({ configDir: dir, env: {} }));
    const engine = await openEngine(settings, { passphrase: TEST_PASSPHRASE });
    return {
      dir,
      engine,
      async close() {
        await engine.close();
        if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The real engine as a backend for the shared S3 suites (packages/s3/src/testing/suites): the port
 * is `EngineObjectService`; inspections read the manifest and the chunk store directly.
 */
export interface EngineTestBackend extends TestBackend {
  readonly engine: Engine;
  readonly dir: string;
}

export function engineBackend(opts: TestEngineOptions = {}): BackendFactory<EngineTestBackend> {
  return async () => {
    const t = await openTestEngine(opts);
    const { engine } = t;
    const service = new EngineObjectService(engine);
    // Count chunk fetches: ChunkReader.read goes through the instance's readChunk.
    let chunkReads = 0;
    const readChunk = engine.reader.readChunk.bind(engine.reader);
    engine.reader.readChunk = (ref) => {
      chunkReads++;
      return readChunk(ref);
    };
    const head = async (bucket: string, key: string): Promise<ObjectInfo | undefined> => {
      if (engine.manifest.headObject(bucket, key) === undefined) return undefined;
      return service.headObject({ bucket, key, consistency: "local" });
    };
    return {
      name: "engine",
      engine,
      dir: t.dir,
      service,
      head,
      async peek(bucket, key) {
        const stored = engine.manifest.getObject(bucket, key);
        const info = await head(bucket, key);
        if (stored === undefined || info === undefined) return undefined;
        const pieces: Buffer[] = [];
        for await (const piece of engine.reader.read(stored.chunks)) pieces.push(piece);
        return { info, data: Buffer.concat(pieces), chunkSizes: stored.chunks.map((c) => c.size) };
      },
      async objectCount(bucket) {
        return countObjects(engine.manifest, bucket);
      },
      async seed(bucket, key, data) {
        await putBytes(engine, bucket, key, typeof data === "string" ? Buffer.from(data) : data);
      },
      chunkReads: () => chunkReads,
      listRowsVisited: () => engine.manifest.listCounters().rows,
      close: () => t.close(),
    };
  };
}

/** Objects in `bucket`, counted through the manifest's own listing (all pages). */
export function countObjects(manifest: Manifest, bucket: string): number {
  if (manifest.getBucket(bucket) === undefined) return 0;
  let n = 0;
  let startAfter: string | undefined;
  for (;;) {
    const page = manifest.listObjects({ bucket, maxKeys: 1000, ...(startAfter ? { startAfter } : {}) });
    n += page.contents.length;
    if (!page.isTruncated) return n;
    startAfter = page.nextStartAfter;
  }
}
