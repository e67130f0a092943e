/**
 * Plaintext stream → chunk list whose every chunk is durably in the backends.
 *
 * The pipeline (FastCDC → SHA-256 → zstd? → AES-GCM) runs in the chunker; this class adds dedup
 * against the manifest (a chunk that is committed and live is not uploaded again) and bounded,
 * ordered, concurrent uploads. It returns only after every upload finished, so the caller can
 * then propose the command that makes the chunks live (ARCHITECTURE §3 step 4).
 */
import { randomBytes } from "node:crypto";
import type { SealedChunk, SealWorkerPool } from "@enigma/chunker";
import type { ChunkRef, Manifest } from "@enigma/manifest";
import { chunkObjectName, type Distributor, UPLOAD_NONCE_HEX_CHARS } from "@enigma/storage";
import { sealSmallOrStream } from "./inline-seal.js";
import type { Keyring } from "./keys.js";
import { tapPieces } from "./pieces.js";

/** How often and how long a writer waits for GC to finish with a chunk it needs to upload again. */
const DELETING_POLL_MS = 100;
const DELETING_WAIT_MAX_MS = 60_000;

export interface ChunkWriterSettings {
  readonly chunking: { readonly strategy: "fastcdc" | "fixed"; readonly avgBytes: number };
  readonly compressionLevel: number | undefined;
  /** Uploads in flight; also bounds sealed chunks held in memory. */
  readonly uploadConcurrency: number;
}

export interface WrittenChunk {
  readonly ref: ChunkRef;
  /** SHA3-256 of the plaintext, when requested (backup integrity chain). */
  readonly sha3: Buffer | undefined;
  /** True when the chunk was already stored and not uploaded again. */
  readonly deduped: boolean;
}

/**
 * Chunks uploaded (or found stored) but not yet committed, shared by several writes (e.g. every
 * file of one backup, whose commands are batched): a duplicate reuses the pending ref (its upload,
 * its object name) instead of uploading again.
 * Clear it once the referencing command committed (the manifest then knows the chunks).
 */
export class WriteSession {
  readonly pending = new Map<string, Promise<ChunkRef>>();

  clear(): void {
    this.pending.clear();
  }
}

export interface WriteOptions {
  readonly session?: WriteSession;
  readonly sha3?: boolean;
  /** Called in stream order once each chunk is durable. Awaited: it applies backpressure. */
  readonly onChunk?: (chunk: WrittenChunk, seq: number) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface WriteResult {
  readonly chunks: readonly ChunkRef[];
  readonly sha3: readonly (Buffer | undefined)[];
  readonly size: number;
  /** MD5 of the bytes written (the S3 ETag), computed by the pipeline (on a seal worker when there are). */
  readonly md5Hex: string;
  readonly uploadedChunks: number;
  readonly uploadedBytes: number;
  readonly dedupedChunks: number;
}

export class ChunkWriter {
  readonly #manifest: Manifest;
  readonly #distributor: Distributor;
  readonly #keyring: Keyring;
  readonly #settings: ChunkWriterSettings;
  /** Shared seal workers (undefined: seal on the main thread). */
  readonly #pool: SealWorkerPool | undefined;
  /**
   * Uploads in flight on this node, by plaintext hash, for every write: a concurrent write of the
   * same content (parallel parts of a zero-filled file, two clients storing one file) takes the
   * upload's ref instead of storing another copy under another name. Entries leave when the upload
   * settles; the fences in apply make a shared ref exactly as safe as one's own upload.
   */
  readonly #inflight = new Map<string, Promise<ChunkRef>>();

  constructor(
    manifest: Manifest,
    distributor: Distributor,
    keyring: Keyring,
    settings: ChunkWriterSettings,
    pool?: SealWorkerPool,
  ) {
    this.#manifest = manifest;
    this.#distributor = distributor;
    this.#keyring = keyring;
    this.#settings = settings;
    this.#pool = pool;
  }

