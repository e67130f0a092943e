#!/usr/bin/env node
/**
 * The `enigma` command table. Each command is a thin adapter: parse flags → call the engine →
 * print a human or --json result. Failures become one line on stderr and a documented exit code.
 */
import { Command } from "commander";
import { configCommand, deleteCommand, encryptCredCommand, listCommand } from "./commands/admin.js";
import { backupCommand } from "./commands/backup.js";
import {
  type ClusterFlags,
  clusterAddNodeCommand,
  clusterRemoveNodeCommand,
  clusterStatusCommand,
  clusterTransferLeaderCommand,
} from "./commands/cluster.js";
import { type GcFlags, gcCommand, statusCommand } from "./commands/gc.js";
import { type InitFlags, initCommand } from "./commands/init.js";
import {
  type KeysRotateFlags,
  keysListCommand,
  keysMigrateCommand,
  keysRotateCommand,
  keysShowCurrentCommand,
  type MigrateFlags,
} from "./commands/keys.js";
import { restoreCommand } from "./commands/restore.js";
import { serveCommand } from "./commands/serve.js";
import {
  snapshotConfirmGcCommand,
  snapshotCreateCommand,
  snapshotRestoreCommand,
  snapshotVerifyCommand,
} from "./commands/snapshot.js";
import { type VerifyFlags, verifyCommand } from "./commands/verify.js";
import { type Context, createContext, type GlobalOptions } from "./context.js";
import { toExit } from "./errors.js";
import { ExitCode } from "./exit-codes.js";

const abort = new AbortController();
let interrupted = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    interrupted++;
    if (interrupted > 1) process.exit(ExitCode.Interrupted);
    abort.abort(new DOMException("interrupted", "AbortError"));
  });
}

function run(fn: (ctx: Context, ...args: never[]) => Promise<void>) {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const ctx = createContext(cmd.optsWithGlobals() as GlobalOptions);
    try {
      await (fn as (ctx: Context, ...a: unknown[]) => Promise<void>)(ctx, ...args.slice(0, -1));
    } finally {
      await ctx.close();
    }
  };
}

const program = new Command("enigma")
  .description("Encrypting, deduplicating backup tool and S3 gateway with Raft-replicated metadata")
  .option("--config-dir <dir>", "config directory (env ENIGMA_CONFIG_DIR, default ~/.enigma)")
  .option("--config <file>", "config file (default <config-dir>/enigma.toml)")
  .option("--passphrase <passphrase>", "keystore passphrase (prefer env ENIGMA_PASSPHRASE or the prompt)")
  .option("--json", "machine-readable output")
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

program
  .command("init")
  .description("create config, key material and manifest (keeps what exists)")
  .option(
    "--key-provider <kind>",
    "where keys live: local (passphrase keystore), aws-secretsmanager, azure-keyvault, gcp-secretmanager",
  )
  .option("--aws-region <region>", "aws-secretsmanager: the region")
  .option("--vault-url <url>", "azure-keyvault: https://NAME.vault.azure.net")
  .option("--gcp-project-id <id>", "gcp-secretmanager: the project")
  .option(
    "--secret-prefix <prefix>",
    "vault providers: secrets are PREFIX-N and PREFIX-current (default enigma)",
  )
  .action(run((ctx, flags: InitFlags) => initCommand(ctx, flags)));

program
  .command("backup [path]")
  .description("back up a directory, or a stream with --stdin --name NAME")
  .option("--stdin", "read the data from standard input")
  .option("--name <name>", "backup name (default: the directory path)")
  .action(
    run((ctx, path: string | undefined, flags: { stdin?: boolean; name?: string }) =>
      backupCommand(ctx, path, flags, abort.signal),
    ),
  );

program
  .command("restore <id-or-name> [dest]")
  .description("restore a backup to DEST (a directory; - writes a stream backup to stdout)")
  .option("--path <prefix>", "only files under this path")
  .option("--glob <pattern>", "only files matching this glob (*, **, ?, [..])")
  .option("--list", "list the files instead of restoring")
  .action(
    run(
      (ctx, id: string, dest: string | undefined, flags: { path?: string; glob?: string; list?: boolean }) =>
        restoreCommand(ctx, id, dest, flags, abort.signal),
    ),
  );

program
  .command("verify [id-or-name]")
  .description(
    "re-read every chunk and check the backup's integrity chain, or (--bucket) every object's chunks, size and MD5 ETag",
  )
  .option("--bucket <name>", "verify the S3 objects of this bucket instead of a backup")
  .option("--prefix <prefix>", "with --bucket: only objects whose key starts with this")
  .option(
    "--replicas",
    "also read each chunk from every location it is stored on, reporting lost or corrupt replicas",
  )
  .action(run((ctx, id: string | undefined, flags: VerifyFlags) => verifyCommand(ctx, id, flags)));

