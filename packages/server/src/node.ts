/**
 * The composition root of `enigma serve`: config → ops port → engine (keystore, manifest, storage,
 * pipeline; in cluster mode with the Raft committer underneath) → S3 front end.
 *
 * Cluster mode (`[raft] peers` non-empty): a `ClusterNode` (Raft + gRPC) applies the log to the
 * manifest and the engine commits through it. Single node (no peers) keeps the `LocalCommitter`:
 * the backup CLI opens the same manifest directly with it, and a Raft log beside it would be
 * bypassed by those writes.
 *
 * The ops port starts first, so `/livez` answers while a fresh node waits for its cluster to form.
 */
import { readFileSync } from "node:fs";
import { decryptCredential, isEncryptedCredential } from "@enigma/crypto";
import type { Command } from "@enigma/manifest";
import { type S3Credential, type S3RequestLog, startS3Server } from "@enigma/s3";
import type { Logger } from "pino";
import { AdminRegistry } from "./admin/registry.js";
import { type RunningCluster, startCluster } from "./cluster/start-cluster.js";
import type { EnigmaSettings } from "./config/index.js";
import { type Engine, openEngine } from "./engine/engine.js";
import { registerGcActions } from "./gc/admin.js";
import { splitHostPort, startOpsServer } from "./ops-http.js";
import { EngineObjectService } from "./s3/object-service.js";
import { registerSnapshotActions } from "./snapshot/admin.js";

export interface NodeOptions {
  readonly settings: EnigmaSettings;
  readonly passphrase: string;
  readonly credentials: readonly S3Credential[];
  readonly logger: Logger;
  /**
   * The Raft node stopped on a fatal error (invariant violation, storage failure, undecodable
   * committed entry). Default: log it and exit the process — a replica must not limp on.
   */
  readonly onFatal?: (err: unknown) => void;
}

export interface RunningNode {
  readonly engine: Engine;
  readonly s3Url: string;
  readonly opsPort: number;
  /** Cluster mode only. */
  readonly cluster: RunningCluster | undefined;
  /** Stops accepting requests, drains in-flight ones, stops Raft, closes the engine. */
  close(): Promise<void>;
}

export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const { settings, logger } = opts;
  const started = Date.now();
  const clustered = settings.raft.peers.length > 0;
  let phase: "starting" | "serving" | "stopping" = "starting";
  let engine: Engine | undefined;
  let cluster: RunningCluster | undefined;

  const opsAddr = splitHostPort(settings.ops.listenAddr);
  const ops = await startOpsServer(opsAddr.host, opsAddr.port, {
    readiness: () => (phase !== "serving" ? phase : (cluster?.readiness() ?? null)),
    status: () => {
      const uptimeMs = Date.now() - started;
      if (cluster !== undefined) return { ...cluster.status(), phase, uptimeMs };
      if (engine === undefined) return { nodeId: settings.raft.nodeId, pid: process.pid, phase, uptimeMs };
      const meta = engine.manifest.raftMeta();
      return {
        nodeId: settings.raft.nodeId,
        pid: process.pid,
        role: "leader",
        term: meta.appliedTerm,
        leaderId: settings.raft.nodeId,
        commitIndex: meta.appliedIndex,
        appliedIndex: meta.appliedIndex,
        members: [{ id: settings.raft.nodeId, addr: settings.raft.grpcAddr, role: "voter" }],
        phase,
        uptimeMs,
      };
    },
  });

  const onFatal =
    opts.onFatal ??
    ((err: unknown) => {
      logger.fatal({ err }, "raft node failed; exiting");
      process.exit(1);
    });
  // Bound once the engine exists: keys added by AddDataKey anywhere become usable here at once.
  let refreshKeys = () => {};
  const onApplied = (commands: readonly Command[]) => {
    if (commands.some((c) => c.type === "AddDataKey")) refreshKeys();
  };

  try {
    engine = await openEngine(settings, {
      passphrase: opts.passphrase,
      onStorageEvent: (e) =>
        logger.warn({ storage: { type: e.type, provider: e.provider } }, "storage event"),
      ...(clustered
        ? {
            committer: async (manifest, keystore) => {
              const raw = settings.raft.clusterSecret;
              const secret =
                raw !== undefined && isEncryptedCredential(raw) ? decryptCredential(keystore, raw) : raw;
              cluster = await startCluster(settings, manifest, {
                secret,
                logger: logger.child({ component: "raft" }),
                onFatal,
                onApplied,
                onRestored: () => refreshKeys(),
              });
              logger.info(
                { nodeId: settings.raft.nodeId, grpc: settings.raft.grpcAddr, peers: settings.raft.peers },
                "raft node started; waiting for the cluster",
              );
              return cluster.committer;
            },
          }
        : {}),
    });
    const eng = engine;
    refreshKeys = () => eng.keyring.refresh();

    // Operator actions over the cluster service (`Admin` RPC); each feature registers its own.
    const admin = new AdminRegistry();
    const adminCtx = { settings, engine: eng, cluster, logger };
    registerGcActions(admin, adminCtx);
    registerSnapshotActions(admin, adminCtx);
    cluster?.node.setAdminHandler(admin.handler());

    const s3Addr = splitHostPort(settings.s3.listenAddr);
    const tls =
      settings.s3.tlsCert && settings.s3.tlsKey
        ? { certPem: readFileSync(settings.s3.tlsCert), keyPem: readFileSync(settings.s3.tlsKey) }
        : undefined;
    const s3 = await startS3Server({
      host: s3Addr.host,
      port: s3Addr.port,
      ...(tls ? { tls } : {}),
      service: new EngineObjectService(eng),
      credentials: opts.credentials,
      region: settings.s3.region,
      ...(settings.s3.rootDomain ? { virtualHostRoots: [settings.s3.rootDomain] } : {}),
      onInternalError: (err, requestId) => logger.error({ err, requestId }, "s3 internal error"),
      onRequestDone: (log: S3RequestLog) =>
        logger.info(
          {
            req: log.requestId,
            op: log.endpoint ?? "-",
            method: log.method,
            status: log.status,
            err: log.errorCode,
            ms: Math.round(log.durationMs),
          },
          "s3",
        ),
    });
    phase = "serving";
    return {
      engine: eng,
      s3Url: s3.url,
      opsPort: ops.port,
      cluster,
      async close() {
        phase = "stopping";
        await s3.close();
        await cluster?.stop();
        await ops.close();
        await eng.close();
      },
    };
  } catch (err) {
    await cluster?.stop();
    await engine?.close();
    await ops.close();
    throw err;
  }
}
