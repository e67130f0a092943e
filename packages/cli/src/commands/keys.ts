/**
 * `enigma keys list | show-current | rotate | migrate`: the same commands and the same output on
 * every key provider (local keystore, AWS Secrets Manager, Azure Key Vault, GCP Secret Manager).
 *
 * Two kinds of key (packages/crypto DESIGN.md "Key providers"): *provider keys* live in the key
 * provider and wrap data keys; *data keys* seal chunks and live wrapped in the replicated manifest.
 * `keys rotate` adds a provider key when the provider can (vaults; a keystore file copied to every
 * node cannot), then a data key wrapped under the current provider key, committed through the
 * manifest (Raft in a cluster): every node unwraps it when it applies the AddDataKey, refreshing
 * its key provider once if the provider key is new to it. With `--node HOST:PORT` it runs on the
 * cluster's leader (server engine/keys-admin.ts), one rotation at a time.
 */
import { randomUUID } from "node:crypto";
import {
  decryptCredential,
  isEncryptedCredential,
  KEY_PROVIDER_KINDS,
  type KeyProvider,
  type KeyProviderKind,
  type KeyProviderSettings,
  migrateKeySet,
  openKeyProvider,
  type ProviderKeyInfo,
} from "@enigma/crypto";
import {
  ClusterClient,
  type EnigmaSettings,
  failureToError,
  KEYS_ROTATE_ACTION,
  type KeysRotateResult,
  keyProviderFor,
  keyProviderSettings,
  RaftNodeError,
  readTls,
  rotateKeys,
} from "@enigma/server";
import { type Context, keyProviderFailure, passphraseOption } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { table } from "../output.js";

/** The `--aws-region / --vault-url / --gcp-project-id / --secret-prefix` flags of init and migrate. */
export interface KeyProviderFlags {
  readonly awsRegion?: string;
  readonly vaultUrl?: string;
  readonly gcpProjectId?: string;
  readonly secretPrefix?: string;
}

export function parseKeyProviderKind(raw: string, flag: string): KeyProviderKind {
  if (!(KEY_PROVIDER_KINDS as readonly string[]).includes(raw))
    throw new CliError(
      ExitCode.Usage,
      `${flag} must be one of ${KEY_PROVIDER_KINDS.join(", ")}, got ${JSON.stringify(raw)}`,
    );
  return raw as KeyProviderKind;
}

interface ProviderKeyRow {
  readonly keyId: number;
  readonly current: boolean;
  readonly createdAt: string;
  readonly derivation: string;
  readonly secretName: string;
  readonly version: string;
}

const providerKeyRow = (i: ProviderKeyInfo): ProviderKeyRow => ({
  keyId: i.keyId,
  current: i.current,
  createdAt: new Date(i.createdAtMs).toISOString(),
  derivation: i.derivation,
  secretName: i.secretName,
  version: i.version,
});

const providerDoc = (p: KeyProvider) => ({
  kind: p.kind,
  description: p.description,
  canRotate: p.canRotate,
});

/** Runs a key-provider call, mapping its failures to the keystore exit code. */
async function provider<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw keyProviderFailure(err);
  }
}

export async function keysListCommand(ctx: Context): Promise<void> {
  const engine = await ctx.engine();
  const kp = engine.keyProvider;
  const providerKeys = (await provider(() => kp.list())).map(providerKeyRow);
  const currentData = engine.keyring.current().keyId;
  const dataKeys = engine.manifest.dataKeys().map((k) => ({
    keyId: k.keyId,
    current: k.keyId === currentData,
    createdAt: new Date(k.createdAtMs).toISOString(),
    providerKeyId: engine.keystore.providerKeyOf(k.keyId, k.wrappedHex) ?? null,
  }));
  const doc = {
    provider: providerDoc(kp),
    currentProviderKeyId: engine.keystore.currentKeyId,
    providerKeys,
    currentDataKeyId: currentData,
    dataKeys,
  };
  ctx.out.result(doc, () =>
    [
      `key provider: ${kp.description}`,
      "",
      "provider keys (wrap data keys; they live in the key provider):",
      table(
        ["ID", "CREATED", "KIND", "SECRET", "VERSION", ""],
        providerKeys.map((k) => [
          k.keyId,
          k.createdAt,
          k.derivation,
          k.secretName,
          k.version,
          k.current ? "current" : "",
        ]),
      ),
      "",
      "data keys (seal chunks; wrapped in the manifest):",
      table(
        ["ID", "CREATED", "WRAPPED UNDER", ""],
        dataKeys.map((k) => [
          k.keyId,
          k.createdAt,
          k.providerKeyId === null ? "(not loaded)" : `provider key ${k.providerKeyId}`,
          k.current ? "current" : "",
        ]),
      ),
    ].join("\n"),
  );
}

