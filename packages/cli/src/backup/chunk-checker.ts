/**
 * What `enigma verify` does with each chunk, for backups and S3 objects alike: read it (name
 * tag, AES-GCM authentication, SHA-256 of the plaintext), and with `replicas` read each distinct
 * chunk from every location it is recorded at on its own, so a lost or corrupt replica that a
 * normal read would silently fall back past is reported by provider. Collects the problems.
 */
import type { ChunkRef } from "@enigma/manifest";
import type { Engine } from "@enigma/server";

/** Problems listed in a report before the rest are only counted. */
export const MAX_REPORTED_PROBLEMS = 100;

export class ChunkChecker {
  readonly problems: string[] = [];
  problemCount = 0;
  /** Replicas read one by one (0 without `replicas`). */
  replicasChecked = 0;
  /** Chunks whose replicas were read (a chunk that repeats is read from each location once). */
  readonly #replicaChecked = new Set<string>();

  constructor(
    private readonly engine: Pick<Engine, "reader">,
    private readonly opts: { readonly replicas?: boolean } = {},
  ) {}

  /** Records a problem with a whole item (not one chunk). */
  report(message: string): void {
    this.problemCount++;
    if (this.problems.length < MAX_REPORTED_PROBLEMS) this.problems.push(message);
  }

  /** Records a problem with the chunk `ref` at `where`. */
  problem(where: string, ref: ChunkRef, message: string): void {
    this.report(`${where} (${ref.hash.slice(0, 16)}): ${message}`);
  }

  /** The chunk's verified plaintext; throws when no replica passes (with `replicas`, each bad one is also reported). */
  async read(where: string, ref: ChunkRef): Promise<Buffer> {
    if (this.opts.replicas && !this.#replicaChecked.has(ref.hash)) {
      this.#replicaChecked.add(ref.hash);
      const plain = await this.#readReplicas(where, ref);
      if (plain === null) throw new Error("no replica passed");
      return plain;
    }
    return this.engine.reader.readChunk(ref);
  }

  async #readReplicas(where: string, ref: ChunkRef): Promise<Buffer | null> {
    let good: Buffer | null = null;
    for (const location of ref.locations) {
      this.replicasChecked++;
      try {
        const plain = await this.engine.reader.readChunk({ ...ref, locations: [location] });
        good ??= plain;
      } catch (err) {
        this.problem(where, ref, `replica on ${location}: ${(err as Error).message}`);
      }
    }
    return good;
  }
}
