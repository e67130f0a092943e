/** The stateless command processor: one exhaustive switch from command type to handler. */
import type Database from "better-sqlite3";
import type { ApplyResult, Command } from "../commands.js";
import { BackupCommands } from "./backups.js";
import { BucketCommands } from "./buckets.js";
import { ChunkRefs } from "./chunk-refs.js";
import { ChunkGcCommands } from "./chunks-gc.js";
import { FeatureLevel } from "./features.js";
import { MultipartCommands } from "./multipart.js";
import { ObjectStore } from "./object-store.js";
import { ObjectCommands } from "./objects.js";
import type { ApplyContext } from "./refusal.js";
import { SweepFence } from "./sweep-fence.js";

export class CommandProcessor {
  readonly #buckets: BucketCommands;
  readonly #objects: ObjectCommands;
  readonly #multipart: MultipartCommands;
  readonly #backups: BackupCommands;
  readonly #gc: ChunkGcCommands;
  readonly #sweep: SweepFence;
  readonly #features: FeatureLevel;

  constructor(db: Database.Database) {
    this.#features = new FeatureLevel(db);
    const refs = new ChunkRefs(db, this.#features);
    const store = new ObjectStore(db, refs, this.#features);
    this.#buckets = new BucketCommands(db);
    this.#objects = new ObjectCommands(store, refs);
    this.#multipart = new MultipartCommands(db, store, refs);
    this.#backups = new BackupCommands(db, refs);
    this.#gc = new ChunkGcCommands(db);
    this.#sweep = new SweepFence(db);
  }

  /** Applies one command. Refusals throw `Refusal`; the caller's savepoint undoes partial writes. */
  process(cmd: Command, ctx: ApplyContext): ApplyResult {
    switch (cmd.type) {
      case "CreateBucket":
        return this.#buckets.create(cmd);
      case "DeleteBucket":
        return this.#buckets.delete(cmd);
      case "PutObject":
        return this.#objects.put(cmd, ctx);
      case "CopyObject":
        return this.#objects.copy(cmd, ctx);
      case "DeleteObject":
        return this.#objects.delete(cmd, ctx);
      case "DeleteObjects":
        return this.#objects.deleteMany(cmd, ctx);
      case "CreateMultipartUpload":
        return this.#multipart.create(cmd);
      case "PutPart":
        return this.#multipart.putPart(cmd, ctx);
      case "CompleteMultipartUpload":
        return this.#multipart.complete(cmd, ctx);
      case "AbortMultipartUpload":
        return this.#multipart.abort(cmd, ctx);
      case "BeginBackup":
        return this.#backups.begin(cmd);
      case "AddBackupFiles":
        return this.#backups.addFiles(cmd, ctx);
      case "AppendBackupChunks":
        return this.#backups.append(cmd);
      case "CompleteBackup":
        return this.#backups.complete(cmd);
      case "AbortBackup":
        return this.#backups.abort(cmd, ctx);
      case "DeleteBackup":
        return this.#backups.delete(cmd, ctx);
      case "AddBackupLog":
        return this.#backups.addLog(cmd);
      case "AddDataKey":
        return this.#gc.addDataKey(cmd, ctx);
      case "MarkChunksDeleting":
        this.#sweep.assertNotPaused("MarkChunksDeleting");
        return this.#gc.mark(cmd);
      case "ForgetChunks":
        return this.#gc.forget(cmd, ctx);
      case "MarkSweeping":
        return this.#sweep.mark(cmd, ctx);
      case "ClearSweeping":
        return this.#sweep.clear(cmd, ctx);
      case "ResumeGc":
        return this.#sweep.resume(cmd, ctx);
      case "SetFeatureLevel":
        return this.#features.set(cmd);
      case "Noop":
        return { ok: true };
      default:
        return assertNever(cmd);
    }
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}
