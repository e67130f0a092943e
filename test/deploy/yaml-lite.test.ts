/** The YAML subset reader the deploy tests parse manifests with: what it reads, and what it refuses. */
import { describe, expect, it } from "vitest";
import { parseYaml, parseYamlDocuments, YamlLiteError } from "../support/yaml-lite.js";

describe("yaml-lite", () => {
  it("reads mappings, sequences, scalars and comments", () => {
    const doc = parseYaml(
      [
        "# leading comment",
        "name: enigma   # trailing comment",
        "replicas: 3",
        "ratio: 0.5",
        "mode: 0440",
        "on_: true",
        "off_: false",
        "nothing: ~",
        "empty:",
        'quoted: "a # not a comment\\n"',
        "single: 'it''s'",
        "url: http://minio:9000/x",
        "list:",
        "  - a",
        "  - 2",
        "same_indent_list:",
        "- x",
        "- z",
        "items:",
        "  - name: s3",
        "    port: 8333",
        "  -   name: raft",
        "      port: 9000",
        "  -",
        "    nested: yes-really",
        "none: []",
        "nomap: {}",
        '"app.kubernetes.io/name": enigma',
      ].join("\n"),
    );
    expect(doc).toEqual({
      name: "enigma",
      replicas: 3,
      ratio: 0.5,
      mode: 0o440,
      on_: true,
      off_: false,
      nothing: null,
      empty: null,
      quoted: "a # not a comment\n",
      single: "it's",
      url: "http://minio:9000/x",
      list: ["a", 2],
      same_indent_list: ["x", "z"],
      items: [{ name: "s3", port: 8333 }, { name: "raft", port: 9000 }, { nested: "yes-really" }],
      none: [],
      nomap: {},
      "app.kubernetes.io/name": "enigma",
    });
  });

  it("reads literal block scalars with clip and strip chomping", () => {
    const doc = parseYaml(
      [
        "data:",
        "  a.toml: |",
        "    [x]",
        "",
        "    k = 1  # kept",
        "",
        "  b: |-",
        "    one",
        "    two",
        "c: 1",
      ].join("\n"),
    );
    expect(doc).toEqual({ data: { "a.toml": "[x]\n\nk = 1  # kept\n", b: "one\ntwo" }, c: 1 });
  });

  it("resolves anchors, aliases and merge keys (explicit keys win)", () => {
    const doc = parseYaml(
      [
        "x-env: &env",
        "  A: one",
        "  B: two",
        "x-svc: &svc",
        "  image: &img repo/image:1",
        "  environment: *env",
        "svc1:",
        "  <<: *svc",
        "  environment:",
        "    <<: *env",
        "    B: override",
        "    C: three",
        "svc2:",
        "  image: *img",
        "  <<: *svc",
      ].join("\n"),
    );
    expect(doc).toMatchObject({
      svc1: { image: "repo/image:1", environment: { A: "one", B: "override", C: "three" } },
      svc2: { image: "repo/image:1", environment: { A: "one", B: "two" } },
    });
  });

  it("splits multi-document streams and drops empty documents", () => {
    expect(parseYamlDocuments("---\na: 1\n---\n# only a comment\n---\nb: 2\n")).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it.each([
    ["a: [1, 2]", /unsupported/],
    ["a: {b: 1}", /unsupported/],
    ["a: !!str x", /unsupported/],
    ["a: >\n  folded", /unsupported/],
    ["a: yes", /ambiguous/],
    ["a: Off", /ambiguous/],
    ["ports:\n  - 22:22", /sexagesimal/],
    ["a: 1\na: 2", /duplicate key/],
    ["a:\n\tb: 1", /tab/],
    ["a: *nope", /unknown alias/],
    ["a:\n  b: 1\n c: 2", /indentation|unexpected/],
    ["just a scalar line", /expected "key: value"/],
    ["a: 09", /not an octal/],
    ['a: "unterminated', /double-quoted/],
  ])("refuses %j", (text, message) => {
    expect(() => parseYamlDocuments(text)).toThrow(YamlLiteError);
    expect(() => parseYamlDocuments(text)).toThrow(message);
  });
});
