/**
 * `enigma verify --replicas` with two local providers and replication factor 2: a lost or corrupt
 * replica goes unnoticed by a plain verify (reads fall back; the data is intact) and is reported,
 * by provider, with exit code 4, by `--replicas`.
 */
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEnigma, runEnigmaOk } from "../support/cli.js";

const PASS = "correct horse battery staple";
const work = mkdtempSync(join(tmpdir(), "enigma-replicas-"));
const configDir = join(work, "cfg");
const env = { ENIGMA_CONFIG_DIR: configDir, ENIGMA_PASSPHRASE: PASS };

const enigma = (args: string[]) => runEnigma(args, { env });
const ok = (args: string[]) => runEnigmaOk(args, { env });

interface VerifyJson {
  ok: boolean;
  chunksChecked: number;
  replicasChecked: number;
  problems: string[];
}

/** Chunk files a local provider holds. */
function blobs(provider: "a" | "b"): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  const root = join(configDir, `rep-${provider}`, "chunks");
  if (existsSync(root)) visit(root);
  return out.sort();
}

let backupId = "";
let chunks = 0;

beforeAll(async () => {
  mkdirSync(configDir, { recursive: true });
  writeFileSync(
    join(configDir, "enigma.toml"),
    [
      "[enigma]",
      'chunk_size = "64KiB"',
      "replication_factor = 2",
      "",
      "[[providers]]",
      'name = "a"',
      'type = "Local"',
      'bucket = "rep-a"',
      "",
      "[[providers]]",
      'name = "b"',
      'type = "Local"',
      'bucket = "rep-b"',
      "",
    ].join("\n"),
  );
  await ok(["init"]);
  const src = join(work, "src");
  mkdirSync(src);
  writeFileSync(join(src, "one.bin"), randomBytes(400 * 1024));
  writeFileSync(join(src, "two.bin"), randomBytes(50 * 1024));
  const b = JSON.parse((await ok(["backup", src, "--name", "twice", "--json"])).stdout.toString()) as {
    backupId: string;
    chunks: number;
  };
  backupId = b.backupId;
  chunks = b.chunks;
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("enigma verify --replicas", () => {
  it("reads every chunk from both providers when both hold it", async () => {
    expect(blobs("a")).toHaveLength(chunks);
    expect(blobs("b")).toHaveLength(chunks);
    const r = JSON.parse(
      (await ok(["verify", backupId, "--replicas", "--json"])).stdout.toString(),
    ) as VerifyJson;
    expect(r).toMatchObject({ ok: true, chunksChecked: chunks, replicasChecked: 2 * chunks, problems: [] });
  }, 120_000);

  it("a lost and a corrupt replica pass a plain verify but fail --replicas, named by provider", async () => {
    const [lost] = blobs("b");
    rmSync(lost!);
    const corrupt = blobs("a").find((f) => !f.endsWith(lost!.split("/").pop()!))!;
    const bytes = readFileSync(corrupt);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0x55;
    writeFileSync(corrupt, bytes);

    const plain = JSON.parse((await ok(["verify", backupId, "--json"])).stdout.toString()) as VerifyJson;
    expect(plain).toMatchObject({ ok: true, replicasChecked: 0 });

    const r = await enigma(["verify", backupId, "--replicas", "--json"]);
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout.toString()) as VerifyJson;
    expect(report.ok).toBe(false);
    expect(report.replicasChecked).toBe(2 * chunks);
    expect(report.problems).toHaveLength(2);
    expect(report.problems.filter((p) => /replica on b: .*NotFound/i.test(p))).toHaveLength(1);
    expect(report.problems.filter((p) => /replica on a: /.test(p))).toHaveLength(1);
    // Text output names the count of replicas read.
    const text = await enigma(["verify", backupId, "--replicas"]);
    expect(text.code).toBe(4);
    expect(text.stdout.toString()).toMatch(new RegExp(`${2 * chunks} replicas read one by one`));
  }, 120_000);
});
