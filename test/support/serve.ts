/**
 * A real `enigma serve` process for gateway tests: its own data dir (keystore with cheap Argon2,
 * enigma.toml), S3 and ops ports picked free on 127.0.0.1, ready when `/readyz` answers 200.
 * Stopped by PID (SIGTERM, then SIGKILL after a grace period). Also an SDK client for it and a
 * probe that inspects what it stored through S3 only (the manifest belongs to the process).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import type { ObjectInfo } from "../../packages/s3/src/index.js";
import type { BackendProbe } from "../../packages/s3/src/testing/harness.js";
import { spawnEnigma } from "./cli.js";
import { prepareDataDir, TEST_PASSPHRASE, type TestEngineOptions } from "./engine.js";
import { freePort, lostPortRace } from "./ports.js";

export const SERVE_ACCESS_KEY = "AKIAGATEWAYTEST00001";
export const SERVE_SECRET_KEY = "gateway-test-secret-0000000000000000001";
export const SERVE_REGION = "us-east-1";

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 30_000;
/** Keep only the tail of the process's stderr (it logs every request at info level). */
const STDERR_KEEP_BYTES = 256 * 1024;

export interface ServeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** From `peak-rss-bytes=N` on stderr (ENIGMA_REPORT_PEAK_RSS=1), when printed. */
  readonly peakRssBytes: number | undefined;
}

export interface ServeProcess {
  readonly pid: number;
  readonly dataDir: string;
  readonly s3Url: string;
  readonly opsUrl: string;
  /** The stderr seen so far (tail). */
  stderr(): string;
  /** VmHWM (peak resident set) of the live process from /proc, in bytes; undefined if unreadable. */
  peakRssFromProc(): number | undefined;
  /** SIGTERM by PID, wait for exit (SIGKILL after a grace period), remove the data dir if ours. */
  stop(): Promise<ServeExit>;
}

export interface ServeOptions extends TestEngineOptions {
  /** Extra environment for the process. */
  readonly env?: Readonly<Record<string, string>>;
  readonly logLevel?: string;
  /** `dir` already holds a keystore and enigma.toml (a restart): leave them as they are. */
  readonly prepared?: boolean;
}

/** Attempts when the process loses the race for a port picked for it (EADDRINUSE). */
const PORT_RACE_ATTEMPTS = 4;

class PortRaceError extends Error {}

export async function startServe(opts: ServeOptions = {}): Promise<ServeProcess> {
  const ownDir = opts.dir === undefined;
  const dataDir = opts.dir ?? mkdtempSync(join(tmpdir(), "enigma-serve-"));
  try {
    if (!opts.prepared) await prepareDataDir(dataDir, opts);
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dataDir, ownDir, opts);
      } catch (err) {
        if (!(err instanceof PortRaceError) || attempt >= PORT_RACE_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(dataDir: string, ownDir: boolean, opts: ServeOptions): Promise<ServeProcess> {
  const [s3Port, opsPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawnEnigma(
    ["serve", "--data-dir", dataDir, "--log-level", opts.logLevel ?? "warn"],
    {
      env: {
        ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
        ENIGMA_ACCESS_KEY: SERVE_ACCESS_KEY,
        ENIGMA_SECRET_KEY: SERVE_SECRET_KEY,
        ENIGMA_S3_PROXY_LISTEN_ADDR: `127.0.0.1:${s3Port}`,
        ENIGMA_OPS_LISTEN_ADDR: `127.0.0.1:${opsPort}`,
        ENIGMA_CONFIG_DIR: undefined,
        ...opts.env,
      },
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("enigma serve did not start");
  child.stdin?.end();
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
    if (stderr.length > 2 * STDERR_KEEP_BYTES) stderr = stderr.slice(-STDERR_KEEP_BYTES);
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => {
    exit = e;
  });

  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const stop = async (removeDir = ownDir): Promise<ServeExit> => {
    if (exit === undefined) {
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (exit === undefined) process.kill(pid, "SIGKILL");
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    const done = await exited;
    if (removeDir) rmSync(dataDir, { recursive: true, force: true });
    const rss = /peak-rss-bytes=(\d+)/.exec(stderr)?.[1];
    return { ...done, stderr, peakRssBytes: rss === undefined ? undefined : Number(rss) };
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exit !== undefined) {
      const message = `enigma serve exited (${exit.code ?? exit.signal}) before ready:\n${stderr}`;
      throw lostPortRace(stderr) ? new PortRaceError(message) : new Error(message);
    }
    const ready = await fetch(`${opsUrl}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop(false);
      throw new Error(`enigma serve not ready after ${READY_TIMEOUT_MS} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid,
    dataDir,
    s3Url: `http://127.0.0.1:${s3Port}`,
    opsUrl,
    stderr: () => stderr,
    peakRssFromProc() {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    },
    stop: () => stop(),
  };
}

/** The S3 error a request failed with (name, HTTP status, message); throws if it succeeded. */
export async function s3Failure(
  p: Promise<unknown>,
): Promise<{ name: string; status: number; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException)
      return { name: err.name, status: err.$metadata.httpStatusCode ?? 0, message: err.message };
    throw err;
  }
  throw new Error("expected the request to fail");
}

export function serveClient(
  serve: Pick<ServeProcess, "s3Url">,
  opts: { maxAttempts?: number } = {},
): S3Client {
  return new S3Client({
    endpoint: serve.s3Url,
    region: SERVE_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: SERVE_ACCESS_KEY, secretAccessKey: SERVE_SECRET_KEY },
    maxAttempts: opts.maxAttempts ?? 1,
  });
}

/**
 * What a gateway stored, seen through S3 only. `partsCount` comes from the multipart ETag suffix
 * (HEAD answers x-amz-mp-parts-count only with ?partNumber, which multipart objects refuse).
 */
export function s3Probe(client: S3Client): BackendProbe {
  const notFound = (err: unknown) =>
    err instanceof S3ServiceException && (err.name === "NotFound" || err.name === "NoSuchKey");
  const head = async (bucket: string, key: string): Promise<ObjectInfo | undefined> => {
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const etag = (h.ETag ?? "").replace(/"/g, "");
      const parts = /-(\d+)$/.exec(etag)?.[1];
      return {
        key,
        sizeBytes: h.ContentLength ?? 0,
        etag,
        lastModifiedMs: h.LastModified?.getTime() ?? 0,
        metadata: { userMetadata: h.Metadata ?? {} },
        checksums: {},
        ...(parts === undefined ? {} : { partsCount: Number(parts) }),
      };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  };
  return {
    head,
    async peek(bucket, key) {
      const info = await head(bucket, key);
      if (info === undefined) return undefined;
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const data = Buffer.from(await got.Body!.transformToByteArray());
      return { info, data, chunkSizes: [] };
    },
    async objectCount(bucket) {
      let n = 0;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        n += page.KeyCount ?? 0;
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return n;
    },
  };
}
