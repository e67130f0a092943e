/**
 * The FastCDC Gear table: 256 pseudo-random 32-bit words, one per byte value.
 *
 * The table is part of the on-disk contract: the gateway and the backup CLI must cut identical
 * boundaries or they stop deduplicating against each other, so it is generated from a fixed seed
 * by a fixed generator (SplitMix32: a Weyl sequence through the MurmurHash3 finalizer) at module
 * load and pinned by a golden test. Never change GEAR_SEED or the generator.
 */
export const GEAR_SEED = 0x456e6967; // "Enig"

function splitMix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
}

function buildGear(seed: number): Int32Array {
  const next = splitMix32(seed);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = next();
  return table;
}

/** Int32 rather than Uint32 so the hot loop stays in int32 arithmetic (no heap numbers). */
export const GEAR: Int32Array = buildGear(GEAR_SEED);
