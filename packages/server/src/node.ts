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
import { type CredentialKey, decryptCredential, isEncryptedCredential } from "@enigma/crypto";
import { type Command, FEATURE_LEVEL } from "@enigma/manifest";
import { type S3Credential, type S3RequestLog, startS3Server } from "@enigma/s3";
import { FreeSpaceGuard } from "@enigma/storage";
import type { Logger } from "pino";
import { AdminRegistry } from "./admin/registry.js";
import { FeatureRaiser, registerFeatureActions } from "./cluster/feature-level.js";
import { type RunningCluster, startCluster } from "./cluster/start-cluster.js";
import type { EnigmaSettings } from "./config/index.js";
import { type Engine, openEngine } from "./engine/engine.js";
import { registerKeyActions } from "./engine/keys-admin.js";
import { registerGcActions } from "./gc/admin.js";
import { registerGcMetrics } from "./gc/metrics.js";
import { GcScheduler } from "./gc/scheduler.js";
import { instrumentCommitter, NodeMetrics } from "./metrics/metrics.js";
import { nodeReadiness, splitHostPort, startOpsServer } from "./ops-http.js";
import { EngineObjectService } from "./s3/object-service.js";
import { registerSnapshotActions } from "./snapshot/admin.js";
import { ensureNodeSigningKey } from "./snapshot/node-key.js";

export interface NodeOptions {
  readonly settings: EnigmaSettings;
  /** The keystore passphrase: only the local key provider needs it (vault providers: omit). */
  readonly passphrase?: string;
  /** S3 access keys; a secret may be an `enc:` token (`enigma encrypt-cred`), decrypted here. */
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
  readonly metrics: NodeMetrics;
  /**
   * Graceful stop (SIGTERM): /readyz turns 503, the S3 port stops accepting and drains in-flight
   * requests (at most `[ops] shutdown_timeout`, then cuts them), a leader hands leadership to the
   * most up-to-date voter, then Raft stops and the engine closes.
   */
  close(): Promise<void>;
  /**
   * Certificate rotation (SIGHUP): re-reads the S3 `tls_cert`/`tls_key` and the `[raft] tls_*`
   * files; later handshakes use them. A bad file changes nothing and the error names it.
   */
  reloadTls(): void;
}

/** Longest wait for a leadership hand-over during shutdown. */
const SHUTDOWN_TRANSFER_MS = 5_000;

