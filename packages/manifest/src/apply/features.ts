/**
 * The cluster feature level (DESIGN.md "Feature level"). A build implements levels 0..FEATURE_LEVEL;
 * the replicated level says which apply behaviours are on. Level 1: CompleteMultipartUpload and
 * CopyObject record part boundaries (object_parts). Level 2: an upload of a known chunk under
 * another object name merges no locations into its row.
 */
import type Database from "better-sqlite3";
import type { ApplyResult, Command } from "../commands.js";
import { ManifestError } from "../errors.js";

/** The highest feature level this build implements. */
export const FEATURE_LEVEL = 2;

/** Feature levels, by what they switch on. */
export const FEATURES = {
  /** CompleteMultipartUpload / CopyObject keep each part's size, ETag and chunk count. */
  objectParts: 1,
  /** A chunk row lists only providers holding its own object name (no phantom locations). */
  exactLocations: 2,
} as const;

export class FeatureLevel {
  readonly #get: Database.Statement<[], { level: number }>;
  readonly #set: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    this.#get = db.prepare("SELECT level FROM cluster_features WHERE id = 1");
    this.#set = db.prepare("UPDATE cluster_features SET level = ? WHERE id = 1");
  }

  current(): number {
    return this.#get.get()?.level ?? 0;
  }

  has(feature: keyof typeof FEATURES): boolean {
    return this.current() >= FEATURES[feature];
  }

  set(cmd: Extract<Command, { type: "SetFeatureLevel" }>): ApplyResult {
    if (cmd.level > FEATURE_LEVEL) {
      // Not a refusal: the other replicas implement this level and will apply later entries in
      // ways this build cannot. Stopping is the only safe answer (the node needs an upgrade).
      throw new ManifestError(
        "FeatureTooNew",
        `the cluster raised its feature level to ${cmd.level}; this build implements up to ${FEATURE_LEVEL}: upgrade enigma`,
      );
    }
    if (cmd.level > this.current()) this.#set.run(cmd.level);
    return { ok: true, featureLevel: this.current() };
  }
}