program
  .command("list")
  .description("list backups")
  .action(run((ctx) => listCommand(ctx)));

program
  .command("status")
  .description("keys, chunks (live, garbage, stored vs logical bytes, dedup ratio) per backend, reachability")
  .action(run((ctx) => statusCommand(ctx)));

program
  .command("config")
  .description("show the effective configuration and where each value comes from")
  .option("--check <file>", "validate a config file and exit")
  .action(run((ctx, flags: { check?: string }) => configCommand(ctx, flags)));

program
  .command("gc")
  .description("delete chunks no backup or object references (fenced, resumable)")
  .option("--dry-run", "show what would be deleted")
  .option("--grace <duration>", "keep unreferenced chunks younger than this (default [enigma] gc_grace)")
  .option("--no-sweep", "skip the sweep of backend objects the manifest does not know")
  .option("--sweep-grace <duration>", "sweep only unknown objects older than this (default max(grace, 1h))")
  .option(
    "--node <host:port>",
    "run on the cluster's leader through this node (default with [raft] peers: [raft] grpc_addr)",
  )
  .option("--timeout <ms>", "how long to wait for the cluster's answer (default 30 min)")
  .option("--status", "show the leader's GC state instead of running")
  .action(run((ctx, flags: GcFlags) => gcCommand(ctx, flags)));

program
  .command("encrypt-cred <value>")
  .description("print an enc: token for a config secret")
  .action(run((ctx, value: string) => encryptCredCommand(ctx, value)));

const keys = program
  .command("keys")
  .description("provider keys (in the key provider) and data keys (in the manifest)");
keys
  .command("rotate")
  .description("add a provider key (vault providers) and a new current data key wrapped under it")
  .option(
    "--node <host:port>",
    "a running cluster node (gRPC): the rotation runs on the leader, one at a time (default: embedded)",
  )
  .option("--timeout <ms>", "with --node: how long to wait for the leader (default 60000)")
  .action(run((ctx, flags: KeysRotateFlags) => keysRotateCommand(ctx, flags)));
keys
  .command("list")
  .description("list provider keys and data keys")
  .action(run((ctx) => keysListCommand(ctx)));
keys
  .command("show-current")
  .description("the current provider key and data key")
  .action(run((ctx) => keysShowCurrentCommand(ctx)));
keys
  .command("migrate")
  .description("copy the key set into another key provider (no chunk is re-encrypted)")
  .requiredOption("--to <kind>", "local, aws-secretsmanager, azure-keyvault or gcp-secretmanager")
  .option("--aws-region <region>", "aws-secretsmanager target: the region")
  .option("--vault-url <url>", "azure-keyvault target: https://NAME.vault.azure.net")
  .option("--gcp-project-id <id>", "gcp-secretmanager target: the project")
  .option("--secret-prefix <prefix>", "vault target: the secret prefix (default [enigma] secret_prefix)")
  .option("--keyfile <path>", "local target: the key-set file to write (default [enigma] keyfile_path)")
  .action(run((ctx, flags: MigrateFlags) => keysMigrateCommand(ctx, flags)));

const snapshot = program
  .command("snapshot")
  .description("signed node-state snapshots (verify before restore)");
snapshot
  .command("create")
  .description("online snapshot of this node's manifest and Raft metadata, signed with Ed25519")
  .option(
    "--out <file-or-dir>",
    "output file, or a directory for the content-addressed default name (default .)",
  )
  .option("--sign-with <keyfile>", "sign with this Ed25519 private key (PEM) instead of the node's own key")
  .option(
    "--age-recipient <recipient...>",
    "age-encrypt the snapshot to these recipients (age1… or age1pq1…)",
  )
  .option(
    "--node <host:port>",
    "ask this running node (gRPC) to snapshot itself, without stopping it; --out/--sign-with are then absolute paths on that node",
  )
  .option("--timeout <ms>", "with --node: give up after this many milliseconds (default 600000)")
  .action(
    run(
      (
        ctx,
        flags: { out?: string; signWith?: string; ageRecipient?: string[]; node?: string; timeout?: string },
      ) => snapshotCreateCommand(ctx, flags),
    ),
  );
snapshot
  .command("verify <file>")
  .description("check the signature and every artifact hash; writes nothing")
  .option(
    "--trusted-keys <file>",
    "JSON array of trusted public keys (default: this node's key, else the declared one)",
  )
  .option("--age-identity <file...>", "age identity file(s) for an encrypted snapshot")
  .action(
    run((ctx, file: string, flags: { trustedKeys?: string; ageIdentity?: string[] }) =>
      snapshotVerifyCommand(ctx, file, flags),
    ),
  );
