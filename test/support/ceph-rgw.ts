/**
 * Ceph RADOS Gateway (a real S3 server) for tests, through ceph-rgw.sh: mon + memstore OSD +
 * radosgw on 127.0.0.1, on ports picked free at start, under a fresh /tmp directory. About
 * 20-40 s to start. `cephUnavailableReason()` says why it cannot run here (tests then skip).
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "./ports.js";

const run = promisify(execFile);
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "ceph-rgw.sh");

export const RGW_ACCESS_KEY = "0555b35654ad1656d804";
export const RGW_SECRET_KEY = "h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==";
const BINARIES = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool"];

function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** Null when Ceph RGW can be started here, else the reason it cannot. */
export function cephUnavailableReason(): string | null {
  if (process.env.ENIGMA_SKIP_CEPH === "1") return "ENIGMA_SKIP_CEPH=1";
  const missing = BINARIES.filter((b) => !onPath(b));
  if (missing.length > 0)
    return `Ceph binaries not installed (${missing.join(", ")}); apt-get install ceph-mon ceph-osd radosgw`;
  return null;
}

export class CephRgw {
  private constructor(
    private readonly dir: string,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<CephRgw> {
    const dir = await mkdtemp(path.join(tmpdir(), "enigma-ceph-rgw-"));
    const [rgw, monV2, monV1] = [await freePort(), await freePort(), await freePort()];
    try {
      await run("bash", [SCRIPT, "start", dir, String(rgw), String(monV2), String(monV1)], {
        timeout: 120_000,
      });
    } catch (err) {
      await run("bash", [SCRIPT, "stop", dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return new CephRgw(dir, `http://127.0.0.1:${rgw}`);
  }

  /** Stops mon, osd and radosgw by the PIDs the script recorded, then removes the directory. */
  async stop(): Promise<void> {
    await run("bash", [SCRIPT, "stop", this.dir], { timeout: 60_000 });
    await rm(this.dir, { recursive: true, force: true });
  }
}