export async function keysShowCurrentCommand(ctx: Context): Promise<void> {
  const engine = await ctx.engine();
  const kp = engine.keyProvider;
  const providerKey = providerKeyRow(await provider(() => kp.showCurrent()));
  const current = engine.keyring.current().keyId;
  const row = engine.manifest.dataKeys().find((k) => k.keyId === current);
  const dataKey = {
    keyId: current,
    createdAt: row === undefined ? null : new Date(row.createdAtMs).toISOString(),
    providerKeyId:
      row === undefined ? null : (engine.keystore.providerKeyOf(current, row.wrappedHex) ?? null),
  };
  ctx.out.result({ provider: providerDoc(kp), providerKey, dataKey }, () =>
    [
      `key provider:  ${kp.description}`,
      `provider key:  ${providerKey.keyId} (${providerKey.secretName}, version ${providerKey.version}, created ${providerKey.createdAt})`,
      `data key:      ${dataKey.keyId} (created ${dataKey.createdAt ?? "?"}, wrapped under provider key ${dataKey.providerKeyId ?? "?"})`,
    ].join("\n"),
  );
}

export interface KeysRotateFlags {
  /** A running cluster node's gRPC address: the rotation runs on the leader (admin API). */
  readonly node?: string;
  /** --node only: how long to wait for the leader, in ms. */
  readonly timeout?: string;
}

/** The leader waits for the vault and a Raft commit; a minute covers a slow vault and an election. */
const DEFAULT_REMOTE_TIMEOUT_MS = 60_000;

export async function keysRotateCommand(ctx: Context, flags: KeysRotateFlags = {}): Promise<void> {
  if (flags.node !== undefined) return keysRotateRemote(ctx, flags.node, flags.timeout);
  if (flags.timeout !== undefined) throw new CliError(ExitCode.Usage, "--timeout is only for --node");
  const engine = await ctx.engine();
  let r: KeysRotateResult;
  try {
    r = await rotateKeys(engine, Date.now());
  } catch (err) {
    throw keyProviderFailure(err);
  }
  printRotated(ctx, r);
}

/**
 * `--node HOST:PORT`: the `keys.rotate` admin action, forwarded by that node to the leader, which
 * rotates (one rotation at a time); the other nodes get the new data key through the manifest and
 * load the new provider key by refreshing. Nothing is opened here but the cluster secret.
 */
async function keysRotateRemote(ctx: Context, addr: string, timeout: string | undefined): Promise<void> {
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(addr))
    throw new CliError(ExitCode.Usage, `--node must be HOST:PORT, got ${JSON.stringify(addr)}`);
  const timeoutMs = timeout === undefined ? DEFAULT_REMOTE_TIMEOUT_MS : Number(timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new CliError(ExitCode.Usage, "--timeout must be a positive number of milliseconds");
  const settings = ctx.settings();
  let secret = settings.raft.clusterSecret;
  if (secret !== undefined && isEncryptedCredential(secret))
    secret = decryptCredential(await ctx.keyMaterial(), secret); // the configured key provider
  const tls = settings.raft.tls === undefined ? undefined : readTls(settings.raft.tls);
  const client = new ClusterClient(addr, { secret, tls });
  try {
    const res = await client.admin({
      action: KEYS_ROTATE_ACTION,
      // One id per invocation: the node reuses it when it retries the forward (leader change,
      // timeout), and a rotation already applied under it is reported instead of repeated.
      argsJson: JSON.stringify({ requestId: randomUUID() }),
      onLeader: true,
      timeoutMs,
      hops: 0,
    });
    if (res.failure !== undefined) throw failureToError(res.failure);
    printRotated(ctx, JSON.parse(res.resultJson) as KeysRotateResult & { nodeId: number });
  } catch (err) {
    if (err instanceof RaftNodeError)
      throw new CliError(
        err.code === "InvalidArgument" ? ExitCode.Usage : ExitCode.Failure,
        `keys rotate on ${addr}: ${err.message}`,
        { cause: err },
      );
    throw err;
  } finally {
    client.close();
  }
}

