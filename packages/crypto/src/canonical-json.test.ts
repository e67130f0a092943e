import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";
import { CryptoError } from "./errors.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and writes no whitespace", () => {
    const a = { b: 1, a: { z: [3, { y: true, x: null }], m: "s" }, "": 0 };
    const b = { "": 0, a: { m: "s", z: [3, { x: null, y: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"":0,"a":{"m":"s","z":[3,{"x":null,"y":true}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it("orders keys by UTF-16 code units and escapes strings like JSON", () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, "\u{1F600}": 4, "\uFFFF": 5 })).toBe(
      '{"Z":3,"z":2,"é":1,"\u{1F600}":4,"\uFFFF":5}',
    );
    expect(canonicalJson('a"b\\c\n\u0001')).toBe('"a\\"b\\\\c\\n\\u0001"');
    expect(canonicalJson(1e21)).toBe("1e+21");
    expect(canonicalJson(-0)).toBe("0");
  });

  it("omits undefined properties, as JSON does", () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  it.each([
    ["NaN", { n: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["bigint", { n: 1n }],
    ["undefined in array", [1, undefined]],
    ["Date", { d: new Date(0) }],
    ["Map", new Map()],
    ["function", { f: () => 1 }],
    ["top-level undefined", undefined],
  ])("rejects %s", (_name, value) => {
    expect(() => canonicalJson(value)).toThrowError(CryptoError);
  });

  it("rejects cycles instead of recursing forever", () => {
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => canonicalJson(cyc)).toThrow(/nesting deeper/);
  });
});
