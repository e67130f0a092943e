/**
 * deploy/k8s: the manifests parsed and checked for what a 3-node Raft cluster needs (Parallel pod
 * management, stable peer DNS through a headless Service that publishes not-ready pods, a client
 * Service over ready pods, probes, PDB, Secrets, PVCs, hardening). Then each pod's effective
 * config: the StatefulSet wrapper script runs for ordinals 0-2 and the ConfigMap's enigma.toml is
 * loaded by the real config loader with the environment the pod would have.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { toSettings } from "../../packages/server/src/config/index.js";
import {
  findK8s,
  flagValue,
  isMap,
  K8S_DIR,
  listAt,
  loadK8sObjects,
  loadTomlText,
  mapAt,
  portOf,
  runtimeStage,
  STATEFULSET_ENV_SCRIPT,
  stageEnv,
  statefulSetEnv,
  strAt,
  strings,
  type YamlMap,
  yamlFilesUnder,
} from "./helpers.js";

const objects = loadK8sObjects();
const sts = findK8s(objects, "StatefulSet");
const stsName = strAt(sts, "metadata", "name");
const replicas = get(sts, "spec", "replicas") as number;
const podSpec = mapAt(sts, "spec", "template", "spec");
const podLabels = mapAt(sts, "spec", "template", "metadata", "labels");
const containers = listAt(podSpec, "containers").filter(isMap);
const container = containers[0] as YamlMap;
const services = objects.filter((o) => o.kind === "Service").map((o) => o.doc);
const headless = services.find((s) => isMap(s.spec) && s.spec.clusterIP === "None") as YamlMap;
const client = services.find((s) => isMap(s.spec) && s.spec.clusterIP !== "None") as YamlMap;
const configMap = findK8s(objects, "ConfigMap");

function get(v: YamlMap, ...path: string[]): unknown {
  return path.reduce<unknown>((cur, k) => (isMap(cur as never) ? (cur as YamlMap)[k] : undefined), v);
}

function containerPort(name: string): number {
  const p = listAt(container, "ports")
    .filter(isMap)
    .find((x) => x.name === name);
  if (!p) throw new Error(`no container port named ${name}`);
  return p.containerPort as number;
}

function selects(selector: YamlMap, labels: YamlMap): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const envList = listAt(container, "env").filter(isMap);
function envEntry(name: string): YamlMap | undefined {
  return envList.find((e) => e.name === name);
}

/** The env a pod sees: image ENV, then the container's env (field refs and secrets filled in). */
function podEnv(ordinal: number, namespace: string): Record<string, string> {
  const env: Record<string, string> = { ...stageEnv(runtimeStage()) };
  for (const e of envList) {
    const name = strAt(e, "name");
    if (typeof e.value === "string") env[name] = e.value;
    else if (isMap(e.valueFrom) && isMap(e.valueFrom.fieldRef)) {
      const path = strAt(e, "valueFrom", "fieldRef", "fieldPath");
      env[name] = { "metadata.name": `${stsName}-${ordinal}`, "metadata.namespace": namespace }[path] ?? "";
    } else if (isMap(e.valueFrom) && isMap(e.valueFrom.secretKeyRef)) {
      env[name] = `secret-${strAt(e, "valueFrom", "secretKeyRef", "key")}-0123456789abcdef`;
    } else throw new Error(`env ${name}: unsupported source`);
  }
  return env;
}

