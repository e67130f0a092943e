import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { loadConfig } from "./load.js";
import { describeConfig, renderDefaultConfig, toSettings } from "./settings.js";
import { parseDurationMs, parseSizeBytes } from "./units.js";

function dirWith(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "enigma-cfg-"));
  writeFileSync(join(dir, "enigma.toml"), toml);
  return dir;
}

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("units", () => {
  it("parses sizes and durations", () => {
    expect(parseSizeBytes("4MiB")).toBe(4 * 1024 * 1024);
    expect(parseSizeBytes("1 GB")).toBe(1e9);
    expect(parseSizeBytes(512)).toBe(512);
    expect(parseSizeBytes("4 parsecs")).toBeUndefined();
    expect(parseDurationMs("1h30m")).toBe(5_400_000);
    expect(parseDurationMs("500ms")).toBe(500);
    expect(parseDurationMs("0")).toBe(0);
    expect(parseDurationMs("soon")).toBeUndefined();
    expect(parseDurationMs("1h junk")).toBeUndefined();
  });
});

describe("loadConfig", () => {
  it("uses defaults without a file and resolves paths against the config dir", () => {
    const dir = mkdtempSync(join(tmpdir(), "enigma-cfg-"));
    const cfg = loadConfig({ configDir: dir, env: {} });
    expect(cfg.fileExists).toBe(false);
    const s = toSettings(cfg);
    expect(s.dbPath).toBe(join(dir, "manifest.db"));
    expect(s.chunking).toEqual({ strategy: "fastcdc", avgBytes: 4 * 1024 * 1024 });
    expect(s.compressionLevel).toBeUndefined();
    expect(s.providers).toEqual([{ name: "local", type: "Local", bucket: join(dir, "chunks") }]);
  });

  it("reads the original sections and providers", () => {
    const dir = dirWith(`
[enigma]
chunk_strategy = "fixed"
chunk_size = "1MiB"
compression = true
compression_level = 9
replication_factor = 2
[[providers]]
name = "a"
type = "Local"
bucket = "store-a"
min_free_space = "2GiB"
direct_io = "off"
[[providers]]
name = "b"
type = "S3Compatible"
bucket = "bkt"
endpoint_url = "http://127.0.0.1:9000"
path_style = true
access_key = "AK"
secret_key = "enc:v1:abc"
[raft]
peers = ["1=127.0.0.1:9000", "2=127.0.0.1:9001"]
`);
    const s = toSettings(loadConfig({ configDir: dir, env: {} }));
    expect(s.chunking).toEqual({ strategy: "fixed", avgBytes: 1024 * 1024 });
    expect(s.compressionLevel).toBe(9);
    expect(s.replicationFactor).toBe(2);
    expect(s.providers.map((p) => p.name)).toEqual(["a", "b"]);
    expect(s.providers[0]?.bucket).toBe(join(dir, "store-a"));
    expect(s.providers[0]?.min_free_space).toBe(2 * 1024 ** 3);
    expect(s.providers[0]?.direct_io).toBe("off");
    expect(s.raft.peers).toEqual([
      { id: 1, addr: "127.0.0.1:9000" },
      { id: 2, addr: "127.0.0.1:9001" },
    ]);
  });

  it("reads download_concurrency (default 6, 1..64) from the file and the environment", () => {
    const none = mkdtempSync(join(tmpdir(), "enigma-cfg-"));
    expect(toSettings(loadConfig({ configDir: none, env: {} })).downloadConcurrency).toBe(6);
    const dir = dirWith("[enigma]\ndownload_concurrency = 8\n");
    expect(toSettings(loadConfig({ configDir: dir, env: {} })).downloadConcurrency).toBe(8);
    const env = { ENIGMA_ENIGMA_DOWNLOAD_CONCURRENCY: "12" };
    expect(toSettings(loadConfig({ configDir: dir, env })).downloadConcurrency).toBe(12);
    for (const bad of ["0", "65", "2.5"]) {
      const issues = issuesOf(() =>
        loadConfig({ configDir: dirWith(`[enigma]\ndownload_concurrency = ${bad}\n`), env: {} }),
      );
      expect(issues.join("\n")).toMatch(/download_concurrency/);
    }
  });

  it("names every bad key precisely, with suggestions", () => {
    const dir = dirWith(`
[enigma]
chunk_sise = "4MiB"
chunk_strategy = "rabin"
replication_factor = 3
[s3_proxi]
x = 1
[[providers]]
name = "p"
type = "Dropbox"
bucket = "b"
[[providers]]
name = "q"
type = "Local"
bucket = "c"
direct_io = "yes"
`);
    const issues = issuesOf(() => loadConfig({ configDir: dir, env: {} }));
    expect(issues).toContainEqual('[enigma] unknown key "chunk_sise" (did you mean "chunk_size"?)');
    expect(issues.some((i) => i.startsWith("[enigma] chunk_strategy:"))).toBe(true);
    expect(issues).toContainEqual("unknown section [s3_proxi] (did you mean [s3_proxy]?)");
    expect(issues.some((i) => i.startsWith("[[providers]] #1.type:"))).toBe(true);
    expect(issues.some((i) => i.startsWith("[[providers]] #2.direct_io:"))).toBe(true);
  });

  it("refuses a replication factor above the provider count and malformed TOML", () => {
    const dir = dirWith(
      `[enigma]\nreplication_factor = 2\n[[providers]]\nname="a"\ntype="Local"\nbucket="x"\n`,
    );
    expect(issuesOf(() => loadConfig({ configDir: dir, env: {} }))[0]).toMatch(
      /replication_factor: 2 exceeds/,
    );
    const bad = dirWith("[enigma\n");
    expect(issuesOf(() => loadConfig({ configDir: bad, env: {} }))[0]).toMatch(/not valid TOML/);
  });

  it("applies precedence flags > env > file > default and reports sources", () => {
    const dir = dirWith(
      `[s3_proxy]\nlisten_addr = "127.0.0.1:1111"\nregion = "eu-west-1"\n[enigma]\nworkers = 1\n`,
    );
    const cfg = loadConfig({
      configDir: dir,
      env: { ENIGMA_S3_PROXY_LISTEN_ADDR: "127.0.0.1:2222", ENIGMA_ENIGMA_WORKERS: "3" },
      flags: { "s3_proxy.listen_addr": "127.0.0.1:3333" },
    });
    const s = toSettings(cfg);
    expect(s.s3.listenAddr).toBe("127.0.0.1:3333");
    expect(s.s3.region).toBe("eu-west-1");
    expect(s.workers).toBe(3);
    const rows = describeConfig(cfg);
    expect(rows.find((r) => r.option === "s3_proxy.listen_addr")?.source).toBe("flag");
    expect(rows.find((r) => r.option === "enigma.workers")?.source).toBe("env");
    expect(rows.find((r) => r.option === "s3_proxy.region")?.source).toBe("file");
    expect(rows.find((r) => r.option === "s3_proxy.secret_key")?.value).toBe("<redacted>");
    const envIssue = issuesOf(() => loadConfig({ configDir: dir, env: { ENIGMA_ENIGMA_WORKERS: "many" } }));
    expect(envIssue[0]).toMatch(/^ENIGMA_ENIGMA_WORKERS: /);
  });

  it("renders a default config that parses and loads to the defaults", () => {
    const text = renderDefaultConfig();
    expect(() => parseToml(text)).not.toThrow();
    const dir = dirWith(text);
    expect(toSettings(loadConfig({ configDir: dir, env: {} })).s3.listenAddr).toBe("127.0.0.1:8333");
  });
});
