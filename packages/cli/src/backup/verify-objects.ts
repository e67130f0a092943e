/**
 * `enigma verify --bucket NAME [--prefix P]`: the S3 side of verify. Every object under the prefix
 * is read back chunk by chunk (name tag, AES-GCM authentication, SHA-256 of each plaintext, as a
 * GET does) and checked whole against what the gateway promised its client:
 * - its size is the sum of its chunks' sizes;
 * - a single-part object's ETag is the MD5 of its content, so the content is hashed again and
 *   compared — a chunk list that was reordered, truncated or swapped for other valid chunks in the
 *   manifest fails here even though every chunk authenticates;
 * - a multipart object's ETag is an MD5 of its parts' MD5s: where the manifest records its parts
 *   (objects completed at cluster feature level 1 or later) each part's MD5 is recomputed and
 *   compared with the part's ETag, and their MD5 with the object's; for older multipart objects
 *   only the chunks and the size can be checked (counted in the report).
 * With `replicas`, each distinct chunk is also read from every location on its own (ChunkChecker).
 * Objects deleted while the walk runs are skipped, not reported.
 */
import { createHash } from "node:crypto";
import type { Engine } from "@enigma/server";
import { CliError, ExitCode } from "../exit-codes.js";
import { ChunkChecker } from "./chunk-checker.js";

/** Keys listed per manifest page while walking the bucket. */
export const VERIFY_LIST_PAGE = 1000;

const MD5_ETAG = /^[0-9a-f]{32}$/;

export interface ObjectVerifyReport {
  readonly bucket: string;
  readonly prefix: string;
  readonly ok: boolean;
  readonly objectsChecked: number;
  /** Objects whose ETag was recomputed from their content (single-part, or multipart with recorded parts). */
  readonly etagsChecked: number;
  /** Multipart objects without recorded parts: chunks and size checked, ETag not recomputable. */
  readonly multipartObjects: number;
  readonly chunksChecked: number;
  readonly bytesChecked: number;
  readonly replicasChecked: number;
  readonly problems: readonly string[];
  readonly problemCount: number;
  readonly seconds: number;
}

export async function verifyObjects(
  engine: Pick<Engine, "manifest" | "reader">,
  bucket: string,
  opts: { readonly prefix?: string; readonly replicas?: boolean } = {},
  hooks: { onBytes?: (n: number) => void; onTotal?: (n: number) => void } = {},
): Promise<ObjectVerifyReport> {
  const started = performance.now();
  if (engine.manifest.getBucket(bucket) === undefined)
    throw new CliError(ExitCode.NotFound, `no bucket named "${bucket}"`);
  const prefix = opts.prefix ?? "";
  const check = new ChunkChecker(engine, opts);
  let objects = 0;
  let etags = 0;
  let multipart = 0;
  let chunks = 0;
  let bytes = 0;
  let total = 0;
  let startAfter: string | undefined;
  for (;;) {
    const page = engine.manifest.listObjects({
      bucket,
      prefix,
      maxKeys: VERIFY_LIST_PAGE,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    total += page.contents.reduce((n, o) => n + o.size, 0);
    hooks.onTotal?.(total);
    for (const summary of page.contents) {
      const obj = engine.manifest.getObject(bucket, summary.key);
      if (obj === undefined) continue;
      objects++;
      const where = `${bucket}/${obj.key}`;
      const singlePart = MD5_ETAG.test(obj.etag);
      const parts = singlePart ? undefined : engine.manifest.getObjectParts(bucket, obj.key);
      if (!singlePart && parts === undefined) multipart++;
      // The object in spans whose MD5 is known: the whole object (single-part), each recorded
      // part, or — a multipart object without recorded parts — one span checked for chunks only.
      const spans: { what: string; count: number; etag: string | undefined }[] = parts?.map((p) => ({
        what: ` part ${p.partNumber}`,
        count: p.chunkCount,
        etag: p.etag,
      })) ?? [{ what: "", count: obj.chunks.length, etag: singlePart ? obj.etag : undefined }];
      const digests: Buffer[] = [];
      let readable = true;
      let sum = 0;
      let next = 0;
      for (const span of spans) {
        const md5 = span.etag === undefined ? undefined : createHash("md5");
        for (const ref of obj.chunks.slice(next, next + span.count)) {
          const i = next++;
          chunks++;
          sum += ref.size;
          try {
            const plain = await check.read(`${where} chunk #${i}`, ref);
            md5?.update(plain);
            bytes += plain.length;
          } catch (err) {
            readable = false;
            check.problem(`${where} chunk #${i}`, ref, (err as Error).message);
          }
          hooks.onBytes?.(ref.size);
        }
        if (md5 === undefined) continue;
        const digest = md5.digest();
        digests.push(digest);
        if (readable && digest.toString("hex") !== span.etag)
          check.report(
            `${where}:${span.what} content MD5 ${digest.toString("hex")} does not match its ETag ${span.etag}`,
          );
      }
      if (sum !== obj.size || next !== obj.chunks.length)
        check.report(`${where}: chunks hold ${sum} bytes, the object is ${obj.size} bytes long`);
      if (!readable || (!singlePart && parts === undefined)) continue;
      etags++;
      if (parts !== undefined) {
        const combined = `${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${parts.length}`;
        if (combined !== obj.etag)
          check.report(
            `${where}: the MD5 of its parts' MD5s, ${combined}, does not match its ETag ${obj.etag}`,
          );
      }
    }
    if (!page.isTruncated || page.nextStartAfter === undefined) break;
    startAfter = page.nextStartAfter;
  }
  return {
    bucket,
    prefix,
    ok: check.problemCount === 0,
    objectsChecked: objects,
    etagsChecked: etags,
    multipartObjects: multipart,
    chunksChecked: chunks,
    bytesChecked: bytes,
    replicasChecked: check.replicasChecked,
    problems: check.problems,
    problemCount: check.problemCount,
    seconds: (performance.now() - started) / 1000,
  };
}
