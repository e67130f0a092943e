/**
 * The npm `s3rver` fake S3 server, in-process, for quick S3 runs (the real-server proof is Ceph
 * RGW, see ceph-rgw.ts). Files under a fresh temp directory; 127.0.0.1 on an OS-picked port.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  httpServer?: Server;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

/** s3rver accepts any key pair; these are what tests sign with. */
export const S3RVER_ACCESS_KEY = "S3RVER";
export const S3RVER_SECRET_KEY = "S3RVER";

export class S3rverFake {
  private constructor(
    private readonly instance: S3rverInstance,
    private readonly dir: string,
    readonly endpoint: string,
  ) {}

  static async start(buckets: readonly string[]): Promise<S3rverFake> {
    const S3rver = createRequire(import.meta.url)("s3rver") as S3rverCtor;
    const dir = await mkdtemp(path.join(tmpdir(), "enigma-s3rver-"));
    const instance = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: dir,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    const addr = await instance.run();
    return new S3rverFake(instance, dir, `http://127.0.0.1:${addr.port}`);
  }

  async stop(): Promise<void> {
    const server = this.instance.httpServer;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
