import { createHash } from "node:crypto";
import { nameTagOf } from "./backend.js";

export const distributionModes = ["round-robin", "weighted"] as const;
export type DistributionMode = (typeof distributionModes)[number];

export interface PlacementProvider {
  readonly name: string;
  /** Relative share of new chunks; 0 drains the provider (no new chunks, reads still work). */
  readonly weight: number;
}

/** 2^52: the hash fraction below keeps 52 bits so it is exact in a double. */
const TWO_POW_52 = 2 ** 52;

/** Uniform in (0, 1), derived from (provider, chunk): the "random" draw of rendezvous hashing. */
function hashUnit(providerName: string, nameTagHex: string): number {
  const h = createHash("sha256").update(providerName).update("\0").update(nameTagHex).digest();
  const hi = h.readUInt32BE(0) >>> 12; // 20 bits
  const lo = h.readUInt32BE(4); // 32 bits
  return (hi * 2 ** 32 + lo + 0.5) / TWO_POW_52;
}

/**
 * Every eligible provider (weight > 0), most preferred first, as a pure function of the chunk's
 * name tag and the provider list — so a retried put lands where the first try did, and every
 * node picks the same providers. Takes a chunk object name; its upload nonce does not count, so
 * every upload of the same content ranks the providers alike.
 *
 * - `round-robin`: providers in config order, starting at (name tag mod n). Name tags are HMAC
 *   outputs, so starts are uniform: each provider is first for 1/n of the chunks and replicas
 *   go to the next providers round the ring.
 * - `weighted`: weighted rendezvous hashing (score = -weight / ln(u), u = H(provider, tag) in
 *   (0,1); Schindelhauer & Schomaker, "Weighted distributed hash tables", 2005). Provider i is
 *   first for weight_i / Σweight of chunks, and adding or removing a provider only moves the
 *   chunks that provider gains or loses.
 */
export function rankProviders(
  chunkName: string,
  providers: readonly PlacementProvider[],
  mode: DistributionMode,
): string[] {
  const nameTagHex = nameTagOf(chunkName);
  const eligible = providers.filter((p) => p.weight > 0);
  if (eligible.length === 0) return [];
  if (mode === "round-robin") {
    const start = Number.parseInt(nameTagHex.slice(0, 8), 16) % eligible.length;
    return eligible.map((_, i) => eligible[(start + i) % eligible.length]!.name);
  }
  return eligible
    .map((p) => ({ name: p.name, score: -p.weight / Math.log(hashUnit(p.name, nameTagHex)) }))
    .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((s) => s.name);
}
