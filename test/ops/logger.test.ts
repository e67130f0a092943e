/** The serve logger: JSON lines, secrets and signatures censored wherever a log call puts them. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createServeLogger } from "../../packages/cli/src/commands/serve.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

describe("serve logger", () => {
  it("redacts secrets, tokens, authorization headers and presigned signatures", () => {
    const { lines, stream } = capture();
    const log = createServeLogger("info", false, stream);
    log.info(
      {
        passphrase: "pp-secret-1",
        cfg: { secretKey: "sk-secret-2", cluster_secret: "cs-secret-3", metricsToken: "mt-secret-4" },
        req: { headers: { authorization: "AWS4-HMAC-SHA256 Credential=x, Signature=sig-secret-5" } },
        url: { query: { "X-Amz-Signature": "sig-secret-6" } },
      },
      "hello",
    );
    expect(lines).toHaveLength(1);
    const text = lines[0]!;
    for (const s of [
      "pp-secret-1",
      "sk-secret-2",
      "cs-secret-3",
      "mt-secret-4",
      "sig-secret-5",
      "sig-secret-6",
    ]) {
      expect(text).not.toContain(s);
    }
    expect(JSON.parse(text)).toMatchObject({ msg: "hello", passphrase: "<redacted>" });
  });

  it("honours the level", () => {
    const { lines, stream } = capture();
    const log = createServeLogger("warn", false, stream);
    log.info("quiet");
    log.warn("loud");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["loud"]);
  });
});
