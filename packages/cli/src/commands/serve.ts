/**
 * `enigma serve`: run a node. The embedded default needs no config at all: one node, data and
 * local chunk storage under ./data, S3 on 127.0.0.1:8333, ops on 127.0.0.1:8433.
 *
 * First start creates the keystore from ENIGMA_PASSPHRASE; without it a random passphrase is
 * generated and kept in <data>/.passphrase (mode 0600) — development mode, announced loudly.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { tuneHeapForStreaming } from "@enigma/chunker";
import { createKeystore } from "@enigma/crypto";
import { loadConfig, startNode, toSettings } from "@enigma/server";
import pino from "pino";
import pretty from "pino-pretty";
import { type Context, keyProviderFailure } from "../context.js";

export const DEV_PASSPHRASE_FILE = ".passphrase";
const DEFAULT_ACCESS_KEY = "enigma-admin";
const DEFAULT_SECRET_KEY = "enigma-secret";

/**
 * Secrets never reach the log: these paths (one and two levels deep, as pino's redact matches
 * them) are censored whatever object a log call passes. Request lines carry no headers at all.
 */
export const REDACT_PATHS = [
  "passphrase",
  "secretKey",
  "secret_key",
  "secretAccessKey",
  "clusterSecret",
  "cluster_secret",
  "metricsToken",
  "metrics_token",
  "authorization",
  "signature",
  "*.passphrase",
  "*.secretKey",
  "*.secret_key",
  "*.secretAccessKey",
  "*.clusterSecret",
  "*.cluster_secret",
  "*.metricsToken",
  "*.metrics_token",
  "*.authorization",
  "*.signature",
  "*.credentials",
  "*.headers.authorization",
  '*.headers["x-amz-security-token"]',
  '*.query["X-Amz-Signature"]',
  '*.query["X-Amz-Credential"]',
];

/**
 * The node's logger: pino JSON lines on stderr; pretty colours only for a human at a terminal.
 * In-thread (no transport worker). `destination` is for tests.
 */
export function createServeLogger(
  level: string,
  tty: boolean,
  destination?: NodeJS.WritableStream,
): pino.Logger {
  const stream = destination ?? (tty ? pretty({ destination: 2, colorize: true }) : pino.destination(2));
  return pino({ level, redact: { paths: REDACT_PATHS, censor: "<redacted>" } }, stream);
}

export interface ServeFlags {
  readonly dataDir?: string;
  readonly logLevel?: string;
}

export async function serveCommand(ctx: Context, flags: ServeFlags, signal: AbortSignal): Promise<void> {
  tuneHeapForStreaming();
  const env = process.env;
  const dir = resolve(flags.dataDir || ctx.globals.configDir || env.ENIGMA_CONFIG_DIR || "data");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const loaded = loadConfig({
    configDir: dir,
    ...(ctx.globals.config ? { configFile: ctx.globals.config } : {}),
    ...(flags.logLevel ? { flags: { "ops.log_level": flags.logLevel } } : {}),
  });
  const settings = toSettings(loaded);
  const logger = createServeLogger(settings.ops.logLevel, Boolean(process.stderr.isTTY));

  // Only the local keystore has a passphrase; a vault key provider needs none (and is never created here).
  const localKeys = settings.keyProvider.kind === "local";
  let passphrase = localKeys ? (ctx.globals.passphrase ?? env.ENIGMA_PASSPHRASE) : undefined;
  const devFile = resolve(dir, DEV_PASSPHRASE_FILE);
  if (localKeys && !passphrase) {
    if (existsSync(devFile)) passphrase = readFileSync(devFile, "utf8").trim();
    else if (!existsSync(settings.keyfilePath)) {
      passphrase = randomBytes(24).toString("base64url");
      writeFileSync(devFile, `${passphrase}\n`, { mode: 0o600, flag: "wx" });
    }
  }
  if (localKeys && !passphrase) {
    throw new Error(`keystore ${settings.keyfilePath} exists but no passphrase: set ENIGMA_PASSPHRASE`);
  }
  if (localKeys && existsSync(devFile) && !(ctx.globals.passphrase ?? env.ENIGMA_PASSPHRASE)) {
    logger.warn(
      `DEVELOPMENT MODE: the keystore passphrase is stored in ${devFile} next to the data. ` +
        "Set ENIGMA_PASSPHRASE (and remove that file) for anything that matters.",
    );
  }
  if (localKeys && passphrase && !existsSync(settings.keyfilePath)) {
    if (settings.raft.peers.length > 0) {
      // Every member must unwrap the same replicated data keys: one keystore for the cluster.
      throw new Error(
        `no keystore at ${settings.keyfilePath}: cluster members share one keystore (and passphrase); ` +
          'create it once ("enigma init") and copy it to every node',
      );
    }
    await createKeystore(settings.keyfilePath, passphrase);
    logger.info({ keystore: settings.keyfilePath }, "created keystore");
  }

  const accessKeyId = env.ENIGMA_ACCESS_KEY ?? settings.s3.accessKey;
  const secretAccessKey = env.ENIGMA_SECRET_KEY ?? settings.s3.secretKey;
  if (accessKeyId === DEFAULT_ACCESS_KEY || secretAccessKey === DEFAULT_SECRET_KEY) {
    logger.warn(
      "using the default S3 credentials enigma-admin / enigma-secret: set ENIGMA_ACCESS_KEY and ENIGMA_SECRET_KEY",
    );
  }

  const node = await startNode({
    settings,
    ...(passphrase ? { passphrase } : {}),
    credentials: [{ accessKeyId, secretAccessKey }],
    logger,
  }).catch((err: unknown) => {
    throw keyProviderFailure(err); // vault unreachable / access denied: exit 3, naming provider + secret
  });
  const raft = settings.raft;
  const clusterNote = node.cluster
    ? `, raft node ${raft.nodeId} on ${raft.grpcAddr} (${raft.peers.length} configured peers)`
    : "";
  logger.info(
    {
      dataDir: dir,
      s3: node.s3Url,
      ops: `${settings.ops.listenAddr}`,
      providers: settings.providers.map((p) => p.name),
      ...(node.cluster ? { raft: { nodeId: raft.nodeId, grpc: raft.grpcAddr } } : {}),
    },
    `enigma serving S3 on ${node.s3Url} (data in ${dir})`,
  );
  ctx.out.info(
    `enigma: S3 on ${node.s3Url}, ops on http://${settings.ops.listenAddr}${clusterNote}, data in ${dir}`,
  );
  // SIGHUP: rotate certificates (S3 port and node-to-node mTLS) without a restart.
  const onHup = () => {
    try {
      node.reloadTls();
    } catch (err) {
      logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        "tls reload failed; keeping the old certificates",
      );
    }
  };
  process.on("SIGHUP", onHup);
  try {
    await new Promise<void>((resolveStop) => {
      if (signal.aborted) resolveStop();
      signal.addEventListener("abort", () => resolveStop(), { once: true });
    });
  } finally {
    process.off("SIGHUP", onHup);
  }
  logger.info(
    { shutdownTimeoutMs: settings.ops.shutdownTimeoutMs },
    "shutting down: draining S3 requests, handing over leadership",
  );
  await node.close();
  logger.info("stopped");
}
