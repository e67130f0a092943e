import type Database from "better-sqlite3";
import type { ApplyResult, Command } from "../commands.js";
import { refuse } from "./refusal.js";

type CreateBucket = Extract<Command, { type: "CreateBucket" }>;
type DeleteBucket = Extract<Command, { type: "DeleteBucket" }>;

const OK: ApplyResult = { ok: true };

export class BucketCommands {
  readonly #exists: Database.Statement<[string], { one: number }>;
  readonly #insert: Database.Statement<[string, number]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #hasObject: Database.Statement<[string], { one: number }>;
  readonly #hasUpload: Database.Statement<[string], { one: number }>;

  constructor(db: Database.Database) {
    this.#exists = db.prepare("SELECT 1 AS one FROM buckets WHERE name = ?");
    this.#insert = db.prepare("INSERT INTO buckets (name, created_ms) VALUES (?, ?)");
    this.#delete = db.prepare("DELETE FROM buckets WHERE name = ?");
    this.#hasObject = db.prepare("SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1");
    this.#hasUpload = db.prepare("SELECT 1 AS one FROM uploads WHERE bucket = ? LIMIT 1");
  }

  create(cmd: CreateBucket): ApplyResult {
    if (this.#exists.get(cmd.bucket) !== undefined) {
      refuse("BucketAlreadyExists", `bucket ${cmd.bucket} already exists`);
    }
    this.#insert.run(cmd.bucket, cmd.createdAtMs);
    return OK;
  }

  delete(cmd: DeleteBucket): ApplyResult {
    if (this.#exists.get(cmd.bucket) === undefined) refuse("NoSuchBucket", `no bucket ${cmd.bucket}`);
    if (this.#hasObject.get(cmd.bucket) !== undefined) {
      refuse("BucketNotEmpty", `bucket ${cmd.bucket} is not empty`);
    }
    if (this.#hasUpload.get(cmd.bucket) !== undefined) {
      refuse("BucketNotEmpty", `bucket ${cmd.bucket} has multipart uploads in progress`);
    }
    this.#delete.run(cmd.bucket);
    return OK;
  }
}
