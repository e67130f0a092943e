#!/usr/bin/env node
// Container health check (Dockerfile HEALTHCHECK, docker-compose): GET /readyz on the ops port.
// Slim images have no curl. The port follows ENIGMA_OPS_LISTEN_ADDR (default 8433); the request
// goes to 127.0.0.1, which a 0.0.0.0 listener also answers. Exit 0 only on HTTP 200.
const addr = process.env.ENIGMA_OPS_LISTEN_ADDR ?? "";
const port = addr.slice(addr.lastIndexOf(":") + 1) || "8433";
const url = `http://127.0.0.1:${port}/readyz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    process.stderr.write(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}\n`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  process.stderr.write(`${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