export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const { settings, logger } = opts;
  const started = Date.now();
  const clustered = settings.raft.peers.length > 0;
  let phase: "starting" | "serving" | "stopping" = "starting";
  let engine: Engine | undefined;
  let cluster: RunningCluster | undefined;
  const metrics = new NodeMetrics({ nodeId: settings.raft.nodeId });
  // An `enc:` metrics token is usable once the keystore is open (null until then: /metrics 503).
  const rawToken = settings.ops.metricsToken;
  let metricsToken: string | undefined | null =
    rawToken !== undefined && isEncryptedCredential(rawToken) ? null : rawToken;

  const opsAddr = splitHostPort(settings.ops.listenAddr);
  const ops = await startOpsServer(opsAddr.host, opsAddr.port, {
    readiness: (o) => {
      const c = cluster;
      return nodeReadiness(phase, engine?.workers()?.seal ?? null, c && ((r) => c.readiness(r)), o);
    },
    metrics: () => metrics.render(),
    metricsToken: () => metricsToken,
    status: () => {
      const uptimeMs = Date.now() - started;
      const workers = engine?.workers() ?? null;
      // The cluster feature level in force, and the highest this build implements.
      const features =
        engine === undefined
          ? {}
          : { featureLevel: engine.manifest.featureLevel(), buildFeatureLevel: FEATURE_LEVEL };
      if (cluster !== undefined) return { ...cluster.status(), phase, uptimeMs, workers, ...features };
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
        ...features,
        workers,
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
      ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }),
      onStorageEvent: (e) => {
        metrics.onStorageEvent(e);
        logger.warn({ storage: { type: e.type, provider: e.provider } }, "storage event");
      },
      onWorkerExit: (e) => {
        metrics.workerExits.inc({ role: e.role, replaced: String(e.replaced) });
        logger.error(
          { worker: { role: e.role, exitCode: e.exitCode, replaced: e.replaced }, err: e.error },
          "worker thread died; its requests failed",
        );
      },
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
                observer: metrics.raftObserver(),
              });
              cluster.node.raft.onLeaderChange(() => metrics.leaderChanges.inc());
              logger.info(
                { nodeId: settings.raft.nodeId, grpc: settings.raft.grpcAddr, peers: settings.raft.peers },
                "raft node started; waiting for the cluster",
              );
              return instrumentCommitter(cluster.committer, metrics);
            },
          }
        : {}),
    });
    const eng = engine;
    refreshKeys = () => eng.keyring.refresh();
    if (rawToken !== undefined) metricsToken = decryptSecret(eng.keystore, rawToken);
    const credentials = opts.credentials.map((c) => ({
      ...c,
      secretAccessKey: decryptSecret(eng.keystore, c.secretAccessKey),
    }));
    metrics.bindRaft(() => {
      if (cluster !== undefined) return cluster.status();
      const meta = eng.manifest.raftMeta();
      return {
        role: "leader",
        term: meta.appliedTerm,
        leaderId: settings.raft.nodeId,
        commitIndex: meta.appliedIndex,
        appliedIndex: meta.appliedIndex,
      };
    });

    // Operator actions over the cluster service (`Admin` RPC); each feature registers its own.
    // The node's own snapshot-signing key (snapshot/node-key.ts), created on first start.
    const signing = await ensureNodeSigningKey(settings.raft.dataDir);
    if (signing.created) {
      logger.info({ publicKey: signing.publicKeyPath }, "created the node's snapshot-signing key");
    }
    const admin = new AdminRegistry();
    const adminCtx = { settings, engine: eng, cluster, logger };
    registerGcActions(admin, adminCtx);
    registerGcMetrics(metrics.registry, adminCtx);
    registerSnapshotActions(admin, adminCtx);
    registerKeyActions(admin, adminCtx);
    registerFeatureActions(admin, adminCtx);
    cluster?.node.setAdminHandler(admin.handler());
    // The leader raises the cluster feature level once every member's build supports it.
    const featureRaiser =
      cluster === undefined
        ? undefined
        : new FeatureRaiser({
            engine: eng,
            cluster,
            logger: logger.child({ component: "features" }),
          }).start();
    // Scheduled GC: on the leader (or the single node) every gc_interval; 0 = off.
    const gcScheduler = new GcScheduler({
      engine: eng,
      cluster,
      logger: logger.child({ component: "gc" }),
      intervalMs: settings.gcIntervalMs,
      graceMs: settings.gcGraceMs,
    }).start();

    const s3Addr = splitHostPort(settings.s3.listenAddr);
    const readS3Tls = () =>
      settings.s3.tlsCert && settings.s3.tlsKey
        ? { certPem: readFileSync(settings.s3.tlsCert), keyPem: readFileSync(settings.s3.tlsKey) }
        : undefined;
    const tls = readS3Tls();
    const s3 = await startS3Server({
      host: s3Addr.host,
      port: s3Addr.port,
      ...(tls ? { tls } : {}),
      service: new EngineObjectService(eng, {
        onWrite: (w) => metrics.onChunksWritten(w),
        metadataSpace: new FreeSpaceGuard(settings.raft.dataDir, {
          ...(settings.raft.minFreeBytes === undefined ? {} : { minFreeBytes: settings.raft.minFreeBytes }),
        }),
      }),
      credentials,
      region: settings.s3.region,
      ...(settings.s3.rootDomain ? { virtualHostRoots: [settings.s3.rootDomain] } : {}),
      onInternalError: (err, requestId) => logger.error({ err, requestId }, "s3 internal error"),
      onRequestStart: () => metrics.onS3Start(),
      onRequestDone: (log: S3RequestLog) => {
        metrics.onS3Done(log);
        // One line per request; never names, keys, headers or signatures.
        logger.info(
          {
            req: log.requestId,
            op: log.endpoint ?? "-",
            method: log.method,
            status: log.status,
            err: log.errorCode,
            bytesIn: log.bytesIn,
            bytesOut: log.bytesOut,
            ms: Math.round(log.durationMs),
          },
          "s3",
        );
      },
    });
    phase = "serving";
    let closing: Promise<void> | undefined;
    return {
      engine: eng,
      s3Url: s3.url,
      opsPort: ops.port,
      cluster,
      metrics,
      close() {
        closing ??= (async () => {
          phase = "stopping";
          await gcScheduler.stop();
          await featureRaiser?.stop();
          const t0 = Date.now();
          await s3.close({ graceMs: settings.ops.shutdownTimeoutMs });
          logger.info({ ms: Date.now() - t0 }, "s3 requests drained");
          const raft = cluster?.node.raft;
          if (cluster !== undefined && raft?.role === "leader" && !raft.stopped) {
            try {
              const to = await cluster.node.transferLeader(0, { timeoutMs: SHUTDOWN_TRANSFER_MS });
              logger.info({ leader: to }, "leadership transferred before shutdown");
            } catch (err) {
              // A single voter, or no follower caught up in time: the others elect after a timeout.
              logger.warn({ err: String(err) }, "leadership transfer before shutdown failed");
            }
          }
          await cluster?.stop();
          await ops.close();
          await eng.close();
        })();
        return closing;
      },
      reloadTls() {
        const next = readS3Tls();
        if (next !== undefined) s3.reloadTls(next);
        cluster?.reloadTls();
        logger.info(
          { s3: next !== undefined, raft: settings.raft.tls !== undefined },
          "tls certificates reloaded",
        );
      },
    };
  } catch (err) {
    await cluster?.stop();
    await engine?.close();
    await ops.close();
    throw err;
  }
}

function decryptSecret(keystore: CredentialKey, value: string): string {
  return isEncryptedCredential(value) ? decryptCredential(keystore, value) : value;
}
