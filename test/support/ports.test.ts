import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, lostPortRace } from "./ports.js";

const listen = (port: number) =>
  new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(srv));
  });

describe("test ports", () => {
  it("hands out distinct bindable ports below the kernel's ephemeral range", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) expect(p).toBeLessThan(32_768);
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it("skips a port something else holds", async () => {
    const held = await listen(await freePort());
    const heldPort = (held.address() as { port: number }).port;
    // A full turn of this worker's block (1,000 ports) passes the held port once.
    const seen = new Set<number>();
    for (let i = 0; i < 1_000; i++) seen.add(await freePort());
    expect(seen.has(heldPort)).toBe(false);
    expect(seen.size).toBeGreaterThan(900);
    await new Promise((r) => held.close(r));
  });

  it("recognizes a lost port race in a child's output", () => {
    expect(lostPortRace("enigma: listen EADDRINUSE: address already in use 127.0.0.1:36193")).toBe(true);
    expect(lostPortRace("enigma: keystore locked")).toBe(false);
  });
});
