/**
 * Hash worker entry: runs MD5 lanes only (see Md5Lanes). A stream's whole-body MD5 is as costly
 * as hashing and sealing its chunks together (~450 MB/s here, and it cannot be split), so on a
 * seal worker it made that worker the bottleneck of a gateway PUT; on its own thread it runs
 * beside the sealing. Loads nothing but node:crypto: an idle hash worker is a bare isolate.
 */
import { parentPort } from "node:worker_threads";
import { isLaneMessage, Md5Lanes } from "./md5-lanes.js";
import type { FromWorker, ToWorker } from "./worker-protocol.js";

const port = parentPort;
if (port === null) throw new Error("hash-worker must run in a worker thread");
const lanes = new Md5Lanes();

port.on("message", (msg: ToWorker) => {
  try {
    if (!isLaneMessage(msg)) throw new Error(`hash worker: unexpected ${msg.kind} message`);
    const reply = lanes.handle(msg);
    if (reply !== null) port.postMessage(reply satisfies FromWorker);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (msg.kind !== "md5-open")
      port.postMessage({ kind: "failed", id: msg.id, message } satisfies FromWorker);
  }
});
