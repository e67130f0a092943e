/**
 * The composition root of `enigma serve`: config → engine (keystore, manifest, storage, pipeline)
 * → S3 front end + ops port. Single-node mode today; the cluster wiring puts a Raft committer
 * under the same engine without touching the S3 layer.
 */
import { readFileSync } from "node:fs";
import { type S3Credential, type S3RequestLog, startS3Server } from "@enigma/s3";
import type { Logger } from "pino";
import type { EnigmaSettings } from "./config/index.js";
import { type Engine, openEngine } from "./engine/engine.js";
import { splitHostPort, startOpsServer } from "./ops-http.js";
import { EngineObjectService } from "./s3/object-service.js";

export interface NodeOptions {
  readonly settings: EnigmaSettings;
  readonly passphrase: string;
  readonly credentials: readonly S3Credential[];
  readonly logger: Logger;
}

export interface RunningNode {
  readonly engine: Engine;
  readonly s3Url: string;
  readonly opsPort: number;
  /** Stops accepting requests, drains in-flight ones, closes the engine. */
  close(): Promise<void>;
}

export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const { settings, logger } = opts;
  const engine = await openEngine(settings, {
    passphrase: opts.passphrase,
    onStorageEvent: (e) => logger.warn({ storage: { type: e.type, provider: e.provider } }, "storage event"),
  });
  const started = Date.now();
  try {
    const s3Addr = splitHostPort(settings.s3.listenAddr);
    const tls =
      settings.s3.tlsCert && settings.s3.tlsKey
        ? { certPem: readFileSync(settings.s3.tlsCert), keyPem: readFileSync(settings.s3.tlsKey) }
        : undefined;
    const s3 = await startS3Server({
      host: s3Addr.host,
      port: s3Addr.port,
      ...(tls ? { tls } : {}),
      service: new EngineObjectService(engine),
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
    const opsAddr = splitHostPort(settings.ops.listenAddr);
    const ops = await startOpsServer(opsAddr.host, opsAddr.port, {
      readiness: () => null,
      status: () => {
        const meta = engine.manifest.raftMeta();
        return {
          nodeId: settings.raft.nodeId,
          pid: process.pid,
          role: "leader",
          term: meta.appliedTerm,
          leaderId: settings.raft.nodeId,
          commitIndex: meta.appliedIndex,
          appliedIndex: meta.appliedIndex,
          members: [{ id: settings.raft.nodeId, addr: settings.raft.grpcAddr }],
          uptimeMs: Date.now() - started,
        };
      },
    });
    return {
      engine,
      s3Url: s3.url,
      opsPort: ops.port,
      async close() {
        await s3.close();
        await ops.close();
        await engine.close();
      },
    };
  } catch (err) {
    await engine.close();
    throw err;
  }
}
