#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx (resolved from this package, so it works
// from any working directory). A compiled build would import ../dist/main.js instead.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
