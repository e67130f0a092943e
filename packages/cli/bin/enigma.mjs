#!/usr/bin/env node
// Entry point. Runs the bundled build (packages/cli/dist, made by `pnpm build`) when present;
// otherwise — or with ENIGMA_FROM_SOURCE=1 — the TypeScript sources through tsx, resolved from
// this package so it works from any working directory.
import { existsSync } from "node:fs";

const dist = new URL("../dist/enigma.js", import.meta.url);
if (existsSync(dist) && process.env.ENIGMA_FROM_SOURCE !== "1") {
  await import(dist.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
