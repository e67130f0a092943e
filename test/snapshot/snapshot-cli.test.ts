/**
 * `enigma snapshot` through the real CLI: create on a node with data → verify → refuse tampering
 * with exit code 4 → disaster recovery into a fresh node (new cluster from the snapshot, same
 * keystore and storage) where every backup restores identically → GC pause and confirmation; and
 * age encryption with a right and a wrong identity.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAgeKeyPair } from "../../packages/crypto/src/index.js";
import { runEnigma } from "../support/cli.js";
import { makeTree, snapshotTree } from "../support/tree.js";

const PASS = "correct horse battery staple";
const work = mkdtempSync(join(tmpdir(), "enigma-snapshot-cli-"));
const chunks = join(work, "chunks");
const node1 = join(work, "node1");
const node2 = join(work, "node2");
const snaps = join(work, "snapshots");
const tree = join(work, "tree");

const config = `[enigma]\nchunk_size = "256KiB"\n\n[[providers]]\nname = "shared"\ntype = "Local"\nbucket = ${JSON.stringify(chunks)}\n`;

const enigma = (dir: string, args: string[]) =>
  runEnigma(args, { env: { ENIGMA_CONFIG_DIR: dir, ENIGMA_PASSPHRASE: PASS } });

async function ok(dir: string, args: string[]) {
  const r = await enigma(dir, args);
  if (r.code !== 0) throw new Error(`enigma ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

const json = <T>(r: { stdout: Buffer }) => JSON.parse(r.stdout.toString()) as T;

interface CreateJson {
  file: string;
  sha256: string;
  appliedIndex: number;
  clusterId: string | null;
}

let snapshotFile: string;

beforeAll(async () => {
  for (const d of [node1, node2, snaps]) mkdirSync(d, { recursive: true });
  writeFileSync(join(node1, "enigma.toml"), config);
  makeTree(tree, { bigMiB: 1 });
  await ok(node1, ["init"]);
  await ok(node1, ["backup", tree, "--name", "tree"]);
  snapshotFile = json<CreateJson>(await ok(node1, ["--json", "snapshot", "create", "--out", snaps])).file;
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("enigma snapshot", () => {
  it("creates a content-addressed snapshot signed by the node's own key, and verifies it", async () => {
    expect(snapshotFile).toMatch(/enigma-snapshot-n1-i\d+-[0-9a-f]{16}\.tar$/);
    const v = json<{ verified: boolean; trust: { source: string } }>(
      await ok(node1, ["--json", "snapshot", "verify", snapshotFile]),
    );
    expect(v.verified).toBe(true);
    expect(v.trust.source).toBe("local-node-key");
  });

  it("refuses tampered snapshots with exit code 4 and a clear message", async () => {
    const bytes = readFileSync(snapshotFile);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 20_000] = (flipped[flipped.length - 20_000] as number) ^ 0x01;
    writeFileSync(join(work, "flipped.tar"), flipped);
    const [r, missing] = await Promise.all([
      enigma(node1, ["snapshot", "verify", join(work, "flipped.tar")]),
      enigma(node1, ["snapshot", "verify", join(work, "absent.tar")]),
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /enigma: artifact manifest\.db: SHA-256 [0-9a-f]+… differs from manifest\.json's/,
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/cannot read snapshot/);
  });

  it("disaster recovery: a fresh node restored as a new cluster serves every backup identically", async () => {
    writeFileSync(join(node2, "enigma.toml"), config);
    copyFileSync(join(node1, "keystore.enigma"), join(node2, "keystore.enigma"));
    // The trusted key is node 1's public key, copied out of band.
    writeFileSync(
      join(work, "trusted.json"),
      JSON.stringify([readFileSync(join(node1, "node-signing.key.pub"), "utf8")]),
    );
    const r = json<{ mode: string; clusterId: string; trust: { source: string }; gcPaused: boolean }>(
      await ok(node2, [
        "--json",
        "snapshot",
        "restore",
        snapshotFile,
        "--mode",
        "new-cluster",
        "--trusted-keys",
        join(work, "trusted.json"),
      ]),
    );
    expect(r).toMatchObject({ mode: "new-cluster", gcPaused: true, trust: { source: "trusted-keys" } });
    expect(r.clusterId).toMatch(/^[0-9a-f-]{36}$/);
    const dest = join(work, "restored");
    await ok(node2, ["restore", "tree", dest]);
    expect(snapshotTree(dest)).toEqual(snapshotTree(tree));
    const confirmed = json<{ wasPaused: boolean }>(await ok(node2, ["--json", "snapshot", "confirm-gc"]));
    expect(confirmed.wasPaused).toBe(true);
  });

  it("encrypts to age recipients and needs the right identity", async () => {
    const [right, wrong] = await Promise.all([
      generateAgeKeyPair({ postQuantum: true }),
      generateAgeKeyPair(),
    ]);
    writeFileSync(join(work, "right.key"), `# test identity\n${right.identity}\n`);
    writeFileSync(join(work, "wrong.key"), `${wrong.identity}\n`);
    const s = json<CreateJson>(
      await ok(node1, [
        "--json",
        "snapshot",
        "create",
        "--out",
        `${snaps}/`,
        "--age-recipient",
        right.recipient,
      ]),
    );
    expect(s.file).toMatch(/\.tar\.age$/);
    const [good, bad, none] = await Promise.all([
      enigma(node1, ["--json", "snapshot", "verify", s.file, "--age-identity", join(work, "right.key")]),
      enigma(node1, ["snapshot", "verify", s.file, "--age-identity", join(work, "wrong.key")]),
      enigma(node1, ["snapshot", "verify", s.file]),
    ]);
    expect(good.code).toBe(0);
    expect(json<{ encrypted: boolean; verified: boolean }>(good)).toMatchObject({
      encrypted: true,
      verified: true,
    });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/none of the given age identities is a recipient of this snapshot/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/is age-encrypted: give an age identity/);
  });
});
