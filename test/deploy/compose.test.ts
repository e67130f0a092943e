/**
 * deploy/docker-compose.yml, parsed and checked: three enigma nodes from one shared block, two
 * pinned MinIO backends, the one-shot bucket and keystore services, healthchecks, start order,
 * volumes. Then each node's effective config: the mounted enigma.toml loaded by the real config
 * loader with the environment compose would give the container (image ENV + interpolated service
 * environment), and cross-checked against the MinIO services and the bucket the lab creates.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { toSettings } from "../../packages/server/src/config/index.js";
import { parseYaml } from "../support/yaml-lite.js";
import {
  COMPOSE_FILE,
  composeEnv,
  flagValue,
  interpolate,
  isMap,
  listAt,
  loadTomlText,
  mapAt,
  runtimeStage,
  stageEnv,
  strAt,
  strings,
  type YamlMap,
} from "./helpers.js";

const raw = readFileSync(COMPOSE_FILE, "utf8");
const compose = parseYaml(interpolate(raw)) as YamlMap;
const services = mapAt(compose, "services");
const nodeNames = Object.keys(services).filter((n) => /^enigma-\d+$/.test(n));
const node = (name: string) => mapAt(services, name);
const shared = mapAt(compose, "x-enigma");

function dependsOn(svc: YamlMap): Record<string, string> {
  const d = svc.depends_on;
  if (!isMap(d)) return {};
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, isMap(v) ? String(v.condition) : ""]));
}

/** Volume entries in short syntax: [source, target, mode?]. */
function volumes(svc: YamlMap): { source: string; target: string; ro: boolean }[] {
  return strings(listAt(svc, "volumes")).map((v) => {
    const [source = "", target = "", mode] = v.split(":");
    return { source, target, ro: mode === "ro" };
  });
}

function minioServices(): string[] {
  return Object.keys(services).filter((n) =>
    String(services[n] && mapAt(services, n).image).startsWith("minio/minio:"),
  );
}

