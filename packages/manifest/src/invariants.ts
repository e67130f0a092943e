/**
 * Cross-table invariants that the apply code maintains. Cheap enough for tests after every step and
 * for `enigma verify --manifest`; each violation is one line.
 */
import type Database from "better-sqlite3";

const REFS = `SELECT hash FROM object_chunks UNION ALL SELECT hash FROM part_chunks
  UNION ALL SELECT hash FROM backup_file_chunks UNION ALL SELECT hash FROM backup_stream_chunks`;

const CHECKS: readonly { readonly sql: string; readonly describe: (r: Record<string, unknown>) => string }[] =
  [
    {
      sql: `WITH refs AS (SELECT hash, count(*) AS n FROM (${REFS}) GROUP BY hash)
      SELECT ch.hash, ch.refcount, coalesce(refs.n, 0) AS n FROM chunks ch
      LEFT JOIN refs ON refs.hash = ch.hash WHERE ch.refcount != coalesce(refs.n, 0) LIMIT 20`,
      describe: (r) => `chunk ${r.hash}: refcount ${r.refcount} but ${r.n} reference(s)`,
    },
    {
      sql: `SELECT DISTINCT r.hash FROM (${REFS}) r LEFT JOIN chunks ch ON ch.hash = r.hash
      WHERE ch.hash IS NULL LIMIT 20`,
      describe: (r) => `reference to unknown (forgotten) chunk ${r.hash}`,
    },
    {
      sql: `SELECT DISTINCT r.hash FROM (${REFS}) r JOIN chunks ch ON ch.hash = r.hash
      WHERE ch.state != 'live' LIMIT 20`,
      describe: (r) => `reference to chunk ${r.hash} in state deleting`,
    },
    {
      sql: `SELECT o.bucket, hex(o.key) AS key, o.size, o.chunk_count,
        (SELECT count(*) FROM object_chunks c WHERE c.bucket = o.bucket AND c.key = o.key) AS n,
        (SELECT coalesce(sum(ch.size), 0) FROM object_chunks c JOIN chunks ch ON ch.hash = c.hash
          WHERE c.bucket = o.bucket AND c.key = o.key) AS bytes
      FROM objects o WHERE n != o.chunk_count OR bytes != o.size LIMIT 20`,
      describe: (r) =>
        `object ${r.bucket}/${r.key}: size ${r.size}/${r.chunk_count} chunks but ${r.bytes}/${r.n} stored`,
    },
    {
      sql: `SELECT p.upload_id, p.part_number FROM parts p WHERE p.chunk_count !=
        (SELECT count(*) FROM part_chunks c WHERE c.upload_id = p.upload_id AND c.part_number = p.part_number)
      LIMIT 20`,
      describe: (r) => `part ${r.upload_id}#${r.part_number}: chunk count mismatch`,
    },
    {
      // Recorded part boundaries (feature level 1) cover the object exactly.
      sql: `SELECT o.bucket, hex(o.key) AS key FROM objects o
        JOIN (SELECT bucket, key, sum(size) AS bytes, sum(chunk_count) AS n, count(*) AS parts,
                max(part_number) AS top FROM object_parts GROUP BY bucket, key) p
          ON p.bucket = o.bucket AND p.key = o.key
        WHERE p.bytes != o.size OR p.n != o.chunk_count LIMIT 20`,
      describe: (r) => `object ${r.bucket}/${r.key}: its parts do not add up to its size and chunks`,
    },
    {
      sql: `SELECT b.backup_id FROM backups b WHERE
        b.file_count != (SELECT count(*) FROM backup_files f WHERE f.backup_id = b.backup_id)
        OR b.chunk_count != (SELECT count(*) FROM backup_file_chunks c WHERE c.backup_id = b.backup_id)
          + (SELECT count(*) FROM backup_stream_chunks s WHERE s.backup_id = b.backup_id)
      LIMIT 20`,
      describe: (r) => `backup ${r.backup_id}: file or chunk count mismatch`,
    },
  ];

const prepared = new WeakMap<Database.Database, Database.Statement[]>();

export function checkInvariants(db: Database.Database): string[] {
  let stmts = prepared.get(db);
  if (stmts === undefined) {
    stmts = CHECKS.map((c) => db.prepare(c.sql));
    prepared.set(db, stmts);
  }
  const problems: string[] = [];
  CHECKS.forEach((c, i) => {
    for (const r of (stmts[i] as Database.Statement).all() as Record<string, unknown>[]) {
      problems.push(c.describe(r));
    }
  });
  for (const r of db.pragma("foreign_key_check") as Record<string, unknown>[]) {
    problems.push(`foreign key violation in ${r.table} (parent ${r.parent})`);
  }
  return problems;
}
