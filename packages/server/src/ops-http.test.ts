import { afterEach, describe, expect, it } from "vitest";
import {
  nodeReadiness,
  type OpsHandlers,
  type RunningOps,
  startOpsServer,
  tokenMatches,
} from "./ops-http.js";

let ops: RunningOps | undefined;
afterEach(async () => {
  await ops?.close();
  ops = undefined;
});

async function start(h: Partial<OpsHandlers>): Promise<string> {
  ops = await startOpsServer("127.0.0.1", 0, {
    readiness: () => null,
    status: () => ({}),
    ...h,
  });
  return `http://127.0.0.1:${ops.port}`;
}

describe("nodeReadiness", () => {
  const strict = { requireLeader: true };
  it("phase first, then live seal workers, then the cluster's checks", () => {
    const cluster = () => "no leader known";
    expect(nodeReadiness("starting", 0, cluster, strict)).toBe("starting");
    expect(nodeReadiness("stopping", 1, undefined, strict)).toBe("stopping");
    expect(nodeReadiness("serving", 0, cluster, strict)).toMatch(/no live seal worker/);
    expect(nodeReadiness("serving", 0, undefined, strict)).toMatch(/no live seal worker/);
    expect(nodeReadiness("serving", 1, cluster, strict)).toBe("no leader known");
    // No pool (workers = 0: sealing on the main thread) is not a failure.
    expect(nodeReadiness("serving", null, undefined, strict)).toBeNull();
    expect(nodeReadiness("serving", 2, undefined, strict)).toBeNull();
    const seen: boolean[] = [];
    const record = (o: { requireLeader: boolean }) => {
      seen.push(o.requireLeader);
      return null;
    };
    expect(nodeReadiness("serving", 1, record, { requireLeader: false })).toBeNull();
    expect(seen).toEqual([false]);
  });
});

describe("ops port", () => {
  it("/readyz?noleader asks readiness without the leader requirement", async () => {
    const seen: boolean[] = [];
    const url = await start({
      readiness: (o) => {
        seen.push(o.requireLeader);
        return o.requireLeader ? "no leader known" : null;
      },
    });
    const strict = await fetch(`${url}/readyz`);
    expect(strict.status).toBe(503);
    expect(await strict.text()).toBe("no leader known\n");
    expect((await fetch(`${url}/readyz?noleader`)).status).toBe(200);
    expect(seen).toEqual([true, false]);
  });

  it("/metrics requires the bearer token when one is configured", async () => {
    const token = "a-metrics-token-of-some-length";
    const url = await start({
      metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "x 1\n" }),
      metricsToken: () => token,
    });
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(`${url}/metrics`, { headers: { Authorization: "Bearer nope" } })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { Authorization: `Basic ${token}` } })).status).toBe(
      401,
    );
    const ok = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("x 1\n");
  });

  it("/metrics is open without a token, 503 while an enc: token is not decrypted yet", async () => {
    let token: string | undefined | null = null;
    const url = await start({
      metrics: async () => ({ contentType: "text/plain", body: "y 2\n" }),
      metricsToken: () => token,
    });
    expect((await fetch(`${url}/metrics`)).status).toBe(503);
    token = undefined;
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it("compares tokens by value, whatever their lengths", () => {
    expect(tokenMatches("abc", "abc")).toBe(true);
    expect(tokenMatches("abc", "abd")).toBe(false);
    expect(tokenMatches("abc", "abcd")).toBe(false);
    expect(tokenMatches("", "x")).toBe(false);
  });
});