describe("k8s manifests", () => {
  it("parse, and the kustomization lists every manifest", () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ["ConfigMap", "Kustomization", "PodDisruptionBudget", "Service", "Service", "StatefulSet"].sort(),
    );
    for (const o of objects) expect(o.doc.apiVersion, `${o.file} ${o.kind}`).toEqual(expect.any(String));
    const kustomization = findK8s(objects, "Kustomization");
    const files = [...yamlFilesUnder(K8S_DIR).keys()].filter((f) => f !== "kustomization.yaml").sort();
    expect(strings(listAt(kustomization, "resources")).sort()).toEqual(files);
  });

  it("StatefulSet: 3 replicas started in parallel, headless serviceName, one PVC per pod", () => {
    expect(replicas).toBe(3);
    expect(get(sts, "spec", "podManagementPolicy")).toBe("Parallel");
    expect(strAt(sts, "spec", "serviceName")).toBe(strAt(headless, "metadata", "name"));
    expect(selects(mapAt(sts, "spec", "selector", "matchLabels"), podLabels)).toBe(true);
    expect(containers).toHaveLength(1);
    const claims = listAt(sts, "spec", "volumeClaimTemplates").filter(isMap);
    expect(claims).toHaveLength(1);
    const claim = claims[0] as YamlMap;
    expect(strings(listAt(claim, "spec", "accessModes"))).toEqual(["ReadWriteOnce"]);
    expect(strAt(claim, "spec", "resources", "requests", "storage")).toMatch(/^\d+(Gi|Ti)$/);
    // The claim is what holds --data-dir.
    const args = strings(listAt(container, "args"));
    const dataDir = flagValue(args, "--data-dir");
    const mount = listAt(container, "volumeMounts")
      .filter(isMap)
      .find((m) => m.mountPath === dataDir);
    expect(mount?.name).toBe(strAt(claim, "metadata", "name"));
  });

  it("headless Service for Raft publishes not-ready pods; the client Service serves S3 from ready pods", () => {
    expect(headless).toBeDefined();
    expect(client).toBeDefined();
    expect(get(headless, "spec", "publishNotReadyAddresses")).toBe(true);
    expect(get(client, "spec", "publishNotReadyAddresses")).not.toBe(true);
    for (const svc of [headless, client])
      expect(selects(mapAt(svc, "spec", "selector"), podLabels)).toBe(true);
    const portsOf = (svc: YamlMap) => listAt(svc, "spec", "ports").filter(isMap);
    const raft = portsOf(headless).find((p) => p.name === "raft");
    expect(raft?.port).toBe(containerPort("raft"));
    expect(raft?.targetPort).toBe("raft");
    const s3 = portsOf(client).find((p) => p.name === "s3");
    expect(s3?.targetPort).toBe("s3");
    expect(containerPort("s3")).toBe(8333);
    expect(containerPort("ops")).toBe(8433);
  });

  it("probes: readiness on /readyz, liveness (and startup) on /livez, on the ops port", () => {
    const probe = (kind: string) => mapAt(container, kind, "httpGet");
    expect(probe("readinessProbe")).toMatchObject({ path: "/readyz", port: "ops" });
    expect(probe("livenessProbe")).toMatchObject({ path: "/livez", port: "ops" });
    expect(probe("startupProbe")).toMatchObject({ path: "/livez", port: "ops" });
    // Liveness must tolerate a leaderless spell: it is not /readyz and allows several failures.
    expect(get(container, "livenessProbe", "failureThreshold") as number).toBeGreaterThanOrEqual(3);
  });

  it("PodDisruptionBudget: at most one pod down, over the same pods, keeping a quorum", () => {
    const pdb = findK8s(objects, "PodDisruptionBudget");
    expect(get(pdb, "spec", "maxUnavailable")).toBe(1);
    expect(selects(mapAt(pdb, "spec", "selector", "matchLabels"), podLabels)).toBe(true);
    expect(replicas - 1).toBeGreaterThanOrEqual(Math.floor(replicas / 2) + 1);
  });

  it("secrets come from Secrets: passphrase, cluster secret, S3 credentials, the keystore file", () => {
    const fromSecret = (name: string) => mapAt(envEntry(name) ?? {}, "valueFrom", "secretKeyRef");
    for (const name of [
      "ENIGMA_PASSPHRASE",
      "ENIGMA_RAFT_CLUSTER_SECRET",
      "ENIGMA_ACCESS_KEY",
      "ENIGMA_SECRET_KEY",
    ]) {
      expect(fromSecret(name).name, name).toEqual(expect.any(String));
      expect(fromSecret(name).key, name).toEqual(expect.any(String));
    }
    for (const e of envList)
      if (/PASSPHRASE|SECRET|ACCESS_KEY|PASSWORD/.test(strAt(e, "name")))
        expect(e.value, String(e.name)).toBeUndefined();
    const volumes = listAt(podSpec, "volumes").filter(isMap);
    const keystoreVol = volumes.find((v) => isMap(v.secret));
    expect(keystoreVol).toBeDefined();
    const mount = listAt(container, "volumeMounts")
      .filter(isMap)
      .find((m) => m.name === keystoreVol?.name);
    expect(mount?.readOnly).toBe(true);
    // Group-readable by fsGroup only.
    expect(get(keystoreVol as YamlMap, "secret", "defaultMode")).toBe(0o440);
    const toml = strAt(configMap, "data", "enigma.toml");
    const keyfile = /^keyfile_path = "([^"]+)"/m.exec(toml)?.[1] ?? "";
    expect(keyfile.startsWith(`${strAt(mount ?? {}, "mountPath")}/`)).toBe(true);
    // No secret value sits in the ConfigMap: provider secrets are enc: tokens.
    for (const m of toml.matchAll(/^secret_key = "([^"]*)"/gm)) expect(m[1]).toMatch(/^enc:v1:/);
  });

  it("hardening: non-root uid 10001 (the image's USER), read-only root, no capabilities, resource requests", () => {
    const psc = mapAt(podSpec, "securityContext");
    expect(psc).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 });
    expect(get(psc, "seccompProfile", "type")).toBe("RuntimeDefault");
    const user = runtimeStage().instructions.find((i) => i.op === "USER")?.args;
    expect(user).toBe(`${psc.runAsUser}:${psc.runAsGroup}`);
    const csc = mapAt(container, "securityContext");
    expect(csc).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(strings(listAt(csc, "capabilities", "drop"))).toContain("ALL");
    // A read-only root needs a writable /tmp.
    const tmp = listAt(container, "volumeMounts")
      .filter(isMap)
      .find((m) => m.mountPath === "/tmp");
    const tmpVol = listAt(podSpec, "volumes")
      .filter(isMap)
      .find((v) => v.name === tmp?.name);
    expect(isMap(tmpVol?.emptyDir)).toBe(true);
    const requests = mapAt(container, "resources", "requests");
    expect(String(requests.cpu)).toMatch(/^\d+m?$/);
    expect(String(requests.memory)).toMatch(/^\d+(Mi|Gi)$/);
    expect(podSpec.enableServiceLinks).toBe(false);
    expect(podSpec.automountServiceAccountToken).toBe(false);
  });

  it("the wrapper script is the image's, and its inputs match the StatefulSet", () => {
    expect(strings(listAt(container, "command"))).toEqual([`/app/bin/${basename(STATEFULSET_ENV_SCRIPT)}`]);
    expect(readFileSync(join(K8S_DIR, "..", "Dockerfile"), "utf8")).toContain(
      "deploy/docker/statefulset-env.sh",
    );
    const args = strings(listAt(container, "args"));
    expect(args.slice(0, 2)).toEqual(["node", "/app/bin/enigma.mjs"]);
    expect(args).toContain("serve");
    expect(envEntry("ENIGMA_PEER_SERVICE")?.value).toBe(strAt(headless, "metadata", "name"));
    expect(envEntry("ENIGMA_CLUSTER_SIZE")?.value).toBe(String(replicas));
    expect(envEntry("ENIGMA_RAFT_PORT")?.value).toBe(String(containerPort("raft")));
    expect(isMap(envEntry("POD_NAMESPACE")?.valueFrom ?? null)).toBe(true);
  });

  it("each pod's config loads: node id = ordinal + 1, peers from the headless Service DNS names", () => {
    const args = strings(listAt(container, "args"));
    const configPath = flagValue(args, "--config") ?? "";
    const dataDir = flagValue(args, "--data-dir") ?? "";
    const configMount = listAt(container, "volumeMounts")
      .filter(isMap)
      .find((m) => configPath.startsWith(`${m.mountPath}/`));
    const configVol = listAt(podSpec, "volumes")
      .filter(isMap)
      .find((v) => v.name === configMount?.name);
    expect(strAt(configVol ?? {}, "configMap", "name")).toBe(strAt(configMap, "metadata", "name"));
    const toml = strAt(configMap, "data", configPath.slice(String(configMount?.mountPath).length + 1));
    const svc = strAt(headless, "metadata", "name");
    const namespace = "enigma-test";
    const expectedPeers = Array.from({ length: replicas }, (_, i) => ({
      id: i + 1,
      addr: `${stsName}-${i}.${svc}.${namespace}.svc.cluster.local:${containerPort("raft")}`,
    }));
    const seen = new Set<number>();
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const env = statefulSetEnv(podEnv(ordinal, namespace));
      const s = toSettings(loadTomlText(toml, env, dataDir));
      expect(s.raft.nodeId).toBe(ordinal + 1);
      seen.add(s.raft.nodeId);
      expect(s.raft.peers).toEqual(expectedPeers);
      expect(s.raft.clusterSecret).toBe("secret-cluster-secret-0123456789abcdef");
      expect(s.s3.listenAddr).toBe(`0.0.0.0:${containerPort("s3")}`);
      expect(s.ops.listenAddr).toBe(`0.0.0.0:${containerPort("ops")}`);
      expect(s.raft.grpcAddr).toBe(`0.0.0.0:${containerPort("raft")}`);
      expect(portOf(s.raft.grpcAddr)).toBe(portOf(expectedPeers[ordinal]?.addr ?? ""));
      expect(s.dbPath.startsWith(`${dataDir}/`)).toBe(true);
      expect(s.raft.dataDir).toBe(dataDir);
      expect(s.keyfilePath).toBe("/etc/enigma/keystore/keystore.enigma");
      expect(s.providers.length).toBeGreaterThanOrEqual(s.replicationFactor);
      expect(s.providers.every((p) => p.type !== "Local")).toBe(true); // shared storage only
      // SIGTERM drains for up to shutdown_timeout, then hands over leadership (≤ 5 s): the
      // kubelet's SIGKILL must come later.
      const grace = Number(get(podSpec, "terminationGracePeriodSeconds"));
      expect(grace * 1000).toBeGreaterThanOrEqual(s.ops.shutdownTimeoutMs + 5_000);
    }
    expect(seen.size).toBe(replicas);
  });

  it("the wrapper refuses a pod name without an ordinal", () => {
    expect(() =>
      statefulSetEnv({ POD_NAME: "enigma", ENIGMA_PEER_SERVICE: "x", ENIGMA_CLUSTER_SIZE: "3" }),
    ).toThrow(/NAME-ORDINAL/);
    expect(() => statefulSetEnv({ POD_NAME: "enigma-1", ENIGMA_CLUSTER_SIZE: "3" })).toThrow(
      /ENIGMA_PEER_SERVICE/,
    );
  });
});
