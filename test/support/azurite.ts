/**
 * Microsoft's Azurite blob emulator (npm `azurite`) as a child process for tests: in-memory,
 * loose mode, on 127.0.0.1 and a port the OS picks. Stopped (or killed) by its PID.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export class Azurite {
  private constructor(
    private readonly child: ChildProcess,
    readonly blobEndpoint: string,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** Connection string for this instance (account name/key of the emulator). */
  get connectionString(): string {
    return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${this.blobEndpoint};`;
  }

  static async start(): Promise<Azurite> {
    const main = path.join(realpathSync(path.join(ROOT, "node_modules/azurite")), "dist/src/blob/main.js");
    const child = spawn(
      process.execPath,
      [
        main,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--loose",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`azurite did not start in 30 s:\n${output}`)), 30_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        const m = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`azurite exited with ${code}:\n${output}`));
      });
    });
    child.stdout!.resume();
    child.stderr!.resume();
    return new Azurite(child, `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`);
  }

  /** SIGKILL: the provider vanishes mid-operation, as in a crash. */
  kill(): Promise<void> {
    return this.signal("SIGKILL");
  }

  stop(): Promise<void> {
    return this.signal("SIGTERM");
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => process.kill(this.pid, "SIGKILL"), 5_000);
      this.child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      process.kill(this.pid, sig);
    });
  }
}