snapshot
  .command("restore <file>")
  .description("verify, then replace this node's manifest (stop the node first); GC stays paused")
  .option("--mode <mode>", "reseed (rejoin this cluster) or new-cluster (disaster recovery)", "reseed")
  .option("--cluster-id <id>", "new-cluster mode: the new cluster id (default: random)")
  .option("--target <db>", "manifest database to replace (default [enigma] db_path)")
  .option("--trusted-keys <file>", "JSON array of trusted public keys")
  .option("--age-identity <file...>", "age identity file(s) for an encrypted snapshot")
  .option("--allow-shrink", "restore even if the snapshot holds far fewer rows than the current state")
  .option("--force-unverified", "restore despite a bad signature or untrusted signer (logged loudly)")
  .action(
    run(
      (
        ctx,
        file: string,
        flags: {
          mode?: string;
          clusterId?: string;
          target?: string;
          trustedKeys?: string;
          ageIdentity?: string[];
          allowShrink?: boolean;
          forceUnverified?: boolean;
        },
      ) => snapshotRestoreCommand(ctx, file, flags),
    ),
  );
snapshot
  .command("confirm-gc")
  .description("confirm a restore and let GC delete again (cluster: through Raft, via --node)")
  .option("--node <host:port>", "a running member's gRPC address (default with peers: [raft] grpc_addr)")
  .option("--timeout <ms>", "with a cluster: give up after this many milliseconds (default 30000)")
  .action(run((ctx, flags: { node?: string; timeout?: string }) => snapshotConfirmGcCommand(ctx, flags)));

const cluster = program
  .command("cluster")
  .description("Raft cluster: status, membership, leadership (talks gRPC to --node)");
const nodeOption = "--node <host:port>";
const nodeHelp = "a member's gRPC address (default [raft] grpc_addr, 127.0.0.1:9000)";
const timeoutHelp = "give up after this many milliseconds (default 30000)";
cluster
  .command("status")
  .description("role, term, leader, commit/applied index and members, as one node sees them")
  .option(nodeOption, nodeHelp)
  .option("--timeout <ms>", timeoutHelp)
  .action(run((ctx, flags: ClusterFlags) => clusterStatusCommand(ctx, flags)));
cluster
  .command("add-node <id> <addr>")
  .description("add node ID (gRPC HOST:PORT) as a learner, wait for it to catch up, promote it to voter")
  .option("--learner", "stop after adding it as a learner")
  .option(nodeOption, nodeHelp)
  .option("--timeout <ms>", timeoutHelp)
  .action(
    run((ctx, id: string, addr: string, flags: ClusterFlags & { learner?: boolean }) =>
      clusterAddNodeCommand(ctx, id, addr, flags),
    ),
  );
cluster
  .command("remove-node <id>")
  .description("remove node ID from the configuration (the leader too: it hands over first)")
  .option(nodeOption, nodeHelp)
  .option("--timeout <ms>", timeoutHelp)
  .action(run((ctx, id: string, flags: ClusterFlags) => clusterRemoveNodeCommand(ctx, id, flags)));
cluster
  .command("transfer-leader [id]")
  .description("hand leadership to node ID (default: the most up-to-date other voter)")
  .option(nodeOption, nodeHelp)
  .option("--timeout <ms>", timeoutHelp)
  .action(
    run((ctx, id: string | undefined, flags: ClusterFlags) => clusterTransferLeaderCommand(ctx, id, flags)),
  );

program
  .command("serve")
  .description("run a node: S3 API, ops port (embedded default: one node, storage under ./data)")
  .option(
    "--data-dir <dir>",
    "data and config directory (default: --config-dir, $ENIGMA_CONFIG_DIR or ./data)",
  )
  .option("--log-level <level>", "trace, debug, info, warn, error")
  .action(
    run((ctx, flags: { dataDir?: string; logLevel?: string }) => serveCommand(ctx, flags, abort.signal)),
  );

program
  .command("delete <id-or-name>")
  .description("delete a backup (its chunks become garbage for gc)")
  .action(run((ctx, id: string) => deleteCommand(ctx, id)));

/** Instrumentation for memory-bound tests and benchmarks: peak RSS on stderr at exit. */
function reportPeakRss(): void {
  if (process.env.ENIGMA_REPORT_PEAK_RSS) {
    process.stderr.write(`peak-rss-bytes=${process.resourceUsage().maxRSS * 1024}\n`);
  }
}

program.parseAsync(process.argv).then(
  () => {
    reportPeakRss();
    process.exit(ExitCode.Ok);
  },
  (err: unknown) => {
    const { code, message } = toExit(err);
    process.stderr.write(`enigma: ${message}\n`);
    if (process.env.ENIGMA_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    reportPeakRss();
    process.exit(code);
  },
);
