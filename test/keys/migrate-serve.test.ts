/**
 * A node's keys move between providers without touching a chunk: `enigma serve` on the local
 * keystore stores objects over S3; `keys migrate --to aws-secretsmanager` copies the keystore into
 * the vault (fake); the keystore file is retired; `enigma serve` on the vault provider (no
 * passphrase) reads the old objects byte-identical and stores new ones; `keys migrate --to local`
 * brings the key set back into a key-set file, from which a node reads everything again. Also: a
 * node whose vault is down at start-up refuses to start, naming the provider and the secret.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunResult, runEnigma } from "../support/cli.js";
import { TEST_PASSPHRASE } from "../support/engine.js";
import { type ServeProcess, serveClient, startServe } from "../support/serve.js";
import { newPrefix, startVault, type VaultUnderTest } from "./vaults.js";

const work = mkdtempSync(join(tmpdir(), "enigma-keys-migrate-"));
let vault: VaultUnderTest;
const running: ServeProcess[] = [];

beforeAll(async () => {
  vault = await startVault("aws-secretsmanager", work);
});
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});
afterAll(async () => {
  await vault?.close();
  rmSync(work, { recursive: true, force: true });
});

const BUCKET = "keys-demo";
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function serve(dir: string, extraToml: string, env: Record<string, string | undefined> = {}) {
  const s = await startServe({ dir, extraToml, env: { ...vault.env(), ...env } as Record<string, string> });
  running.push(s);
  return s;
}

async function stop(s: ServeProcess) {
  running.splice(running.indexOf(s), 1);
  const exit = await s.stop();
  expect(exit.code).toBe(0);
  return exit;
}

async function get(client: S3Client, key: string): Promise<string> {
  const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return sha(await r.Body!.transformToByteArray());
}

async function ok(args: string[], env: Record<string, string | undefined>): Promise<RunResult> {
  const r = await runEnigma(args, { env: { ...vault.env(), ...env } });
  if (r.code !== 0) throw new Error(`enigma ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

describe("keys migrate local → vault → local, serving S3 throughout", () => {
  it("objects written under the local keystore are read by a node on the vault, and back", async () => {
    const dir = join(work, "node");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir);
    const prefix = newPrefix();
    const written = new Map<string, string>();

    // 1. Local keystore (startServe writes keystore.enigma under TEST_PASSPHRASE).
    let node = await serve(dir, "", { ENIGMA_PASSPHRASE: TEST_PASSPHRASE });
    let client = serveClient(node);
    await client.send(new (await import("@aws-sdk/client-s3")).CreateBucketCommand({ Bucket: BUCKET }));
    for (const key of ["small", "multi-chunk"]) {
      const body = randomBytes(key === "small" ? 1000 : 300_000);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      written.set(key, sha(body));
    }
    client.destroy();
    await stop(node);

    // 2. Copy the keystore into the vault; the config still says local, so the passphrase is needed.
    const migrated = JSON.parse(
      (
        await ok(
          [
            "--config-dir",
            dir,
            "keys",
            "migrate",
            "--to",
            "aws-secretsmanager",
            "--aws-region",
            "us-east-1",
            "--secret-prefix",
            prefix,
            "--json",
          ],
          { ENIGMA_PASSPHRASE: TEST_PASSPHRASE },
        )
      ).stdout.toString(),
    ) as { providerKeyIds: number[]; config: string[] };
    expect(migrated.providerKeyIds).toEqual([1]);
    expect(migrated.config).toContain('key_provider = "aws-secretsmanager"');
    expect(vault.raw(`${prefix}-1`)).toContain('"derivation":"keystore-v1"');
    // Retire the keystore file: from now on the keys exist only in the vault. (startServe writes
    // a fresh, unrelated keystore.enigma; a vault node never reads it.)
    renameSync(join(dir, "keystore.enigma"), join(dir, "retired-keystore.enigma"));

    // 3. A node on the vault, with no passphrase at all, reads what was written under the keystore.
    node = await serve(dir, vault.toml(prefix), { ENIGMA_PASSPHRASE: undefined });
    client = serveClient(node);
    for (const [key, digest] of written) expect(await get(client, key)).toBe(digest);
    const fresh = randomBytes(200_000);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "from-vault-node", Body: fresh }));
    written.set("from-vault-node", sha(fresh));
    client.destroy();
    await stop(node);

    // 4. Back to a local key-set file (keystore format v2) under a passphrase.
    const back = await ok(
      [
        "--config-dir",
        dir,
        "keys",
        "migrate",
        "--to",
        "local",
        "--keyfile",
        join(dir, "back.enigma"),
        "--json",
      ],
      {
        ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
        ENIGMA_ENIGMA_KEY_PROVIDER: "aws-secretsmanager",
        ENIGMA_ENIGMA_AWS_REGION: "us-east-1",
        ENIGMA_ENIGMA_SECRET_PREFIX: prefix,
      },
    );
    expect(JSON.parse(back.stdout.toString()).to.kind).toBe("local");
    rmSync(join(dir, "keystore.enigma")); // the decoy startServe wrote in step 3
    node = await serve(dir, 'keyfile_path = "back.enigma"\n', { ENIGMA_PASSPHRASE: TEST_PASSPHRASE });
    client = serveClient(node);
    for (const [key, digest] of written) expect(await get(client, key)).toBe(digest);
    client.destroy();
    await stop(node);
  }, 300_000);
});

describe("a vault that is down when the node starts", () => {
  it("the node refuses to start, naming the provider and the secret", async () => {
    const dir = join(work, "down");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir);
    const prefix = newPrefix();
    await expect(
      serve(dir, vault.toml(prefix), { ...(await vault.downEnv()), ENIGMA_PASSPHRASE: undefined }),
    ).rejects.toThrow(
      new RegExp(
        `aws-secretsmanager .*vault unreachable reading secret "${prefix}-current".*does not start or serve writes`,
      ),
    );
  }, 120_000);

  it("a vault without a key set: the node says to run init", async () => {
    const dir = join(work, "empty");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir);
    const prefix = newPrefix();
    await expect(serve(dir, vault.toml(prefix), { ENIGMA_PASSPHRASE: undefined })).rejects.toThrow(
      new RegExp(`secret "${prefix}-current" not found.*enigma init --key-provider aws-secretsmanager`),
    );
  }, 120_000);
});
