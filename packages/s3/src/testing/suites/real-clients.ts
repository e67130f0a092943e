/**
 * Real S3 clients against a gateway: aws-cli (every version found), rclone and s3cmd. Each client
 * runs with a throw-away HOME and config files in a temp dir, and only talks to 127.0.0.1. A missing
 * binary skips its block with a printed reason. The gateway is a `ClientTarget`: the front end over
 * the in-memory double (this package) or a real `enigma serve` process (test/s3-gateway).
 */
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendProbe } from "../harness.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const CLIENT_TIMEOUT_MS = 120_000;
/** Per-test budget: the clients share two busy cores, and every aws-cli call starts a Python. */
const TEST_TIMEOUT_MS = 170_000;

function version(bin: string): string | undefined {
  const res = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (res.error !== undefined || res.status !== 0) return undefined;
  return `${res.stdout}${res.stderr}`.trim().split("\n")[0];
}

/** Every distinct aws-cli: the one on PATH and Debian's, when they differ (v1 vs v2 behave differently). */
const awsBinaries = (() => {
  const found = new Map<string, string>();
  // A pyenv shim costs a second per call; resolve it to the real script when pyenv is there.
  const viaPyenv = spawnSync("pyenv", ["which", "aws"], { encoding: "utf8", timeout: 30_000 });
  const pathAws = viaPyenv.status === 0 && viaPyenv.stdout.trim() !== "" ? viaPyenv.stdout.trim() : "aws";
  for (const bin of [pathAws, "/usr/bin/aws"]) {
    const v = version(bin);
    if (v !== undefined && ![...found.values()].includes(v)) found.set(bin, v);
  }
  return [...found];
})();
const rcloneVersion = version("rclone");
const s3cmdVersion = version("s3cmd");

/** A running gateway the clients talk to, and how to see what it stored. */
export interface ClientTarget {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  probe: BackendProbe;
  close(): Promise<void>;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const pieces: Buffer[] = [];
  for (let left = bytes; left > 0; left -= 4 * MiB) pieces.push(randomBytes(Math.min(left, 4 * MiB)));
  await writeFile(path, Buffer.concat(pieces));
}

async function sameFile(a: string, b: string): Promise<boolean> {
  // `cmp` when present (the brief's check), a byte comparison otherwise.
  const cmp = spawnSync("cmp", [a, b]);
  if (cmp.error === undefined) return cmp.status === 0;
  return (await readFile(a)).equals(await readFile(b));
}

