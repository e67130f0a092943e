import { hash as argon2Hash, argon2id } from "argon2";

/** Argon2id cost parameters, recorded in the keystore header so the file is self-describing. */
export interface Argon2Params {
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
}

/** 64 MiB, 3 passes, 1 lane: about 0.2 s on a 2-core VM (see DESIGN.md), once per process start. */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 };

/**
 * Bounds applied both when creating and when opening. On open they are what stands between an
 * attacker-edited header and a hang or an out-of-memory kill: the header is authenticated, but
 * only *after* Argon2 has run with the parameters it names.
 */
export const ARGON2_LIMITS = {
  minMemoryKiB: 8 * 1024,
  maxMemoryKiB: 4 * 1024 * 1024,
  minIterations: 1,
  maxIterations: 64,
  minParallelism: 1,
  maxParallelism: 64,
  /** memoryKiB × iterations: 4 GiB × 4, 1 GiB × 16 or 64 MiB × 64 all fit; 4 GiB × 64 does not. */
  maxWorkKiB: 16 * 1024 * 1024,
} as const;

export const ARGON2_SALT_BYTES = 16;
export const ARGON2_OUTPUT_BYTES = 32;

/** Returns a one-line reason when `p` is out of bounds, undefined when it is acceptable. */
export function argon2ParamsProblem(p: Argon2Params): string | undefined {
  const L = ARGON2_LIMITS;
  const intIn = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!intIn(p.memoryKiB, L.minMemoryKiB, L.maxMemoryKiB))
    return `Argon2id memory ${p.memoryKiB} KiB outside [${L.minMemoryKiB}, ${L.maxMemoryKiB}]`;
  if (!intIn(p.iterations, L.minIterations, L.maxIterations))
    return `Argon2id iterations ${p.iterations} outside [${L.minIterations}, ${L.maxIterations}]`;
  if (!intIn(p.parallelism, L.minParallelism, L.maxParallelism))
    return `Argon2id parallelism ${p.parallelism} outside [${L.minParallelism}, ${L.maxParallelism}]`;
  if (p.memoryKiB * p.iterations > L.maxWorkKiB)
    return `Argon2id work ${p.memoryKiB} KiB x ${p.iterations} exceeds ${L.maxWorkKiB} KiB`;
  return undefined;
}

/**
 * Argon2id(passphrase, salt) → 32 bytes. The passphrase is NFC-normalized so the same phrase typed
 * on systems that compose accents differently opens the same keystore.
 */
export function deriveArgon2(passphrase: string, salt: Uint8Array, p: Argon2Params): Promise<Buffer> {
  return argon2Hash(passphrase.normalize("NFC"), {
    type: argon2id,
    memoryCost: p.memoryKiB,
    timeCost: p.iterations,
    parallelism: p.parallelism,
    salt: Buffer.from(salt),
    hashLength: ARGON2_OUTPUT_BYTES,
    raw: true,
  });
}
