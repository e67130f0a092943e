/**
 * A tiny structural validator for decoded JSON. Checks throw ManifestError("InvalidCommand") with
 * the JSON path of the first problem. Structure only: semantic limits (part numbers, S3 key rules,
 * list sizes) are apply's business and come back as ApplyError results, because a committed entry
 * that fails to decode stops the node.
 */
import { ManifestError } from "../errors.js";

export type Check = (value: unknown, path: string) => void;

/** Generous structural caps: anything beyond is a bug or an attack, not a real command. */
export const MAX_STRING_CHARS = 64 * 1024;
export const MAX_ARRAY_ITEMS = 1_000_000;

function fail(path: string, expected: string): never {
  throw new ManifestError("InvalidCommand", `invalid command: ${path || "(root)"} must be ${expected}`);
}

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export function str(maxChars: number = MAX_STRING_CHARS): Check {
  return (v, p) => {
    if (typeof v !== "string") fail(p, "a string");
    if (v.length > maxChars) fail(p, `at most ${maxChars} characters`);
    if (!isWellFormed(v)) fail(p, "well-formed Unicode (no lone surrogates)");
  };
}

export function nonEmptyStr(maxChars: number = MAX_STRING_CHARS): Check {
  const base = str(maxChars);
  return (v, p) => {
    base(v, p);
    if (v === "") fail(p, "a non-empty string");
  };
}

export function hex(minChars: number, maxChars: number): Check {
  const re = /^(?:[0-9a-f]{2})*$/;
  return (v, p) => {
    if (typeof v !== "string" || v.length < minChars || v.length > maxChars || !re.test(v)) {
      fail(p, `lowercase hex of ${minChars}..${maxChars} characters`);
    }
  };
}

/** A non-negative safe integer (sizes, timestamps, counts, ids). */
export const uint: Check = (v, p) => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail(p, "a non-negative safe integer");
};

export const bool: Check = (v, p) => {
  if (typeof v !== "boolean") fail(p, "a boolean");
};

export function literal(...values: readonly string[]): Check {
  return (v, p) => {
    if (typeof v !== "string" || !values.includes(v)) fail(p, `one of ${values.join("|")}`);
  };
}

export function arrayOf(item: Check, maxItems: number = MAX_ARRAY_ITEMS): Check {
  return (v, p) => {
    if (!Array.isArray(v)) fail(p, "an array");
    if (v.length > maxItems) fail(p, `at most ${maxItems} items`);
    for (let i = 0; i < v.length; i++) item(v[i], `${p}[${i}]`);
  };
}

export function recordOf(value: Check, keyCheck: Check = str(1024), maxEntries = 1024): Check {
  return (v, p) => {
    if (!isPlainObject(v)) fail(p, "an object");
    const keys = Object.keys(v);
    if (keys.length > maxEntries) fail(p, `at most ${maxEntries} entries`);
    for (const k of keys) {
      keyCheck(k, `${p}.<key>`);
      value(v[k], `${p}.${k}`);
    }
  };
}

/** An object with exactly these fields: required ones must be present, unknown ones are refused. */
export function fields(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (v, p) => {
    if (!isPlainObject(v)) fail(p, "an object");
    for (const [name, check] of Object.entries(required)) {
      if (!Object.hasOwn(v, name) || v[name] === undefined) fail(`${p}.${name}`, "present");
      check(v[name], `${p}.${name}`);
    }
    for (const name of Object.keys(v)) {
      if (Object.hasOwn(required, name)) continue;
      const check = optional[name];
      if (check === undefined) fail(`${p}.${name}`, "absent (unknown field)");
      if (v[name] !== undefined) check(v[name], `${p}.${name}`);
    }
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