  async write(source: AsyncIterable<Uint8Array>, opts: WriteOptions = {}): Promise<WriteResult> {
    let size = 0;
    let md5Hex: string | undefined;
    const counted = tapPieces(source, (buf) => {
      size += buf.length;
    });
    const current = this.#keyring.current();
    // Chunks uploaded earlier in this stream (or session), not yet committed: duplicates reuse the upload.
    const pending = opts.session?.pending ?? new Map<string, Promise<ChunkRef>>();
    // Another write's upload in flight joins this write's pending refs here, so the chunk is
    // neither sealed nor uploaded again, and it is still found when it comes out of the pipeline.
    const joinInflight = (hashHex: string): Promise<ChunkRef> | undefined => {
      const upload = this.#inflight.get(hashHex);
      if (upload !== undefined) pending.set(hashHex, upload);
      return upload;
    };
    const isKnown = (hashHex: string) =>
      pending.has(hashHex) || joinInflight(hashHex) !== undefined || this.#manifest.hasLiveChunk(hashHex);
    const chunks: ChunkRef[] = [];
    const sha3s: (Buffer | undefined)[] = [];
    let uploadedChunks = 0;
    let uploadedBytes = 0;
    let dedupedChunks = 0;
    const window: Promise<WrittenChunk>[] = [];
    let seq = 0;

    const settle = async () => {
      const written = await window.shift()!;
      chunks.push(written.ref);
      sha3s.push(written.sha3);
      if (opts.onChunk) await opts.onChunk(written, seq);
      seq++;
    };

    const stream = sealSmallOrStream(counted, {
      chunking: this.#settings.chunking,
      ...(this.#settings.compressionLevel !== undefined
        ? { compression: { level: this.#settings.compressionLevel } }
        : {}),
      dataKey: { keyId: current.keyId, key: current.key },
      nameKey: this.#keyring.nameKey,
      sha3: opts.sha3 ?? false,
      ...(this.#pool ? { pool: this.#pool } : { workers: 0 }),
      isKnown,
      md5: (digest) => {
        md5Hex = digest.toString("hex");
      },
    });
    try {
      for await (const c of stream) {
        opts.signal?.throwIfAborted();
        const earlier = pending.get(c.hashHex) ?? joinInflight(c.hashHex);
        if (earlier) {
          c.release();
          dedupedChunks++;
          window.push(earlier.then((ref) => ({ ref, sha3: c.sha3, deduped: true })));
        } else if (c.sealed === null) {
          dedupedChunks++;
          // Later duplicates reuse this ref, even if GC forgets the row meanwhile: one command must
          // name each chunk by one object name (apply then refuses the stale hit, retriably).
          const ref = this.#storedRef(c);
          pending.set(c.hashHex, Promise.resolve(ref));
          window.push(Promise.resolve({ ref, sha3: c.sha3, deduped: true }));
        } else {
          const sealed = c.sealed;
          uploadedChunks++;
          uploadedBytes += sealed.length;
          // A fresh object name per upload: no other upload of this content (before a GC or
          // after it) shares the backend key, so no delete aimed at another one can remove ours.
          const name = chunkObjectName(c.nameTagHex, randomBytes(UPLOAD_NONCE_HEX_CHARS / 2).toString("hex"));
          const upload = this.#awaitNotDeleting(c.hashHex).then(async (seenIndex): Promise<ChunkRef> => {
            const locations = await this.#distributor.putChunk(name, sealed);
            c.release();
            // Provenance for apply's GC fence: we uploaded after seeing the manifest at seenIndex.
            return {
              hash: c.hashHex,
              size: c.size,
              sealedSize: sealed.length,
              keyId: c.keyId,
              compressed: c.compressed,
              nameTag: name,
              locations,
              uploaded: true,
              seenIndex,
            };
          });
          pending.set(c.hashHex, upload);
          this.#inflight.set(c.hashHex, upload);
          const settled = () => {
            if (this.#inflight.get(c.hashHex) === upload) this.#inflight.delete(c.hashHex);
          };
          upload.then(settled, settled);
          window.push(upload.then((ref) => ({ ref, sha3: c.sha3, deduped: false })));
        }
        // A failed upload is reported when its turn comes; until then it must not count as unhandled.
        window.at(-1)?.catch(() => {});
        while (window.length >= this.#settings.uploadConcurrency) await settle();
      }
      while (window.length) await settle();
    } catch (err) {
      // Let in-flight uploads finish (or fail) before reporting, so nothing writes after we return.
      await Promise.allSettled(window);
      throw err;
    }
    if (md5Hex === undefined) throw new Error("chunk writer invariant: the pipeline ended without an MD5");
    return {
      chunks,
      sha3: sha3s,
      size,
      md5Hex,
      uploadedChunks,
      uploadedBytes,
      dedupedChunks,
    };
  }

  /**
   * A chunk GC has fenced (`deleting`) cannot be referenced until GC forgot it: apply would refuse
   * the commit (ChunkDeleting), so the upload would be wasted. Waits, bounded. (Safety does not
   * depend on it: our upload's object name is fresh, so GC's deletes never touch it.) Returns the
   * applied index of the (synchronous, hence consistent) read that found it free: the upload starts
   * after that state, which is what apply checks forgets against.
   */
  async #awaitNotDeleting(hashHex: string): Promise<number> {
    for (let waited = 0; ; waited += DELETING_POLL_MS) {
      const seenIndex = this.#manifest.raftMeta().appliedIndex;
      if (this.#manifest.getChunk(hashHex)?.state !== "deleting") return seenIndex;
      if (waited >= DELETING_WAIT_MAX_MS) {
        throw new Error(`chunk ${hashHex.slice(0, 12)} is being garbage-collected; retry later`);
      }
      await new Promise((r) => setTimeout(r, DELETING_POLL_MS));
    }
  }

  /** The manifest's row for a chunk the pipeline skipped as already stored. */
  #storedRef(c: SealedChunk): ChunkRef {
    const seenIndex = this.#manifest.raftMeta().appliedIndex;
    const row = this.#manifest.getChunk(c.hashHex);
    if (!row) {
      // Forgotten by GC between the dedup check and now: the caller retries the write.
      throw new Error(`chunk ${c.hashHex.slice(0, 12)} was garbage-collected during the write; retry`);
    }
    return {
      hash: row.hash,
      size: row.size,
      sealedSize: row.sealedSize,
      keyId: row.keyId,
      compressed: row.compressed,
      nameTag: row.nameTag,
      locations: row.locations,
      // A dedup hit: apply refuses it if GC forgot or is deleting the chunk by commit time.
      uploaded: false,
      seenIndex,
    };
  }
}
