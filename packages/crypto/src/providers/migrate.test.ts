import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_FAKE_ACCESS_KEY_ID,
  AWS_FAKE_SECRET_ACCESS_KEY,
  AwsSecretsManagerFake,
} from "../../../../test/fakes/aws-secretsmanager-fake.js";
import { GCP_FAKE_TOKEN, GcpSecretManagerFake } from "../../../../test/fakes/gcp-secretmanager-fake.js";
import type { Argon2Params } from "../argon2-params.js";
import { createKeystore } from "../keystore.js";
import { AwsSecretsManagerProvider } from "./aws-secrets-manager.js";
import { GcpSecretManagerProvider } from "./gcp-secret-manager.js";
import type { KeyProvider } from "./key-provider.js";
import { LocalKeystoreProvider } from "./local-keystore-provider.js";
import { migrateKeySet } from "./migrate.js";

const FAST: Partial<Argon2Params> = { memoryKiB: 8 * 1024, iterations: 1 };
const PASS = "migration passphrase";

let aws: AwsSecretsManagerFake;
let gcp: GcpSecretManagerFake;
let dir: string;
const open: KeyProvider[] = [];
beforeAll(async () => {
  [aws, gcp] = await Promise.all([AwsSecretsManagerFake.start(), GcpSecretManagerFake.start()]);
  dir = await mkdtemp(join(tmpdir(), "enigma-migrate-"));
});
afterAll(async () => {
  for (const p of open) await p.close();
  await Promise.all([aws?.close(), gcp?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const track = <P extends KeyProvider>(p: P): P => {
  open.push(p);
  return p;
};
const prefix = () => `m${randomBytes(4).toString("hex")}`;
const awsProvider = (secretPrefix: string) =>
  track(
    new AwsSecretsManagerProvider({
      region: "us-east-1",
      secretPrefix,
      endpoint: aws.endpoint,
      credentials: { accessKeyId: AWS_FAKE_ACCESS_KEY_ID, secretAccessKey: AWS_FAKE_SECRET_ACCESS_KEY },
      maxRetries: 0,
    }),
  );
const gcpProvider = (secretPrefix: string) =>
  track(
    new GcpSecretManagerProvider({
      projectId: "migrate-test",
      secretPrefix,
      endpoint: gcp.endpoint,
      accessToken: GCP_FAKE_TOKEN,
      maxRetries: 0,
    }),
  );
const local = (name: string) =>
  track(new LocalKeystoreProvider({ path: join(dir, name), passphrase: PASS, argon2: FAST }));

describe("migrateKeySet", () => {
  it("local v1 → AWS → (rotate) → GCP → local v2: chunk names and every wrapped data key survive", async () => {
    // An existing cluster: a v1 keystore and a data key wrapped under it (as in the manifest).
    const ks = await createKeystore(join(dir, "v1.enigma"), PASS, { argon2: FAST });
    const dk1 = ks.newDataKey(1);
    const v1 = local("v1.enigma");

    const awsPrefix = prefix();
    const toAws = awsProvider(awsPrefix);
    expect(await migrateKeySet(v1, toAws)).toEqual({
      keystoreId: ks.keystoreId,
      keyIds: [1],
      currentKeyId: 1,
    });
    // The vault holds the keystore root as provider key 1, never the Argon2 output or salt.
    expect(JSON.parse(aws.rawCurrent(`${awsPrefix}-1`)!)).toMatchObject({ derivation: "keystore-v1" });
    const inAws = await awsProvider(awsPrefix).open();
    expect(inAws.nameKey.equals(ks.nameKey)).toBe(true);
    expect(inAws.unwrapDataKey(1, dk1.wrapped).equals(dk1.key)).toBe(true);

    // The vault-backed cluster rotates its provider key and a new data key is wrapped under it.
    const rotator = awsProvider(awsPrefix);
    await rotator.rotate();
    const dk2 = (await rotator.open()).newDataKey(2);

    const gcpPrefix = prefix();
    expect(await migrateKeySet(awsProvider(awsPrefix), gcpProvider(gcpPrefix))).toMatchObject({
      keyIds: [1, 2],
      currentKeyId: 2,
    });
    const back = local("v2.enigma");
    await migrateKeySet(gcpProvider(gcpPrefix), back);
    const inFile = await local("v2.enigma").open();
    expect(inFile.nameKey.equals(ks.nameKey)).toBe(true);
    expect(inFile.chainKey.equals(ks.chainKey)).toBe(true);
    expect(inFile.credKey.equals(ks.credKey)).toBe(true);
    expect(inFile.unwrapDataKey(1, dk1.wrapped).equals(dk1.key)).toBe(true);
    expect(inFile.unwrapDataKey(2, dk2.wrapped).equals(dk2.key)).toBe(true);
    expect(inFile.currentKeyId).toBe(2);
  });

  it("refuses a target that already holds keys, and leaves it unchanged", async () => {
    const source = awsProvider(prefix());
    await source.create();
    const targetPrefix = prefix();
    const target = gcpProvider(targetPrefix);
    const existing = await target.create();
    const before = gcp
      .names("migrate-test")
      .filter((n) => n.startsWith(targetPrefix))
      .sort();
    await expect(migrateKeySet(source, gcpProvider(targetPrefix))).rejects.toMatchObject({
      code: "SecretExists",
    });
    expect(
      gcp
        .names("migrate-test")
        .filter((n) => n.startsWith(targetPrefix))
        .sort(),
    ).toEqual(before);
    expect((await gcpProvider(targetPrefix).open()).nameKey.equals(existing.nameKey)).toBe(true);
    await expect(migrateKeySet(source, local("v1-target.enigma"))).resolves.toMatchObject({ keyIds: [1] });
    await expect(migrateKeySet(source, local("v1-target.enigma"))).rejects.toMatchObject({
      code: "FileExists",
    });
  });
});
