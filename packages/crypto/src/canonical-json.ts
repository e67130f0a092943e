import { CryptoError } from "./errors.js";

/** Deep enough for any manifest we sign; also what turns a cycle into an error instead of a hang. */
export const MAX_CANONICAL_DEPTH = 64;

/**
 * Deterministic JSON for signing: object keys sorted by UTF-16 code units (as RFC 8785/JCS), no
 * whitespace, numbers and strings as JSON.stringify writes them (so -0 is "0", as in JCS). Only plain objects, arrays,
 * strings, finite numbers, booleans and null are accepted; anything whose encoding could vary or
 * silently drop data (NaN, Infinity, bigint, undefined in arrays, Dates, Maps, class instances)
 * throws NotCanonical. Object properties whose value is undefined are omitted, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, 0, "$");
}

function encode(v: unknown, depth: number, path: string): string {
  if (depth > MAX_CANONICAL_DEPTH) throw notCanonical(path, `nesting deeper than ${MAX_CANONICAL_DEPTH}`);
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw notCanonical(path, `non-finite number ${v}`);
      return JSON.stringify(v);
    case "object":
      break;
    default:
      throw notCanonical(path, `unsupported type ${typeof v}`);
  }
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (item === undefined) throw notCanonical(`${path}[${i}]`, "undefined array element");
      parts.push(encode(item, depth + 1, `${path}[${i}]`));
    }
    return `[${parts.join(",")}]`;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw notCanonical(path, "not a plain object");
  const rec = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(rec).sort()) {
    const item = rec[k];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${encode(item, depth + 1, `${path}.${k}`)}`);
  }
  return `{${parts.join(",")}}`;
}

function notCanonical(path: string, why: string): CryptoError {
  return new CryptoError("NotCanonical", `cannot encode as canonical JSON at ${path}: ${why}`);
}
