/** Builds the bundled CLI once per test run, so process-level tests run what users run. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./cli.js";

export default function setup(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs")], { stdio: "inherit" });
}
