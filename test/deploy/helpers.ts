/** Shared readers for the deploy/ tests: YAML manifests, the Dockerfile, compose interpolation, config loading. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type LoadedConfig, loadConfig } from "../../packages/server/src/config/index.js";
import { REPO_ROOT } from "../support/cli.js";
import { parseYamlDocuments, type YamlValue } from "../support/yaml-lite.js";

export const DEPLOY_DIR = join(REPO_ROOT, "deploy");
export const K8S_DIR = join(DEPLOY_DIR, "k8s");
export const COMPOSE_FILE = join(DEPLOY_DIR, "docker-compose.yml");
export const DOCKERFILE = join(DEPLOY_DIR, "Dockerfile");
export const STATEFULSET_ENV_SCRIPT = join(DEPLOY_DIR, "docker", "statefulset-env.sh");
export const HEALTHCHECK_SCRIPT = join(DEPLOY_DIR, "docker", "healthcheck.mjs");

export type YamlMap = { [key: string]: YamlValue };

export function isMap(v: YamlValue | undefined): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Walks a path of keys / indexes; throws naming the path when a step is missing. */
export function at(v: YamlValue | undefined, ...path: (string | number)[]): YamlValue {
  let cur: YamlValue | undefined = v;
  const seen: (string | number)[] = [];
  for (const step of path) {
    seen.push(step);
    if (typeof step === "number") cur = Array.isArray(cur) ? cur[step] : undefined;
    else cur = isMap(cur) ? cur[step] : undefined;
    if (cur === undefined) throw new Error(`missing ${seen.join(".")}`);
  }
  return cur as YamlValue;
}

export function mapAt(v: YamlValue | undefined, ...path: (string | number)[]): YamlMap {
  const m = at(v, ...path);
  if (!isMap(m)) throw new Error(`${path.join(".")} is not a mapping`);
  return m;
}

export function listAt(v: YamlValue | undefined, ...path: (string | number)[]): YamlValue[] {
  const l = at(v, ...path);
  if (!Array.isArray(l)) throw new Error(`${path.join(".")} is not a sequence`);
  return l;
}

export function strAt(v: YamlValue | undefined, ...path: (string | number)[]): string {
  const s = at(v, ...path);
  if (typeof s !== "string") throw new Error(`${path.join(".")} is not a string: ${JSON.stringify(s)}`);
  return s;
}

export function strings(l: YamlValue[]): string[] {
  return l.map((x) => {
    if (typeof x !== "string") throw new Error(`not a string: ${JSON.stringify(x)}`);
    return x;
  });
}

/** Every YAML file under a directory (recursive), relative path → text. */
export function yamlFilesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /\.ya?ml$/.test(e.name)) {
      const full = join(e.parentPath, e.name);
      out.set(relative(dir, full), readFileSync(full, "utf8"));
    }
  }
  return out;
}

export interface K8sObject {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly doc: YamlMap;
}

export function loadK8sObjects(): K8sObject[] {
  const out: K8sObject[] = [];
  for (const [file, text] of yamlFilesUnder(K8S_DIR)) {
    for (const doc of parseYamlDocuments(text)) {
      if (!isMap(doc)) throw new Error(`${file}: a document is not a mapping`);
      out.push({
        file,
        kind: strAt(doc, "kind"),
        name: isMap(doc.metadata) ? strAt(doc, "metadata", "name") : "",
        doc,
      });
    }
  }
  return out;
}

export function findK8s(objects: readonly K8sObject[], kind: string, name?: string): YamlMap {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.name === name));
  if (hits.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${hits.length}`);
  return (hits[0] as K8sObject).doc;
}

// --- Dockerfile ---------------------------------------------------------------------------------

export interface DockerInstruction {
  readonly op: string;
  readonly args: string;
}
export interface DockerStage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: DockerInstruction[];
}
export interface ParsedDockerfile {
  readonly args: Map<string, string>;
  readonly stages: DockerStage[];
}

/** Instructions with line continuations joined and comments dropped, grouped into stages. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const logical: string[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (cur === "" && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    if (cur !== "" && line.trim().startsWith("#")) continue;
    if (line.endsWith("\\")) {
      cur += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((cur + line.trim()).trim());
    cur = "";
  }
  if (cur.trim() !== "") logical.push(cur.trim());
  const args = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) throw new Error(`bad Dockerfile line: ${l}`);
    const op = (m[1] as string).toUpperCase();
    const rest = m[2] as string;
    if (op === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`bad FROM: ${rest}`);
      const image = (f[1] as string).replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? "");
      stages.push({ from: image, name: f[2], instructions: [] });
    } else if (op === "ARG" && stages.length === 0) {
      const [k, v] = rest.split("=", 2);
      args.set((k as string).trim(), (v ?? "").trim());
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${op} before FROM`);
      stage.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

/** `KEY=value` pairs of the ENV instructions of a stage. */
export function stageEnv(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.op === "ENV")) {
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
      env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, "");
  }
  return env;
}

export function runtimeStage(): DockerStage {
  const stage = parseDockerfile(readFileSync(DOCKERFILE, "utf8")).stages.at(-1);
  if (!stage) throw new Error("Dockerfile has no stage");
  return stage;
}

// --- compose ------------------------------------------------------------------------------------

/** docker compose variable interpolation for the forms the lab uses: ${VAR}, ${VAR:-default}, $$. */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>> = {}): string {
  return text.replace(
    /\$\$|\$\{(\w+)(?::-([^}]*))?\}/g,
    (all, name: string | undefined, def: string | undefined) => {
      if (all === "$$") return "$";
      const v = env[name as string];
      if (v !== undefined && v !== "") return v;
      if (def === undefined) throw new Error(`compose variable ${name} has no default`);
      return def;
    },
  );
}

/** The `environment:` of a compose service as a record (map form or list form). */
export function composeEnv(service: YamlMap): Record<string, string> {
  const e = service.environment;
  const out: Record<string, string> = {};
  if (e === undefined || e === null) return out;
  if (Array.isArray(e)) {
    for (const item of strings(e)) {
      const eq = item.indexOf("=");
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  }
  if (!isMap(e)) throw new Error("environment is neither a map nor a list");
  for (const [k, v] of Object.entries(e)) out[k] = v === null ? "" : String(v);
  return out;
}

// --- config loading -----------------------------------------------------------------------------

/** Loads a TOML text with the real loader, the given env (nothing from process.env) and data dir. */
export function loadTomlText(text: string, env: Record<string, string>, dataDir = "/data"): LoadedConfig {
  const dir = mkdtempSync(join(tmpdir(), "enigma-deploy-"));
  try {
    const file = join(dir, "enigma.toml");
    writeFileSync(file, text);
    return loadConfig({ configDir: dataDir, configFile: file, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the StatefulSet wrapper script as the image would, returning the env it hands to its command. */
export function statefulSetEnv(env: Record<string, string>): Record<string, string> {
  const out = execFileSync(
    "sh",
    [STATEFULSET_ENV_SCRIPT, process.execPath, "-e", "process.stdout.write(JSON.stringify(process.env))"],
    {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return JSON.parse(out) as Record<string, string>;
}

/** The `--flag value` of an argument list. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}
