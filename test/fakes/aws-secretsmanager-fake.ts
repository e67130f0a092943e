/**
 * A FAKE of the AWS Secrets Manager API, for tests only — not AWS's service nor an official
 * emulator. It speaks AWS JSON 1.1 (`POST /`, `X-Amz-Target: secretsmanager.<Action>`) for the
 * actions the key provider uses — CreateSecret, PutSecretValue, GetSecretValue (by VersionId or
 * stage), ListSecrets (name-prefix filter, paging), DeleteSecret — in memory on 127.0.0.1. It checks
 * that requests are SigV4-signed with the expected access key id (not the signature itself), and it
 * can refuse actions (`deny`) to exercise permission errors.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FakeServer, sendJson, startFakeServer } from "./fake-http-server.js";

export const AWS_FAKE_ACCESS_KEY_ID = "AKIAFAKEFAKEFAKEFAKE";
export const AWS_FAKE_SECRET_ACCESS_KEY = "fake-secret-access-key-for-tests-only";
const REGION = "us-east-1";
const ACCOUNT = "000000000000";

interface FakeVersion {
  readonly id: string;
  readonly value: string;
  readonly createdSec: number;
  stages: string[];
}

interface FakeSecret {
  readonly name: string;
  readonly arn: string;
  readonly versions: FakeVersion[];
  deleted: boolean;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class AwsSecretsManagerFake {
  readonly #secrets = new Map<string, FakeSecret>();
  #denied: Set<string> | "all" | undefined;
  /** Every request, in order: action and the secret it named. */
  readonly requests: { action: string; secretId?: string; versionId?: string }[] = [];

  private constructor(private readonly server: FakeServer) {}

  static async start(): Promise<AwsSecretsManagerFake> {
    let fake: AwsSecretsManagerFake | undefined;
    const server = await startFakeServer((req, body, res) => fake!.handle(req, body, res));
    fake = new AwsSecretsManagerFake(server);
    return fake;
  }

  get endpoint(): string {
    return this.server.url;
  }

  /** Refuse the given actions (or all) with AccessDeniedException until `allow()`. */
  deny(actions?: readonly string[]): void {
    this.#denied = actions ? new Set(actions) : "all";
  }

  allow(): void {
    this.#denied = undefined;
  }

  /** Adds a version directly, as an operator editing the secret in the console would. */
  rawPut(name: string, value: string): string {
    const s = this.#secrets.get(name);
    if (!s) throw new Error(`no secret ${name}`);
    return this.#addVersion(s, value, randomUUID());
  }

  /** The current value of a secret, read directly. */
  rawCurrent(name: string): string | undefined {
    return this.#secrets.get(name)?.versions.find((v) => v.stages.includes("AWSCURRENT"))?.value;
  }

  names(): string[] {
    return [...this.#secrets.values()].filter((s) => !s.deleted).map((s) => s.name);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    try {
      const target = String(req.headers["x-amz-target"] ?? "");
      if (req.method !== "POST" || !target.startsWith("secretsmanager."))
        throw new AwsError("UnknownOperationException", "not a Secrets Manager JSON 1.1 request");
      const action = target.slice("secretsmanager.".length);
      const auth = String(req.headers.authorization ?? "");
      if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${AWS_FAKE_ACCESS_KEY_ID}/`))
        throw new AwsError(
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
        );
      const input = JSON.parse(body.toString("utf8") || "{}") as Record<string, unknown>;
      const secretId =
        typeof input.SecretId === "string" ? input.SecretId : (input.Name as string | undefined);
      this.requests.push({
        action,
        ...(secretId === undefined ? {} : { secretId }),
        ...(typeof input.VersionId === "string" ? { versionId: input.VersionId } : {}),
      });
      if (this.#denied === "all" || this.#denied?.has(action))
        throw new AwsError("AccessDeniedException", `not authorized to perform: secretsmanager:${action}`);
      const out = this.#dispatch(action, input);
      sendJson(res, 200, out, { "content-type": "application/x-amz-json-1.1" });
    } catch (err) {
      const e = err instanceof AwsError ? err : new AwsError("InternalServiceError", String(err), 500);
      sendJson(
        res,
        e.status,
        { __type: e.type, message: e.message },
        { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": e.type },
      );
    }
  }

  #dispatch(action: string, input: Record<string, unknown>): unknown {
    switch (action) {
      case "CreateSecret": {
        const name = str(input.Name, "Name");
        const existing = this.#secrets.get(name);
        if (existing?.deleted)
          throw new AwsError(
            "InvalidRequestException",
            "a secret with this name is already scheduled for deletion",
          );
        if (existing) throw new AwsError("ResourceExistsException", `The secret ${name} already exists.`);
        const s: FakeSecret = { name, arn: this.#arn(name), versions: [], deleted: false };
        this.#secrets.set(name, s);
        const versionId = this.#addVersion(s, str(input.SecretString, "SecretString"), token(input));
        return { ARN: s.arn, Name: name, VersionId: versionId };
      }
      case "PutSecretValue": {
        const s = this.#find(input.SecretId);
        const versionId = this.#addVersion(s, str(input.SecretString, "SecretString"), token(input));
        return { ARN: s.arn, Name: s.name, VersionId: versionId, VersionStages: ["AWSCURRENT"] };
      }
      case "GetSecretValue": {
        const s = this.#find(input.SecretId);
        const v =
          typeof input.VersionId === "string"
            ? s.versions.find((x) => x.id === input.VersionId)
            : s.versions.find((x) =>
                x.stages.includes(typeof input.VersionStage === "string" ? input.VersionStage : "AWSCURRENT"),
              );
        if (!v)
          throw new AwsError(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret value",
          );
        return {
          ARN: s.arn,
          Name: s.name,
          VersionId: v.id,
          SecretString: v.value,
          VersionStages: v.stages,
          CreatedDate: v.createdSec,
        };
      }
      case "ListSecrets": {
        const filters = Array.isArray(input.Filters)
          ? (input.Filters as { Key?: string; Values?: string[] }[])
          : [];
        const prefixes = filters.filter((f) => f.Key === "name").flatMap((f) => f.Values ?? []);
        const all = [...this.#secrets.values()]
          .filter((s) => !s.deleted && (prefixes.length === 0 || prefixes.some((p) => s.name.startsWith(p))))
          .sort((a, b) => a.name.localeCompare(b.name));
        const max = typeof input.MaxResults === "number" ? input.MaxResults : 100;
        const start = typeof input.NextToken === "string" ? Number(input.NextToken) : 0;
        const page = all.slice(start, start + max);
        const next = start + max < all.length ? String(start + max) : undefined;
        return {
          SecretList: page.map((s) => ({ ARN: s.arn, Name: s.name })),
          ...(next === undefined ? {} : { NextToken: next }),
        };
      }
      case "DeleteSecret": {
        const s = this.#find(input.SecretId);
        if (input.ForceDeleteWithoutRecovery === true) this.#secrets.delete(s.name);
        else s.deleted = true;
        return { ARN: s.arn, Name: s.name, DeletionDate: Math.floor(Date.now() / 1000) };
      }
      default:
        throw new AwsError("UnknownOperationException", `the fake does not implement ${action}`);
    }
  }

  #find(id: unknown): FakeSecret {
    const key = str(id, "SecretId");
    const s = this.#secrets.get(key) ?? [...this.#secrets.values()].find((x) => x.arn === key);
    if (!s)
      throw new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    if (s.deleted)
      throw new AwsError(
        "InvalidRequestException",
        "You can't perform this operation on a secret marked for deletion.",
      );
    return s;
  }

  #addVersion(s: FakeSecret, value: string, id: string): string {
    const same = s.versions.find((v) => v.id === id);
    if (same) {
      if (same.value !== value)
        throw new AwsError("ResourceExistsException", "version id reused with another value");
      return id;
    }
    for (const v of s.versions) {
      v.stages = v.stages.includes("AWSCURRENT") ? ["AWSPREVIOUS"] : [];
    }
    s.versions.push({ id, value, createdSec: Math.floor(Date.now() / 1000), stages: ["AWSCURRENT"] });
    return id;
  }

  #arn(name: string): string {
    return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`;
  }
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string" || v.length === 0)
    throw new AwsError("InvalidParameterException", `${field} is required`);
  return v;
}

function token(input: Record<string, unknown>): string {
  return typeof input.ClientRequestToken === "string" ? input.ClientRequestToken : randomUUID();
}
