/**
 * Every config file shipped under deploy/ goes through the real config loader: the sample TOMLs
 * here, and a guard that no TOML file (or TOML embedded in a k8s ConfigMap) is left unchecked by
 * this file, compose.test.ts or k8s.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, toSettings } from "../../packages/server/src/config/index.js";
import { DEPLOY_DIR, isMap, loadK8sObjects, loadTomlText } from "./helpers.js";

const SAMPLES = ["config/single-node.toml", "config/cluster-3-node.toml", "config/s3-providers.toml"];
/** Loaded, with the environment their manifests give them, by compose.test.ts and k8s.test.ts. */
const CHECKED_ELSEWHERE = ["compose/enigma.toml"];
const CONFIGMAP_TOML_KEYS = ["enigma.toml"];

const read = (rel: string) => readFileSync(join(DEPLOY_DIR, rel), "utf8");

describe("shipped configs", () => {
  it("every TOML under deploy/ and in a ConfigMap is one the deploy tests load", () => {
    const tomls = readdirSync(DEPLOY_DIR, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(".toml"))
      .map((e) => relative(DEPLOY_DIR, join(e.parentPath, e.name)))
      .sort();
    expect(tomls).toEqual([...SAMPLES, ...CHECKED_ELSEWHERE].sort());
    const embedded = loadK8sObjects()
      .filter((o) => o.kind === "ConfigMap")
      .flatMap((o) => (isMap(o.doc.data) ? Object.keys(o.doc.data) : []))
      .filter((k) => k.endsWith(".toml"));
    expect(embedded).toEqual(CONFIGMAP_TOML_KEYS);
  });

  it.each(SAMPLES)("%s loads as is", (rel) => {
    const cfg = loadTomlText(read(rel), {}, "/var/lib/enigma");
    expect(cfg.fileExists).toBe(true);
    expect(cfg.providers.length).toBeGreaterThan(0);
    // Every key in the file was taken from it (none silently ignored).
    const fromFile = [...cfg.sources.entries()].filter(([, s]) => s === "file").map(([k]) => k);
    const keysInFile = [...read(rel).matchAll(/^\[\[?(\w+)\]|^(\w+) = /gm)];
    let section = "";
    let expected = 0;
    for (const m of keysInFile) {
      if (m[1]) section = m[1];
      else if (section !== "providers") expected++;
    }
    expect(fromFile.length).toBe(expected);
  });

  it("single-node: one node, no peers, a local chunk directory under the data dir", () => {
    const s = toSettings(loadTomlText(read("config/single-node.toml"), {}, "/var/lib/enigma"));
    expect(s.raft.peers).toEqual([]);
    expect(s.providers).toEqual([{ name: "local", type: "Local", bucket: "/var/lib/enigma/chunks" }]);
    expect(s.keyfilePath).toBe("/var/lib/enigma/keystore.enigma");
    expect(s.compressionLevel).toBe(3);
  });

  it("3-node cluster: the same file on each host, the id and cluster secret from the environment", () => {
    const text = read("config/cluster-3-node.toml");
    for (const id of [1, 2, 3]) {
      const s = toSettings(
        loadTomlText(text, {
          ENIGMA_RAFT_NODE_ID: String(id),
          ENIGMA_RAFT_CLUSTER_SECRET: "0123456789abcdef0123",
        }),
      );
      expect(s.raft.nodeId).toBe(id);
      expect(s.raft.peers.map((p) => p.id)).toEqual([1, 2, 3]);
      expect(s.raft.peers.find((p) => p.id === id)?.addr).toMatch(/^[\w.-]+:9000$/);
      expect(s.raft.grpcAddr).toBe("0.0.0.0:9000");
      expect(s.replicationFactor).toBeLessThanOrEqual(s.providers.length);
    }
    // A short cluster secret is refused, naming the variable.
    expect(() => loadTomlText(text, { ENIGMA_RAFT_CLUSTER_SECRET: "short" })).toThrow(ConfigError);
  });

  it("S3 / MinIO providers: secrets only as enc: tokens, replication within the providers", () => {
    for (const rel of ["config/s3-providers.toml", "config/cluster-3-node.toml"]) {
      const cfg = loadTomlText(read(rel), {});
      for (const p of cfg.providers) {
        expect(p.type === "S3" || p.type === "S3Compatible").toBe(true);
        expect(p.secret_key, `${rel} ${p.name}`).toMatch(/^enc:v1:/);
      }
    }
    const s = toSettings(loadTomlText(read("config/s3-providers.toml"), {}));
    expect(s.distribution).toBe("weighted");
    expect(s.replicationFactor).toBe(2);
    expect(s.providers.map((p) => p.weight)).toEqual([2, 1]);
    expect(s.providers.find((p) => p.type === "S3Compatible")?.path_style).toBe(true);
  });
});
