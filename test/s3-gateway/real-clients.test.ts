/**
 * Real S3 clients (aws-cli v1/v2, rclone, s3cmd) against a real `enigma serve` process: the same
 * suite as packages/s3/src/real-clients.test.ts, where it runs over the in-memory double. Includes
 * a 64 MiB multipart upload and download compared byte for byte, sync round trips and rclone check.
 * What was stored is checked through S3 (the process owns its manifest). A missing client binary
 * skips its test with a printed reason.
 */
import { realClientsSuite } from "../../packages/s3/src/testing/suites/real-clients.js";
import {
  SERVE_ACCESS_KEY,
  SERVE_REGION,
  SERVE_SECRET_KEY,
  s3Probe,
  serveClient,
  startServe,
} from "../support/serve.js";

realClientsSuite(async () => {
  // 1 MiB chunks: the 64 MiB object spans many chunks without paying a fsync per 64 KiB.
  const serve = await startServe({ chunkSize: "1MiB" });
  const client = serveClient(serve);
  return {
    url: serve.s3Url,
    accessKeyId: SERVE_ACCESS_KEY,
    secretAccessKey: SERVE_SECRET_KEY,
    region: SERVE_REGION,
    probe: s3Probe(client),
    async close() {
      client.destroy();
      const exit = await serve.stop();
      // Every client request must have been answered without an internal error.
      if (/s3 internal error/.test(exit.stderr))
        throw new Error(`enigma serve logged internal errors:\n${exit.stderr}`);
      if (exit.code !== 0)
        throw new Error(`enigma serve exited ${exit.code ?? exit.signal}:\n${exit.stderr}`);
    },
  };
}, "s3-gateway real-clients");
