import { describe, expect, it } from "vitest";
import type { Command } from "./commands.js";
import { compareKeys } from "./key-bytes.js";
import { Manifest } from "./manifest.js";
import { ListObjectsQuery } from "./queries/list-objects.js";
import type { ListObjectsParams } from "./queries/types.js";
import { openDatabase } from "./schema/open-database.js";
import { Log, prng } from "./test-support.js";

function emptyPut(key: string): Command {
  return { type: "PutObject", bucket: "b", key, size: 0, etag: "e", meta: {}, lastModifiedMs: 1, chunks: [] };
}

function withKeys(keys: readonly string[]): Manifest {
  const m = Manifest.openInMemory();
  const entries = [
    { index: 1, term: 1, command: { type: "CreateBucket", bucket: "b", createdAtMs: 1 } as Command },
  ];
  keys.forEach((k, i) => {
    entries.push({ index: i + 2, term: 1, command: emptyPut(k) });
  });
  m.applyEntries(entries);
  return m;
}

/** The naive model: filter, roll up, drop what sorts at or before startAfter, take maxKeys. */
function naive(keys: readonly string[], p: Omit<ListObjectsParams, "bucket">) {
  const prefix = p.prefix ?? "";
  const maxKeys = p.maxKeys ?? 1000;
  const items = new Map<string, "key" | "cp">();
  for (const k of [...keys].sort(compareKeys)) {
    if (!k.startsWith(prefix)) continue;
    if (p.startAfter !== undefined && compareKeys(k, p.startAfter) <= 0) continue;
    const at = p.delimiter ? k.indexOf(p.delimiter, prefix.length) : -1;
    if (at >= 0) items.set(k.slice(0, at + (p.delimiter as string).length), "cp");
    else items.set(k, "key");
  }
  const all = [...items]
    .filter(([item]) => p.startAfter === undefined || compareKeys(item, p.startAfter) > 0)
    .sort((a, b) => compareKeys(a[0], b[0]));
  const page = maxKeys === 0 ? [] : all.slice(0, maxKeys);
  return {
    contents: page.filter(([, t]) => t === "key").map(([k]) => k),
    commonPrefixes: page.filter(([, t]) => t === "cp").map(([k]) => k),
    isTruncated: maxKeys > 0 && all.length > maxKeys,
  };
}

describe("listObjects", () => {
  it("matches the naive model on random keys and parameters, and pages through everything", () => {
    const alphabet = ["a", "b", "/", "-", "é", "Z", "\u{1F600}", "0"];
    for (let seed = 1; seed <= 12; seed++) {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
      const word = (max: number) =>
        Array.from({ length: 1 + Math.floor(rand() * max) }, () => pick(alphabet)).join("");
      const keys = [...new Set(Array.from({ length: 150 }, () => word(6)))];
      const m = withKeys(keys);
      for (let q = 0; q < 40; q++) {
        const params: Omit<ListObjectsParams, "bucket"> = {
          ...(rand() < 0.6 ? { prefix: word(2) } : {}),
          ...(rand() < 0.6 ? { delimiter: pick(["/", "-", "é", "ab"]) } : {}),
          ...(rand() < 0.5 ? { startAfter: rand() < 0.5 ? pick(keys) : word(4) } : {}),
          maxKeys: pick([0, 1, 2, 5, 1000]),
        };
        const got = m.listObjects({ bucket: "b", ...params });
        const want = naive(keys, params);
        const context = `seed ${seed} ${JSON.stringify(params)}`;
        expect({ ...want, contents: got.contents.map((c) => c.key) }, context).toEqual({
          contents: want.contents,
          commonPrefixes: got.commonPrefixes,
          isTruncated: got.isTruncated,
        });
        expect(got.commonPrefixes, context).toEqual(want.commonPrefixes);
        expect(got.isTruncated, context).toBe(want.isTruncated);
      }
      // Paging with nextStartAfter visits every item exactly once.
      for (const delimiter of [undefined, "/"]) {
        const seen: string[] = [];
        let startAfter: string | undefined;
        for (let pages = 0; pages < 1000; pages++) {
          const page = m.listObjects({
            bucket: "b",
            maxKeys: 7,
            ...(delimiter ? { delimiter } : {}),
            ...(startAfter !== undefined ? { startAfter } : {}),
          });
          seen.push(...page.contents.map((c) => c.key), ...page.commonPrefixes);
          if (!page.isTruncated) break;
          startAfter = page.nextStartAfter;
        }
        const full = naive(keys, delimiter ? { delimiter, maxKeys: 100_000 } : { maxKeys: 100_000 });
        expect(seen.sort(compareKeys)).toEqual([...full.contents, ...full.commonPrefixes].sort(compareKeys));
      }
    }
  });

  it("maxKeys=0 returns an empty, non-truncated page", () => {
    const m = withKeys(["a", "b"]);
    expect(m.listObjects({ bucket: "b", maxKeys: 0 })).toEqual({
      contents: [],
      commonPrefixes: [],
      isTruncated: false,
    });
  });

  it("seeks past common prefixes: a page costs O(page), not O(bucket)", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const entries = [];
    let index = log.index;
    for (let p = 0; p < 10; p++) {
      for (let i = 0; i < 2000; i++) {
        entries.push({
          index: ++index,
          term: 1,
          command: emptyPut(`p${p}/obj-${String(i).padStart(5, "0")}`),
        });
      }
    }
    entries.push({ index: ++index, term: 1, command: emptyPut("top-level") });
    m.applyEntries(entries);

    const before = m.listCounters();
    const page = m.listObjects({ bucket: "b", delimiter: "/" });
    const after = m.listCounters();
    expect(page.commonPrefixes).toEqual(Array.from({ length: 10 }, (_, p) => `p${p}/`));
    expect(page.contents.map((c) => c.key)).toEqual(["top-level"]);
    expect(after.statements - before.statements).toBeLessThanOrEqual(12);
    expect(after.rows - before.rows).toBeLessThanOrEqual(12);

    // Paging one common prefix at a time is still O(1) per page.
    const c0 = m.listCounters();
    const p1 = m.listObjects({ bucket: "b", delimiter: "/", maxKeys: 1, startAfter: "p3/" });
    expect(p1).toMatchObject({ commonPrefixes: ["p4/"], isTruncated: true, nextStartAfter: "p4/" });
    const c1 = m.listCounters();
    expect(c1.rows - c0.rows).toBeLessThanOrEqual(3);

    // And the scan is a primary-key range search, never a table scan.
    const db = openDatabase(":memory:", { integrityCheck: "none" });
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${ListObjectsQuery.SCAN_SQL}`)
      .all("b", Buffer.from("a"), Buffer.from("b"), 10);
    expect(JSON.stringify(plan)).toMatch(
      /SEARCH objects USING PRIMARY KEY \(bucket=\? AND key>\? AND key<\?\)/,
    );
    db.close();
  });
});
