#!/usr/bin/env node
// `pnpm lab`: a local 3-node Enigma HA cluster in the foreground, on 127.0.0.1.
//
//   node 1: S3 127.0.0.1:8333  gRPC 127.0.0.1:9000  ops http://127.0.0.1:8433
//   node 2: S3 127.0.0.1:8334  gRPC 127.0.0.1:9001  ops http://127.0.0.1:8434
//   node 3: S3 127.0.0.1:8335  gRPC 127.0.0.1:9002  ops http://127.0.0.1:8435
//
// Everything lives under ./lab: one data dir per node (lab/n1..n3: enigma.toml, manifest, raft
// log), one shared local-directory chunk store (lab/chunks), one keystore copied to every node.
// Keys and passphrase follow `pnpm start`: ENIGMA_PASSPHRASE if set, else a random passphrase kept
// in lab/.passphrase (development mode, announced). S3 credentials: ENIGMA_ACCESS_KEY /
// ENIGMA_SECRET_KEY, default enigma-admin / enigma-secret. Ctrl-C or SIGTERM stops all three;
// a second Ctrl-C kills them.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(REPO, "packages", "cli", "bin", "enigma.mjs");
const ROOT = resolve(process.env.ENIGMA_LAB_DIR ?? "lab");
const NODES = [1, 2, 3];
const s3Port = (id) => 8332 + id;
const grpcPort = (id) => 8999 + id;
const opsPort = (id) => 8432 + id;

function say(line) {
  process.stderr.write(`[lab] ${line}\n`);
}

mkdirSync(join(ROOT, "chunks"), { recursive: true, mode: 0o700 });

// Passphrase: the rules of `pnpm start` (enigma serve), for the whole lab.
let passphrase = process.env.ENIGMA_PASSPHRASE;
const passFile = join(ROOT, ".passphrase");
if (!passphrase) {
  if (!existsSync(passFile))
    writeFileSync(passFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  passphrase = readFileSync(passFile, "utf8").trim();
  say(
    `DEVELOPMENT MODE: the keystore passphrase is stored in ${passFile}. ` +
      "Set ENIGMA_PASSPHRASE for anything that matters.",
  );
}

// One keystore for the cluster: created once (enigma init in a scratch dir), copied to each node.
const keystore = join(ROOT, "keystore.enigma");
if (!existsSync(keystore)) {
  const seed = join(ROOT, ".seed");
  rmSync(seed, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [CLI, "init", "--config-dir", seed], {
    env: { ...process.env, ENIGMA_PASSPHRASE: passphrase, ENIGMA_CONFIG_DIR: seed },
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (r.status !== 0) {
    say("could not create the keystore (enigma init failed)");
    process.exit(1);
  }
  copyFileSync(join(seed, "keystore.enigma"), keystore);
  rmSync(seed, { recursive: true, force: true });
  say(`created the cluster keystore ${keystore}`);
}

// The cluster secret authenticates the nodes to each other.
const secretFile = join(ROOT, ".cluster-secret");
if (!existsSync(secretFile))
  writeFileSync(secretFile, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
const clusterSecret = readFileSync(secretFile, "utf8").trim();

const peers = NODES.map((id) => `"${id}=127.0.0.1:${grpcPort(id)}"`).join(", ");
for (const id of NODES) {
  const dir = join(ROOT, `n${id}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(dir, "keystore.enigma"))) copyFileSync(keystore, join(dir, "keystore.enigma"));
  const toml = join(dir, "enigma.toml");
  if (!existsSync(toml)) {
    writeFileSync(
      toml,
      [
        `# pnpm lab, node ${id}. Edit freely; the lab only writes this file when it is missing.`,
        "[s3_proxy]",
        `listen_addr = "127.0.0.1:${s3Port(id)}"`,
        "",
        "[raft]",
        `node_id = ${id}`,
        `grpc_addr = "127.0.0.1:${grpcPort(id)}"`,
        `peers = [${peers}]`,
        "election_timeout_ms = 1000",
        "heartbeat_ms = 100",
        "snapshot_threshold = 10000",
        `cluster_secret = "${clusterSecret}"`,
        "",
        "[ops]",
        `listen_addr = "127.0.0.1:${opsPort(id)}"`,
        "",
        "[[providers]]",
        'name = "local"',
        'type = "Local"',
        `bucket = "${join(ROOT, "chunks")}"`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
  }
}

const LEVELS = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** Renders the nodes' JSON log lines compactly, prefixed with the node. */
function pipeLines(stream, tag) {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (s) => {
    buf += s;
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      if (line.trim() === "") continue;
      let out = line;
      try {
        const j = JSON.parse(line);
        const { level, time, msg, pid: _p, hostname: _h, ...rest } = j;
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
        out = `${new Date(time).toISOString().slice(11, 23)} ${LEVELS[level] ?? level} ${msg}${extra}`;
      } catch {}
      process.stderr.write(`[${tag}] ${out}\n`);
    }
  });
}

const children = new Map();
for (const id of NODES) {
  const child = spawn(process.execPath, [CLI, "serve", "--data-dir", join(ROOT, `n${id}`)], {
    env: { ...process.env, ENIGMA_PASSPHRASE: passphrase, ENIGMA_CONFIG_DIR: undefined },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.set(id, child);
  pipeLines(child.stdout, `n${id}`);
  pipeLines(child.stderr, `n${id}`);
  child.on("exit", (code, signal) => {
    children.delete(id);
    say(`node ${id} exited (${signal ?? code})`);
    if (children.size === 0) process.exit(stopping ? 0 : 1);
  });
}
say(
  `3 nodes starting under ${ROOT}: S3 on 127.0.0.1:8333-8335, gRPC 9000-9002, ops http://127.0.0.1:8433-8435 ` +
    "(Ctrl-C stops all)",
);

let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (stopping) {
      say("killing the nodes");
      for (const c of children.values()) c.kill("SIGKILL");
      return;
    }
    stopping = true;
    say("stopping the nodes");
    for (const c of children.values()) c.kill("SIGTERM");
  });
}
