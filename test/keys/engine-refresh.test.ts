/**
 * Rotation on a running cluster, in-process against the AWS fake: nodes A and C opened the key
 * provider before node B rotated it. B's new data key (wrapped under the new provider key) reaches
 * them through the shared manifest; their unwrap fails until they refresh the provider once:
 * A through `keyring.sync()` (what a node does when it applies AddDataKey), C by simply reading a
 * chunk B sealed under the new key. Closing an engine zeroes its key material.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AwsSecretsManagerProvider } from "../../packages/crypto/src/index.js";
import {
  type Engine,
  loadConfig,
  openEngine,
  rotateDataKey,
  toSettings,
} from "../../packages/server/src/index.js";
import {
  AWS_FAKE_ACCESS_KEY_ID,
  AWS_FAKE_SECRET_ACCESS_KEY,
  AwsSecretsManagerFake,
} from "../fakes/aws-secretsmanager-fake.js";
import { newPrefix } from "./vaults.js";

let fake: AwsSecretsManagerFake;
const dir = mkdtempSync(join(tmpdir(), "enigma-keys-refresh-"));
const prefix = newPrefix();
const engines: Engine[] = [];

const provider = () =>
  new AwsSecretsManagerProvider({
    region: "us-east-1",
    secretPrefix: prefix,
    endpoint: fake.endpoint,
    credentials: { accessKeyId: AWS_FAKE_ACCESS_KEY_ID, secretAccessKey: AWS_FAKE_SECRET_ACCESS_KEY },
    maxRetries: 0,
  });

async function open(): Promise<Engine> {
  const settings = toSettings(loadConfig({ configDir: dir, env: {} }));
  const e = await openEngine(settings, { keyProvider: provider() });
  engines.push(e);
  return e;
}

beforeAll(async () => {
  fake = await AwsSecretsManagerFake.start();
  writeFileSync(
    join(dir, "enigma.toml"),
    `[enigma]\nchunk_size = "64KiB"\nkey_provider = "aws-secretsmanager"\naws_region = "us-east-1"\nsecret_prefix = "${prefix}"\n`,
  );
  const p = provider();
  await p.create();
  await p.close();
});

afterAll(async () => {
  for (const e of engines) await e.close();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("nodes that opened before another node rotated pick up the new provider key by one refresh", async () => {
  const a = await open();
  const c = await open();
  const b = await open();
  expect(a.keyring.ids()).toEqual([1]);
  expect(a.keystore.keyIds()).toEqual([1]);

  // B: a new provider key in the vault, then a data key wrapped under it through the manifest.
  const rotated = await b.keyProvider.rotate();
  expect(rotated.keyId).toBe(2);
  const dataKeyId = await rotateDataKey(b.keystore, b.manifest, b.committer, Date.now());
  await b.keyring.sync();
  expect(b.keyring.current().keyId).toBe(dataKeyId);
  const body = randomBytes(200_000);
  const written = await b.writer.write(
    (async function* () {
      yield body;
    })(),
  );
  expect(written.chunks.every((ch) => ch.keyId === dataKeyId)).toBe(true);

  // A cannot unwrap the new data key with the provider keys it loaded at start...
  const row = a.manifest.dataKeys().find((k) => k.keyId === dataKeyId)!;
  expect(() => a.keystore.unwrapDataKey(dataKeyId, row.wrappedHex)).toThrow(/refresh the key provider/);
  a.keyring.refresh();
  // ...and one provider refresh later it can, and seals new chunks with it.
  await a.keyring.sync();
  expect(a.keyring.pendingIds()).toEqual([]);
  expect(a.keystore.keyIds()).toEqual([1, 2]);
  expect(a.keyring.current().keyId).toBe(dataKeyId);

  // C never synced: reading B's chunk makes it refresh once and read.
  expect(c.keystore.keyIds()).toEqual([1]);
  const pieces: Buffer[] = [];
  for await (const piece of c.reader.read(written.chunks)) pieces.push(piece);
  expect(Buffer.concat(pieces).equals(body)).toBe(true);
  expect(c.keystore.keyIds()).toEqual([1, 2]);
});

it("closing an engine zeroes the key material it used", async () => {
  const e = await open();
  const { nameKey, chainKey, credKey } = e.keystore;
  expect(nameKey.some((x) => x !== 0)).toBe(true);
  engines.splice(engines.indexOf(e), 1);
  await e.close();
  for (const k of [nameKey, chainKey, credKey]) expect(k.every((x) => x === 0)).toBe(true);
  expect(() => e.keystore.wrapDataKey(9, Buffer.alloc(32))).toThrow(/closed/);
});