function printRotated(ctx: Context, r: KeysRotateResult & { nodeId?: number }): void {
  const where = r.nodeId === undefined ? "" : ` (on the leader, node ${r.nodeId})`;
  ctx.out.result(r, () =>
    r.repeated
      ? `already rotated by this request (a retried call): current data key ${r.currentKeyId}${where}`
      : r.providerKeyRotated
        ? `new provider key ${r.currentProviderKeyId} (${r.providerKeySecret}) and new current data key ${r.currentKeyId} wrapped under it${where}`
        : `new current data key ${r.currentKeyId} (${r.provider.kind} key provider: the provider key does not rotate)${where}`,
  );
}

export interface MigrateFlags extends KeyProviderFlags {
  readonly to: string;
  /** --to local: where to write the key-set file (default [enigma] keyfile_path). */
  readonly keyfile?: string;
}

/**
 * `keys migrate --to KIND`: copies the configured provider's key set into an empty target, then
 * opens both and compares every key (crypto migrate.ts). No chunk or manifest entry changes; the
 * operator then switches `key_provider` in enigma.toml and retires the source.
 */
export async function keysMigrateCommand(ctx: Context, flags: MigrateFlags): Promise<void> {
  const settings = ctx.settings();
  const toKind = parseKeyProviderKind(flags.to, "--to");
  const target = targetSettings(settings, toKind, flags);
  let source: KeyProvider | undefined;
  let to: KeyProvider | undefined;
  try {
    source = keyProviderFor(settings, passphraseOption(ctx, settings));
    to = openKeyProvider(target, toKind === "local" ? { passphrase: () => ctx.passphrase(true) } : {});
    if (to.description === source.description)
      throw new CliError(ExitCode.Usage, `--to names the configured key provider itself (${to.description})`);
    const [from, target_] = [source, to];
    const result = await migrateKeySet(from, target_);
    const lines = configLines(target);
    ctx.out.result(
      {
        from: providerDoc(from),
        to: providerDoc(target_),
        keystoreId: result.keystoreId,
        providerKeyIds: result.keyIds,
        currentProviderKeyId: result.currentKeyId,
        config: lines,
      },
      () =>
        [
          `copied provider keys ${result.keyIds.join(", ")} of keystore ${result.keystoreId}`,
          `  from ${from.description}`,
          `  to   ${target_.description}`,
          "both open to the same keys; no chunk was re-encrypted. To switch, set in [enigma] of enigma.toml:",
          ...lines.map((l) => `  ${l}`),
          "then restart the nodes, and retire the old key material once they all run on the new provider.",
        ].join("\n"),
    );
  } catch (err) {
    throw keyProviderFailure(err);
  } finally {
    await to?.close();
    await source?.close();
  }
}

/** The target of a migration: flags, else the config's values for that provider's options. */
function targetSettings(
  settings: EnigmaSettings,
  kind: KeyProviderKind,
  flags: MigrateFlags,
): KeyProviderSettings {
  const base = keyProviderSettings(settings);
  const pick = (flag: string | undefined, configured: string | undefined) => flag ?? configured;
  const awsRegion = pick(flags.awsRegion, base.awsRegion);
  const vaultUrl = pick(flags.vaultUrl, base.vaultUrl);
  const gcpProjectId = pick(flags.gcpProjectId, base.gcpProjectId);
  const secretPrefix = pick(flags.secretPrefix, base.secretPrefix);
  return {
    keyProvider: kind,
    keyfilePath: flags.keyfile ?? settings.keyfilePath,
    ...(kind === "aws-secretsmanager" && awsRegion !== undefined ? { awsRegion } : {}),
    ...(kind === "azure-keyvault" && vaultUrl !== undefined ? { vaultUrl } : {}),
    ...(kind === "gcp-secretmanager" && gcpProjectId !== undefined ? { gcpProjectId } : {}),
    ...(kind !== "local" && secretPrefix !== undefined ? { secretPrefix } : {}),
  };
}

/** The `[enigma]` lines that select a key provider. */
export function configLines(s: KeyProviderSettings): string[] {
  const q = (v: string) => JSON.stringify(v);
  const lines = [`key_provider = ${q(s.keyProvider)}`];
  if (s.keyProvider === "local" && s.keyfilePath) lines.push(`keyfile_path = ${q(s.keyfilePath)}`);
  if (s.awsRegion !== undefined) lines.push(`aws_region = ${q(s.awsRegion)}`);
  if (s.vaultUrl !== undefined) lines.push(`vault_url = ${q(s.vaultUrl)}`);
  if (s.gcpProjectId !== undefined) lines.push(`gcp_project_id = ${q(s.gcpProjectId)}`);
  if (s.keyProvider !== "local" && s.secretPrefix !== undefined)
    lines.push(`secret_prefix = ${q(s.secretPrefix)}`);
  return lines;
}