async function sh(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run(bin, args, { env, timeout: CLIENT_TIMEOUT_MS, maxBuffer: 16 * MiB });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

/** Registers the real-client tests against the gateway `start` returns (one for all clients). */
export function realClientsSuite(start: () => Promise<ClientTarget>, label = "real-clients"): void {
  if (awsBinaries.length === 0) console.log(`${label}: skipping aws-cli tests: no aws binary found`);
  if (rcloneVersion === undefined) console.log(`${label}: skipping rclone tests: rclone not found`);
  if (s3cmdVersion === undefined) console.log(`${label}: skipping s3cmd tests: s3cmd not found`);

  let t: ClientTarget;
  let dir: string;
  let bigFile: string;
  let mediumFile: string;
  let tree: string;
  let baseEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    t = await start();
    dir = await mkdtemp(join(tmpdir(), "enigma-s3-clients-"));
    bigFile = join(dir, "big.bin");
    mediumFile = join(dir, "medium.bin");
    await writeRandomFile(bigFile, 64 * MiB);
    await writeRandomFile(mediumFile, 20 * MiB + 12345);
    tree = join(dir, "tree");
    await mkdir(join(tree, "sub dir", "deeper"), { recursive: true });
    await writeFile(join(tree, "a.txt"), "alpha\n");
    await writeFile(join(tree, "sub dir", "b+plus.txt"), "bravo\n");
    await writeFile(join(tree, "sub dir", "deeper", "ünïcödé.txt"), "charlie\n");
    await writeFile(join(tree, "sub dir", "deeper", "random.bin"), randomBytes(300_000));
    await writeFile(join(tree, "empty"), "");
    // Inherit PATH etc., but nothing that would point a client at other endpoints, CAs or configs.
    baseEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(AWS_|RCLONE_|S3CMD)/.test(k) && k !== "HOME"),
    );
    baseEnv.HOME = dir;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  // The clients run concurrently: they mostly wait on their own (Python) start-up.
  describe.concurrent("real clients", () => {
    for (const [index, [bin, awsVersion]] of awsBinaries.entries()) {
      const bucket = `aws-${index}`;
      // The first aws-cli gets the whole tour; others (a second major version) the 64 MiB round trip.
      const full = index === 0;
      const env = () => ({
        ...baseEnv,
        AWS_ACCESS_KEY_ID: t.accessKeyId,
        AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
        AWS_DEFAULT_REGION: t.region,
        AWS_CONFIG_FILE: join(dir, "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, "aws-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_PAGER: "",
      });
      const aws = (...args: string[]) => sh(bin, ["--endpoint-url", t.url, ...args], env());

      it(`aws-cli: mb, cp (64 MiB multipart) up and down, then ls, sync, rm (${awsVersion})`, {
        timeout: TEST_TIMEOUT_MS,
      }, async () => {
        await aws("s3", "mb", `s3://${bucket}`);
        await aws("s3", "cp", "--only-show-errors", bigFile, `s3://${bucket}/big/big.bin`);
        const stored = await t.probe.head(bucket, "big/big.bin");
        expect(stored?.sizeBytes).toBe(64 * MiB);
        expect(stored?.partsCount).toBeGreaterThan(1);
        expect(stored?.etag).toMatch(/-\d+$/);
        const down = join(dir, `${bucket}-down.bin`);
        await aws("s3", "cp", "--only-show-errors", `s3://${bucket}/big/big.bin`, down);
        expect(await sameFile(bigFile, down)).toBe(true);
        if (!full) {
          await aws("s3", "rm", "--only-show-errors", `s3://${bucket}/big/big.bin`);
          expect(await t.probe.objectCount(bucket)).toBe(0);
          return;
        }
        await aws("s3", "sync", "--only-show-errors", tree, `s3://${bucket}/tree`);
        const listing = await aws("s3", "ls", "--recursive", `s3://${bucket}/tree/`);
        for (const name of [
          "a.txt",
          "sub dir/b+plus.txt",
          "sub dir/deeper/ünïcödé.txt",
          "sub dir/deeper/random.bin",
          "empty",
        ]) {
          expect(listing).toContain(`tree/${name}`);
        }
        // A second sync must find nothing to do.
        expect((await aws("s3", "sync", tree, `s3://${bucket}/tree`)).trim()).toBe("");
        const back = join(dir, `${bucket}-tree-back`);
        await aws("s3", "sync", "--only-show-errors", `s3://${bucket}/tree`, back);
        expect(
          await sameFile(
            join(tree, "sub dir", "deeper", "random.bin"),
            join(back, "sub dir", "deeper", "random.bin"),
          ),
        ).toBe(true);
        const top = await aws("s3", "ls", `s3://${bucket}/`);
        expect(top).toContain("PRE big/");
        expect(top).toContain("PRE tree/");
        await aws("s3", "rm", "--recursive", "--only-show-errors", `s3://${bucket}/tree`);
        await aws(
          "s3api",
          "delete-objects",
          "--bucket",
          bucket,
          "--delete",
          JSON.stringify({ Objects: [{ Key: "big/big.bin" }] }),
        );
        expect(await t.probe.objectCount(bucket)).toBe(0);
        await aws("s3", "rb", `s3://${bucket}`);
      });
    }

    const rcloneEnv = () => ({
      ...baseEnv,
      RCLONE_CONFIG: join(dir, "rclone.conf"),
      RCLONE_CONFIG_ENIGMA_TYPE: "s3",
      RCLONE_CONFIG_ENIGMA_PROVIDER: "Other",
      RCLONE_CONFIG_ENIGMA_ACCESS_KEY_ID: t.accessKeyId,
      RCLONE_CONFIG_ENIGMA_SECRET_ACCESS_KEY: t.secretAccessKey,
      RCLONE_CONFIG_ENIGMA_ENDPOINT: t.url,
      RCLONE_CONFIG_ENIGMA_REGION: t.region,
    });
    const rclone = (...args: string[]) => sh("rclone", args, rcloneEnv());

    it.skipIf(rcloneVersion === undefined)(
      `rclone: copy, check, sync and multipart (${rcloneVersion})`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        await writeFile(join(dir, "rclone.conf"), "");
        const src = join(dir, "rclone-src");
        await rclone("copy", tree, src);
        await rclone("copy", mediumFile, `${src}/media`);
        await rclone("mkdir", "enigma:rclone");
        await rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", src, "enigma:rclone/data");
        expect((await t.probe.head("rclone", "data/media/medium.bin"))?.partsCount).toBeGreaterThan(1);
        await rclone("check", src, "enigma:rclone/data");
        await writeFile(join(src, "a.txt"), "changed\n");
        await rm(join(src, "empty"));
        await writeFile(join(src, "new.txt"), "new\n");
        await rclone("sync", src, "enigma:rclone/data");
        await rclone("check", src, "enigma:rclone/data");
        expect(await t.probe.head("rclone", "data/empty")).toBeUndefined();
        expect((await t.probe.peek("rclone", "data/a.txt"))?.data.toString()).toBe("changed\n");
        const back = join(dir, "rclone-back");
        await rclone("copy", "enigma:rclone/data", back);
        expect(await sameFile(mediumFile, join(back, "media", "medium.bin"))).toBe(true);
        await rclone("purge", "enigma:rclone");
      },
    );

    it.skipIf(s3cmdVersion === undefined)(
      `s3cmd: mb, put (multipart), get, ls, del (${s3cmdVersion})`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const config = join(dir, "s3cfg");
        const host = t.url.replace(/^http:\/\//, "");
        await writeFile(
          config,
          [
            "[default]",
            `access_key = ${t.accessKeyId}`,
            `secret_key = ${t.secretAccessKey}`,
            `host_base = ${host}`,
            `host_bucket = ${host}`,
            "use_https = False",
            "signature_v2 = False",
            `bucket_location = ${t.region}`,
            "",
          ].join("\n"),
        );
        const s3cmd = (...args: string[]) => sh("s3cmd", ["-c", config, ...args], baseEnv);
        await s3cmd("mb", "s3://s3cmd-bucket");
        await s3cmd("put", mediumFile, "s3://s3cmd-bucket/medium.bin");
        expect((await t.probe.head("s3cmd-bucket", "medium.bin"))?.partsCount).toBeGreaterThan(1);
        await s3cmd("put", join(tree, "a.txt"), "s3://s3cmd-bucket/dir/a.txt");
        const listing = await s3cmd("ls", "--recursive", "s3://s3cmd-bucket");
        expect(listing).toContain("s3://s3cmd-bucket/medium.bin");
        expect(listing).toContain("s3://s3cmd-bucket/dir/a.txt");
        const down = join(dir, "s3cmd-down.bin");
        await s3cmd("get", "--force", "s3://s3cmd-bucket/medium.bin", down);
        expect(await sameFile(mediumFile, down)).toBe(true);
        await s3cmd("del", "s3://s3cmd-bucket/dir/a.txt");
        await s3cmd("del", "--recursive", "--force", "s3://s3cmd-bucket/");
        expect(await t.probe.objectCount("s3cmd-bucket")).toBe(0);
        await s3cmd("rb", "s3://s3cmd-bucket");
      },
    );
  });
}