describe("docker-compose lab", () => {
  it("defines three enigma nodes, two MinIO backends and the one-shot init services", () => {
    expect(nodeNames.sort()).toEqual(["enigma-1", "enigma-2", "enigma-3"]);
    expect(minioServices().sort()).toEqual(["minio-a", "minio-b"]);
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["minio-init", "enigma-init"]));
  });

  it("builds every node from the one shared x-enigma block", () => {
    // Each node merges the anchor, and differs from it only in identity, environment, ports, volumes.
    expect(raw.match(/^ {4}<<: \*enigma$/gm)).toHaveLength(3);
    for (const name of nodeNames) {
      const svc = node(name);
      for (const [k, v] of Object.entries(shared)) expect(svc[k], `${name}.${k}`).toEqual(v);
      expect(
        Object.keys(svc)
          .filter((k) => !(k in shared))
          .sort(),
      ).toEqual(["environment", "hostname", "ports", "volumes"]);
      expect(svc.hostname).toBe(name);
    }
    const image = strAt(shared, "image");
    expect(strAt(node("enigma-init"), "image")).toBe(image);
    expect(strAt(shared, "build", "dockerfile")).toBe("deploy/Dockerfile");
    expect(
      existsSync(join(dirname(COMPOSE_FILE), strAt(shared, "build", "context"), "deploy", "Dockerfile")),
    ).toBe(true);
  });

  it("pins the MinIO images", () => {
    for (const name of [...minioServices(), "minio-init"]) {
      expect(strAt(node(name), "image")).toMatch(
        /^minio\/(minio|mc):RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/,
      );
    }
  });

  it("health-checks the long-running services and orders start-up on health and completion", () => {
    for (const name of minioServices()) {
      expect(strings(listAt(node(name), "healthcheck", "test"))).toEqual(["CMD", "mc", "ready", "local"]);
    }
    for (const name of nodeNames) {
      const hc = strings(listAt(node(name), "healthcheck", "test"));
      expect(hc).toEqual(["CMD", "node", "/app/bin/healthcheck.mjs"]);
      expect(strAt(node(name), "healthcheck", "start_period")).toMatch(/^\d+s$/);
      expect(dependsOn(node(name))).toEqual({
        "enigma-init": "service_completed_successfully",
        "minio-init": "service_completed_successfully",
      });
    }
    // Readiness needs a leader, so nodes must not wait on each other's health.
    for (const name of nodeNames)
      for (const dep of Object.keys(dependsOn(node(name)))) expect(nodeNames).not.toContain(dep);
    expect(dependsOn(node("minio-init"))).toEqual(
      Object.fromEntries(minioServices().map((m) => [m, "service_healthy"])),
    );
    expect(node("minio-init").restart).toBe("no");
    expect(node("enigma-init").restart).toBe("no");
  });

  it("gives SIGTERM draining its time before docker's SIGKILL (stop_grace_period)", () => {
    const grace = /^(\d+)s$/.exec(String(shared.stop_grace_period ?? ""));
    // [ops] shutdown_timeout defaults to 30 s, plus up to 5 s of leadership hand-over.
    expect(Number(grace?.[1] ?? 0)).toBeGreaterThanOrEqual(35);
    for (const n of nodeNames)
      expect(node(n).stop_grace_period ?? shared.stop_grace_period).toBe(shared.stop_grace_period);
  });

  it("runs the nodes hardened: read-only root with a /tmp tmpfs, no capabilities, no-new-privileges", () => {
    expect(shared.read_only).toBe(true);
    expect(strings(listAt(shared, "tmpfs"))).toContain("/tmp");
    expect(strings(listAt(shared, "cap_drop"))).toEqual(["ALL"]);
    expect(strings(listAt(shared, "security_opt"))).toContain("no-new-privileges:true");
  });

  it("creates the keystore once, shared read-only, with a data volume per node", () => {
    const init = node("enigma-init");
    const initArgs = strings(listAt(init, "command"));
    expect(initArgs.at(-1)).toBe("init");
    const keystoreVol = volumes(init).find((v) => v.target === flagValue(initArgs, "--config-dir"));
    expect(keystoreVol).toBeDefined();
    expect(composeEnv(init).ENIGMA_PASSPHRASE).toBe(composeEnv(node("enigma-1")).ENIGMA_PASSPHRASE);
    const declared = Object.keys(mapAt(compose, "volumes"));
    const dataVolumes = new Set<string>();
    for (const name of nodeNames) {
      const vols = volumes(node(name));
      const ks = vols.find((v) => v.source === keystoreVol?.source);
      expect(ks?.ro, name).toBe(true);
      const data = vols.find((v) => v.target === "/data");
      expect(data && declared.includes(data.source), name).toBe(true);
      dataVolumes.add(data?.source ?? "");
      for (const v of vols.filter((x) => x.source.startsWith("./")))
        expect(existsSync(join(dirname(COMPOSE_FILE), v.source)), v.source).toBe(true);
      for (const v of vols.filter((x) => !x.source.startsWith("./"))) expect(declared).toContain(v.source);
    }
    expect(dataVolumes.size).toBe(nodeNames.length);
  });

  it("publishes distinct loopback host ports per node", () => {
    const hostPorts = nodeNames.flatMap((n) => strings(listAt(node(n), "ports")));
    for (const p of hostPorts) expect(p).toMatch(/^127\.0\.0\.1:\d+:(8333|8433)$/);
    const host = hostPorts.map((p) => p.split(":")[1]);
    expect(new Set(host).size).toBe(host.length);
  });

  it("each node's config loads, with its own node id, the peers on the lab network and the MinIO buckets", () => {
    const mc = node("minio-init");
    const mcHosts = new Map<string, URL>();
    for (const [k, v] of Object.entries(composeEnv(mc))) {
      const m = /^MC_HOST_(\w+)$/.exec(k);
      if (m) mcHosts.set(m[1] as string, new URL(v));
    }
    const mcArgs = strings(listAt(mc, "command"));
    expect(mcArgs.slice(0, 2)).toEqual(["mb", "--ignore-existing"]);
    const created = new Set(
      mcArgs.slice(2).map((t) => {
        const [alias = "", bucket] = t.split("/");
        return `${mcHosts.get(alias)?.host}/${bucket}`;
      }),
    );
    const minioCreds = new Map(
      minioServices().map((m) => [`${m}:9000`, composeEnv(node(m))] as [string, Record<string, string>]),
    );
    const ids = new Set<number>();
    for (const name of nodeNames) {
      const svc = node(name);
      const args = strings(listAt(svc, "command"));
      const configPath = flagValue(args, "--config") ?? "";
      const mount = volumes(svc).find((v) => v.target === configPath);
      expect(mount?.ro).toBe(true);
      const toml = readFileSync(join(dirname(COMPOSE_FILE), mount?.source ?? ""), "utf8");
      const env = { ...stageEnv(runtimeStage()), ...composeEnv(svc) };
      const dataDir = flagValue(args, "--data-dir") ?? "";
      const s = toSettings(loadTomlText(toml, env, dataDir));
      ids.add(s.raft.nodeId);
      const self = s.raft.peers.find((p) => p.id === s.raft.nodeId);
      expect(self?.addr).toBe(`${name}:9000`);
      expect(s.raft.peers.map((p) => p.addr.split(":")[0]).sort()).toEqual([...nodeNames].sort());
      expect(s.raft.grpcAddr).toBe("0.0.0.0:9000");
      expect(s.s3.listenAddr).toBe("0.0.0.0:8333");
      expect(s.ops.listenAddr).toBe("0.0.0.0:8433");
      expect(s.raft.clusterSecret).toBeDefined();
      expect(env.ENIGMA_PASSPHRASE?.length).toBeGreaterThanOrEqual(8);
      const keystoreMount = volumes(svc).find((v) => s.keyfilePath.startsWith(`${v.target}/`));
      expect(keystoreMount?.source).toBe("keystore");
      expect(s.providers.length).toBe(minioServices().length);
      expect(s.replicationFactor).toBeLessThanOrEqual(s.providers.length);
      for (const p of s.providers) {
        const url = new URL(p.endpoint_url ?? "");
        expect(created, `${p.name}: bucket created by minio-init`).toContain(`${url.host}/${p.bucket}`);
        const creds = minioCreds.get(url.host);
        expect(creds, `${p.name}: endpoint is a MinIO service`).toBeDefined();
        expect(p.access_key).toBe(creds?.MINIO_ROOT_USER);
        expect(p.secret_key).toBe(creds?.MINIO_ROOT_PASSWORD);
        expect(p.path_style).toBe(true);
      }
    }
    expect([...ids].sort()).toEqual([1, 2, 3]);
    // mc authenticates with the same root credentials.
    for (const url of mcHosts.values()) {
      const creds = minioCreds.get(url.host);
      expect(decodeURIComponent(url.username)).toBe(creds?.MINIO_ROOT_USER);
      expect(decodeURIComponent(url.password)).toBe(creds?.MINIO_ROOT_PASSWORD);
    }
  });

  it("takes secrets and ports from the environment when set", () => {
    const custom = parseYaml(
      interpolate(raw, { ENIGMA_PASSPHRASE: "from-the-env-123", ENIGMA_1_S3_PORT: "18333" }),
    ) as YamlMap;
    expect(composeEnv(mapAt(custom, "services", "enigma-2")).ENIGMA_PASSPHRASE).toBe("from-the-env-123");
    expect(composeEnv(mapAt(custom, "services", "enigma-init")).ENIGMA_PASSPHRASE).toBe("from-the-env-123");
    expect(strings(listAt(custom, "services", "enigma-1", "ports"))).toContain("127.0.0.1:18333:8333");
  });
});
