import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StorageError } from "./backend.js";
import { createBackend } from "./create-backend.js";
import {
  type ProviderConfig,
  providerConfigProblems,
  providerFieldDocs,
  providerTypeInfo,
  providerTypes,
  redactProviderConfig,
} from "./provider-config.js";

describe("providerConfigProblems", () => {
  it("accepts a minimal entry of every type (Azure with credentials)", () => {
    const entries: ProviderConfig[] = [
      { name: "local", type: "Local", bucket: "./data" },
      { name: "aws", type: "S3", bucket: "b", region: "eu-west-1" },
      { name: "minio", type: "S3Compatible", bucket: "b", endpointUrl: "http://127.0.0.1:9000" },
      { name: "az", type: "Azure", bucket: "c", accessKey: "acct", secretKey: "a2V5" },
      { name: "gcs", type: "Gcs", bucket: "b" },
    ];
    for (const e of entries) expect(providerConfigProblems(e, {}), e.name).toEqual([]);
    expect(entries.map((e) => e.type).sort()).toEqual([...providerTypes].sort());
  });

  it("names the missing field by its TOML key and says what it is", () => {
    const p = providerConfigProblems({ name: "m", type: "S3Compatible", bucket: "b" }, {});
    expect(p).toEqual([
      expect.stringMatching(/providers\["m"\]: type S3Compatible requires endpoint_url \(S3 endpoint URL/),
    ]);
  });

  it("rejects fields that do not apply to the type, an unknown type, and half a key pair", () => {
    expect(
      providerConfigProblems({ name: "l", type: "Local", bucket: "d", endpointUrl: "http://x" }, {}),
    ).toEqual(['providers["l"]: endpoint_url does not apply to type Local']);
    expect(providerConfigProblems({ name: "l", type: "Local", bucket: "d", minFreeBytes: 1024 }, {})).toEqual(
      [],
    );
    expect(providerConfigProblems({ name: "s", type: "Gcs", bucket: "b", minFreeBytes: 1024 }, {})).toEqual([
      'providers["s"]: min_free_space does not apply to type Gcs',
    ]);
    expect(providerConfigProblems({ name: "s", type: "S3", bucket: "b", directIo: "on" }, {})).toEqual([
      'providers["s"]: direct_io does not apply to type S3',
    ]);
    expect(providerConfigProblems({ name: "x", type: "Ftp" as never, bucket: "d" }, {})[0]).toMatch(
      /type must be one of Local, S3/,
    );
    expect(providerConfigProblems({ name: "s", type: "S3", bucket: "b", accessKey: "AK" }, {})[0]).toMatch(
      /access_key and secret_key go together/,
    );
  });

  it("Azure without any credentials explains where they can come from; the env counts", () => {
    const az: ProviderConfig = { name: "az", type: "Azure", bucket: "c" };
    expect(providerConfigProblems(az, {})[0]).toMatch(
      /connection_string, else access_key .* AZURE_STORAGE_ACCOUNT/,
    );
    expect(providerConfigProblems(az, { AZURE_STORAGE_ACCOUNT: "a", AZURE_STORAGE_KEY: "k" })).toEqual([]);
    expect(providerConfigProblems(az, { AZURE_STORAGE_CONNECTION_STRING: "x" })).toEqual([]);
  });

  it("validates names, weights and URLs", () => {
    const p = providerConfigProblems({ name: "bad name!", type: "Local", bucket: "d", weight: -1 }, {});
    expect(p).toEqual([
      expect.stringMatching(/name must be/),
      expect.stringMatching(/weight must be a number >= 0/),
    ]);
    expect(
      providerConfigProblems({ name: "g", type: "Gcs", bucket: "b", apiEndpoint: "127.0.0.1:4443" }, {})[0],
    ).toMatch(/api_endpoint must be an http\(s\) URL/);
  });

  it("every type's required and accepted fields are documented", () => {
    for (const t of providerTypes) {
      for (const f of [...providerTypeInfo[t].required, ...providerTypeInfo[t].accepted]) {
        expect(providerFieldDocs[f].toml).toMatch(/^[a-z_]+$/);
      }
    }
  });
});

describe("redactProviderConfig", () => {
  it("hides secret_key and connection_string, keeps the rest", () => {
    const r = redactProviderConfig({
      name: "s",
      type: "S3",
      bucket: "b",
      accessKey: "AKIA",
      secretKey: "shh",
      connectionString: "AccountKey=shh",
    });
    expect(JSON.stringify(r)).not.toContain("shh");
    expect(r).toMatchObject({ accessKey: "AKIA", secretKey: "<redacted>" });
  });
});

describe("createBackend", () => {
  it("throws InvalidConfig listing every problem, naming the provider", async () => {
    const err = await createBackend(
      { name: "m", type: "S3Compatible", bucket: "", weight: -2 },
      { env: {} },
    ).catch((e: unknown) => e);
    expect(StorageError.is(err, "InvalidConfig")).toBe(true);
    expect((err as StorageError).message).toMatch(/^\[m\] .*requires bucket.*requires endpoint_url.*weight/);
  });

  it("builds a Local backend wrapped with retries, and a Local-only run loads no cloud SDK", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "enigma-cb-"));
    try {
      const b = await createBackend({ name: "local", type: "Local", bucket: dir });
      await b.put("k", Buffer.from("v"));
      expect((await b.get("k")).toString()).toBe("v");
      const { createRequire } = await import("node:module");
      const cache = Object.keys(createRequire(import.meta.url).cache);
      expect(cache.filter((m) => /@aws-sdk|@azure|@google-cloud/.test(m))).toEqual([]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
