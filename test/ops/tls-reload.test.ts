/**
 * Certificate rotation without a restart: `enigma serve` with HTTPS on the S3 port and mutual TLS
 * on its gRPC port (a one-member cluster), the PEM files replaced by ones from another CA, then
 * SIGHUP. New S3 connections see the new certificate; the cluster service accepts clients of the
 * new CA and refuses the old; a broken file on the next SIGHUP changes nothing.
 */
import type { ChildProcess } from "node:child_process";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { ClusterClient, RaftNodeError, readTls } from "../../packages/raft-node/src/index.js";
import { makePki as makeTestPki } from "../../packages/raft-node/src/testing/pki.js";
import { sleep } from "../cluster/harness.js";
import { spawnEnigma } from "../support/cli.js";
import { prepareDataDir, TEST_PASSPHRASE } from "../support/engine.js";
import { freePort } from "../support/ports.js";

const SECRET = "tls-reload-cluster-secret-0123456789";
const opensslAvailable = spawnSync("openssl", ["version"]).status === 0;
if (!opensslAvailable) console.log("tls-reload.test: skipped: openssl not found to make certificates");

/** A CA `name-ca.pem` and `name.pem`/`name.key` for 127.0.0.1 signed by it (the shared test PKI). */
function makePki(dir: string, name: string): void {
  if (makeTestPki(dir, name) === undefined)
    throw new Error(`openssl could not make the ${name} certificates`);
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown. */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.once("error", reject);
  });
}

function fingerprintOf(dir: string, file: string): string {
  const out = execFileSync("openssl", ["x509", "-in", join(dir, file), "-noout", "-fingerprint", "-sha256"], {
    encoding: "utf8",
  });
  return out.trim().split("=")[1]!;
}

const dirs: string[] = [];
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!opensslAvailable)("certificate reload on SIGHUP", () => {
  it("rotates the S3 certificate and the node-to-node mTLS material without a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "enigma-tls-reload-"));
    dirs.push(dir);
    makePki(dir, "old");
    makePki(dir, "new");
    const use = (name: string) => {
      copyFileSync(join(dir, `${name}.pem`), join(dir, "cert.pem"));
      copyFileSync(join(dir, `${name}.key`), join(dir, "key.pem"));
      copyFileSync(join(dir, `${name}-ca.pem`), join(dir, "ca.pem"));
    };
    use("old");
    const [s3Port, opsPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
    await prepareDataDir(dir);
    writeFileSync(
      join(dir, "enigma.toml"),
      [
        "[enigma]",
        'chunk_size = "64KiB"',
        "workers = 0",
        "[s3_proxy]",
        `listen_addr = "127.0.0.1:${s3Port}"`,
        `tls_cert = "${join(dir, "cert.pem")}"`,
        `tls_key = "${join(dir, "key.pem")}"`,
        "[raft]",
        "node_id = 1",
        `grpc_addr = "127.0.0.1:${grpcPort}"`,
        `peers = ["1=127.0.0.1:${grpcPort}"]`,
        `tls_cert = "${join(dir, "cert.pem")}"`,
        `tls_key = "${join(dir, "key.pem")}"`,
        `tls_ca = "${join(dir, "ca.pem")}"`,
        "[ops]",
        `listen_addr = "127.0.0.1:${opsPort}"`,
        "",
      ].join("\n"),
    );
    child = spawnEnigma(["serve", "--data-dir", dir, "--log-level", "info"], {
      env: {
        ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
        ENIGMA_RAFT_CLUSTER_SECRET: SECRET,
        ENIGMA_CONFIG_DIR: undefined,
      },
    });
    child.stdin?.end();
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const proc = child;
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const waitLog = async (text: string, from: number) => {
      const deadline = Date.now() + 30_000;
      while (!stderr.slice(from).includes(text)) {
        if (proc.exitCode !== null) throw new Error(`serve exited:\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`no "${text}" in the log:\n${stderr}`);
        await sleep(50);
      }
    };
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`serve exited:\n${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${opsPort}/readyz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`not ready:\n${stderr}`);
      await sleep(100);
    }
    const files = {
      certPath: join(dir, "cert.pem"),
      keyPath: join(dir, "key.pem"),
      caPath: join(dir, "ca.pem"),
    };
    const oldTls = readTls(files);
    const statusWith = async (tls: ReturnType<typeof readTls>) => {
      const c = new ClusterClient(`127.0.0.1:${grpcPort}`, { secret: SECRET, tls });
      try {
        return await c.status(3000);
      } finally {
        c.close();
      }
    };

    expect(await peerFingerprint(s3Port)).toBe(fingerprintOf(dir, "old.pem"));
    expect((await statusWith(oldTls)).nodeId).toBe(1);

    use("new");
    const newTls = readTls(files);
    let mark = stderr.length;
    process.kill(proc.pid!, "SIGHUP");
    await waitLog("tls certificates reloaded", mark);
    expect(await peerFingerprint(s3Port)).toBe(fingerprintOf(dir, "new.pem"));
    expect((await statusWith(newTls)).nodeId).toBe(1);
    // The old CA no longer vouches for the server (nor the server for the old client certificate).
    const refused = await statusWith(oldTls).catch((e: unknown) => e);
    expect(RaftNodeError.is(refused)).toBe(true);

    // A broken key: the reload is refused, the node keeps serving with the certificate it had.
    writeFileSync(
      join(dir, "key.pem"),
      "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    );
    mark = stderr.length;
    process.kill(proc.pid!, "SIGHUP");
    await waitLog("tls reload failed", mark);
    expect(proc.exitCode).toBe(null);
    expect(await peerFingerprint(s3Port)).toBe(fingerprintOf(dir, "new.pem"));

    process.kill(proc.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  }, 120_000);
});
