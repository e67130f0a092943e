/**
 * Measures SHA3-256 throughput (node:crypto vs hash-wasm) on 4 MiB buffers and the default Argon2id
 * cost. Run: `npx tsx packages/crypto/bench/sha3-argon2.bench.ts`. Numbers go in DESIGN.md, not tests.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hash as argon2Hash, argon2id } from "argon2";
import { createSHA3 } from "hash-wasm";
import { createKeystore, openKeystore } from "../src/keystore.js";

const BUF_BYTES = 4 * 1024 * 1024;
const ROUNDS = 64;

async function main(): Promise<void> {
  const buf = randomBytes(BUF_BYTES);
  const mib = (BUF_BYTES * ROUNDS) / (1024 * 1024);

  for (let i = 0; i < 4; i++) createHash("sha3-256").update(buf).digest();
  let t = performance.now();
  for (let i = 0; i < ROUNDS; i++) createHash("sha3-256").update(buf).digest();
  const nodeMs = performance.now() - t;

  const wasm = await createSHA3(256);
  for (let i = 0; i < 4; i++) wasm.init().update(buf).digest("binary");
  t = performance.now();
  for (let i = 0; i < ROUNDS; i++) wasm.init().update(buf).digest("binary");
  const wasmMs = performance.now() - t;

  console.log(`sha3-256 node:crypto ${((mib * 1000) / nodeMs).toFixed(0)} MiB/s`);
  console.log(`sha3-256 hash-wasm   ${((mib * 1000) / wasmMs).toFixed(0)} MiB/s`);

  for (const [memoryCost, timeCost] of [
    [65536, 3],
    [8192, 1],
  ] as const) {
    t = performance.now();
    await argon2Hash("correct horse battery staple", {
      type: argon2id,
      memoryCost,
      timeCost,
      parallelism: 1,
      salt: randomBytes(16),
      hashLength: 32,
      raw: true,
    });
    console.log(`argon2id m=${memoryCost}KiB t=${timeCost} p=1: ${(performance.now() - t).toFixed(0)} ms`);
  }
}

/** Full keystore create + open with the default parameters (what `enigma serve` pays at start). */
async function keystoreCost(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "enigma-bench-"));
  try {
    const path = join(dir, "ks.enk");
    let t = performance.now();
    await createKeystore(path, "correct horse battery staple");
    console.log(`createKeystore (defaults): ${(performance.now() - t).toFixed(0)} ms`);
    t = performance.now();
    await openKeystore(path, "correct horse battery staple");
    console.log(`openKeystore (defaults): ${(performance.now() - t).toFixed(0)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
await keystoreCost();
