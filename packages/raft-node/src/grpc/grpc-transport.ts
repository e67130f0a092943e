/**
 * Raft over gRPC (proto/raft.proto). Outgoing: one long-lived client stream per peer; each ready
 * round's messages for that peer go out as signed batches of at most `MAX_BATCH_BYTES` (so many
 * messages share one frame — grpc-js costs ~0.2 ms of CPU per call — order is kept, and no batch
 * waits for the previous one's round trip). While the stream is blocked by flow control, messages
 * queue up to a bound and the oldest are dropped (Raft retransmits). A broken stream is reopened
 * after an exponential backoff, during which messages for that peer are dropped and the peer is
 * reported unreachable to the core. Snapshots stream separately, in 1 MiB chunks.
 *
 * A dead peer is told apart from a partitioned one: when a stream breaks, it is reopened once the
 * backoff has passed even if there is nothing to send (a follower sends to its leader only in
 * answer to it, so it would never learn otherwise), and a reopen that is *refused* (ECONNREFUSED:
 * nothing listens at the address, as when the process was killed) is reported as `peerDown`.
 * A partition shows no refusal — the stream stalls until keepalive fails, or a connect times out —
 * so it goes through the core's full election timeout and pre-vote as before.
 *
 * Incoming: every batch must carry a valid cluster signature (auth.ts) and be addressed to this
 * node. Received snapshots land in a temp file in the snapshots directory, are verified (size,
 * SHA-256) and fsynced before the node sees them.
 */
import { createHash } from "node:crypto";
import { createReadStream, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { Message, NodeId } from "@enigma/raft";
import * as grpc from "@grpc/grpc-js";
import type { NodeLogger } from "../raft-node.js";
import { decodeDescriptor } from "../snapshot-files.js";
import type { Transport, TransportHandler } from "../transport.js";
import type { ClusterAuth } from "./auth.js";
import { type ClientCache, MAX_BATCH_BYTES, type RawClient } from "./channel.js";
import {
  decodeBatch,
  decodeSignedBatch,
  decodeSnapshotAck,
  decodeSnapshotChunk,
  decodeSnapshotHeader,
  encodeBatches,
  encodeSignedBatch,
  encodeSnapshotAck,
  encodeSnapshotChunk,
  encodeSnapshotHeader,
} from "./raft-codec.js";
import { RAFT_INSTALL_SNAPSHOT_PATH, RAFT_STREAM_PATH } from "./services.js";

export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Messages queued for one blocked peer beyond which the oldest are dropped. */
const MAX_QUEUED_MESSAGES = 4096;
const INITIAL_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;
const EMPTY = Buffer.alloc(0);

export interface GrpcTransportOptions {
  readonly selfId: NodeId;
  readonly auth: ClusterAuth;
  readonly clients: ClientCache;
  /** Where received snapshot images are written before the node takes them. */
  readonly snapshotDir: string;
  /** Deadline of a whole snapshot transfer. */
  readonly snapshotTimeoutMs?: number;
  readonly logger: NodeLogger;
}

interface PeerLink {
  addr: string;
  stream: grpc.ClientWritableStream<Buffer> | undefined;
  /** Messages waiting for the stream to drain. */
  queue: Message[];
  blocked: boolean;
  backoffMs: number;
  backoffUntil: number;
  failures: number;
}

export class GrpcTransport implements Transport {
  readonly #o: GrpcTransportOptions;
  readonly #peers = new Map<NodeId, PeerLink>();
  #handler: TransportHandler | undefined;
  #stopped = false;
  #tmpSeq = 0;

  constructor(opts: GrpcTransportOptions) {
    this.#o = opts;
  }

  // ---- Transport ----

  async start(handler: TransportHandler): Promise<void> {
    this.#handler = handler;
  }

  setPeer(peer: NodeId, addr: string): void {
    const link = this.#peers.get(peer);
    if (link === undefined) {
      this.#peers.set(peer, {
        addr,
        stream: undefined,
        queue: [],
        blocked: false,
        backoffMs: 0,
        backoffUntil: 0,
        failures: 0,
      });
    } else if (link.addr !== addr) {
      this.#close(link);
      link.addr = addr;
      link.backoffUntil = 0;
    }
  }

  removePeer(peer: NodeId): void {
    const link = this.#peers.get(peer);
    if (link !== undefined) this.#close(link);
    this.#peers.delete(peer);
  }

  send(messages: readonly Message[]): void {
    if (this.#stopped) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      const list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, [m]);
      else list.push(m);
    }
    const now = Date.now();
    for (const [id, msgs] of byPeer) {
      const link = this.#peers.get(id);
      if (link === undefined) {
        this.#handler?.unreachable(id);
        continue;
      }
      if (now < link.backoffUntil) continue;
      if (link.blocked) {
        for (const m of msgs) link.queue.push(m);
        if (link.queue.length > MAX_QUEUED_MESSAGES)
          link.queue.splice(0, link.queue.length - MAX_QUEUED_MESSAGES);
        continue;
      }
      this.#write(id, link, msgs);
    }
  }

  async sendSnapshot(message: Message, path: string): Promise<boolean> {
    const link = this.#peers.get(message.to);
    if (link === undefined || this.#stopped) return false;
    try {
      const desc = decodeDescriptor(message.snapshot!.data);
      const header = encodeSnapshotHeader({
        message,
        sizeBytes: desc.sizeBytes,
        sha256: Buffer.from(desc.sha256, "hex"),
      });
      const mac = this.#o.auth.sign(RAFT_INSTALL_SNAPSHOT_PATH, header);
      const client = this.#o.clients.raft(link.addr);
      const ack = await streamSnapshot(
        client,
        header,
        Buffer.from(mac, "hex"),
        path,
        this.#o.snapshotTimeoutMs ?? 10 * 60_000,
      );
      if (!ack.accepted) this.#o.logger.warn(`snapshot to ${message.to} refused: ${ack.error}`);
      return ack.accepted;
    } catch (err) {
      this.#o.logger.warn(`snapshot to ${message.to} failed: ${(err as Error).message}`);
      return false;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const link of this.#peers.values()) this.#close(link);
  }

  // ---- outgoing ----

  #write(id: NodeId, link: PeerLink, msgs: readonly Message[]): void {
    const stream = link.stream ?? this.#open(id, link);
    for (const batch of encodeBatches(this.#o.selfId, id, msgs, MAX_BATCH_BYTES)) {
      const mac = this.#o.auth.enabled
        ? Buffer.from(this.#o.auth.sign(RAFT_STREAM_PATH, batch), "hex")
        : EMPTY;
      if (!stream.write(toBuffer(encodeSignedBatch(batch, mac)))) link.blocked = true;
    }
  }

  #open(id: NodeId, link: PeerLink): grpc.ClientWritableStream<Buffer> {
    const client = this.#o.clients.raft(link.addr);
    const fn = client.stream as (
      md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
    ) => grpc.ClientWritableStream<Buffer>;
    const stream = fn.call(client, new grpc.Metadata(), {}, (err) => {
      if (link.stream !== stream) return;
      this.#failed(id, link, err ?? new Error("stream closed by the peer"));
    });
    stream.on("drain", () => {
      if (link.stream !== stream) return;
      link.blocked = false;
      const queued = link.queue;
      link.queue = [];
      if (queued.length > 0) this.#write(id, link, queued);
    });
    link.stream = stream;
    link.blocked = false;
    return stream;
  }

  #failed(id: NodeId, link: PeerLink, err: Error): void {
    link.stream = undefined;
    link.blocked = false;
    link.queue = [];
    if (this.#stopped) return;
    link.backoffMs = Math.min(MAX_BACKOFF_MS, link.backoffMs === 0 ? INITIAL_BACKOFF_MS : link.backoffMs * 2);
    link.backoffUntil = Date.now() + link.backoffMs;
    if (link.failures++ === 0) {
      this.#o.logger.warn(
        `raft peer ${id} at ${link.addr} unreachable: ${(err as grpc.ServiceError).details ?? err.message}`,
      );
    }
    this.#handler?.unreachable(id);
    if (connectionRefused(err)) {
      this.#o.logger.debug(`raft peer ${id} at ${link.addr} refuses connections: reported down`);
      this.#handler?.peerDown(id);
    } else {
      // Broken, not refused: find out now whether the process is still there (see the top).
      const reopen = setTimeout(() => {
        if (this.#stopped || this.#peers.get(id) !== link || link.stream !== undefined) return;
        this.#open(id, link);
      }, link.backoffMs);
      reopen.unref();
    }
    // Reset the failure count once a reopened stream has carried traffic for a while.
    const probe = setTimeout(() => {
      if (link.stream !== undefined && link.failures > 0) {
        this.#o.logger.info(`raft peer ${id} at ${link.addr} reachable again`);
        link.failures = 0;
        link.backoffMs = 0;
      }
    }, link.backoffMs + 2000);
    probe.unref();
  }

  #close(link: PeerLink): void {
    const s = link.stream;
    link.stream = undefined;
    link.queue = [];
    link.blocked = false;
    s?.end();
  }

  // ---- incoming (the Raft service) ----

  serviceImpl(): grpc.UntypedServiceImplementation {
    return {
      stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        this.#onStream(call, callback),
      installSnapshot: (
        call: grpc.ServerReadableStream<Buffer, Buffer>,
        callback: grpc.sendUnaryData<Buffer>,
      ) => this.#onInstallSnapshot(call, callback),
    };
  }

  #onStream(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    let done = false;
    const refuse = (code: grpc.status, details: string) => {
      if (done) return;
      done = true;
      callback({ code, details });
    };
    call.on("data", (buf: Buffer) => {
      if (done) return;
      let batch: ReturnType<typeof decodeBatch>;
      try {
        const signed = decodeSignedBatch(buf);
        const mac = signed.mac.length === 0 ? undefined : Buffer.from(signed.mac).toString("hex");
        if (!this.#o.auth.verify(RAFT_STREAM_PATH, signed.batch, mac)) {
          refuse(grpc.status.UNAUTHENTICATED, "bad or missing cluster signature");
          return;
        }
        batch = decodeBatch(signed.batch);
      } catch (err) {
        refuse(grpc.status.INVALID_ARGUMENT, (err as Error).message);
        return;
      }
      if (
        batch.to !== this.#o.selfId ||
        batch.messages.some((m) => m.to !== batch.to || m.from !== batch.from)
      ) {
        refuse(grpc.status.INVALID_ARGUMENT, `batch is not addressed to node ${this.#o.selfId}`);
        return;
      }
      if (batch.messages.some((m) => m.type === "Snap")) {
        refuse(grpc.status.INVALID_ARGUMENT, "snapshots go through InstallSnapshot");
        return;
      }
      if (!this.#stopped) this.#handler?.receive(batch.messages);
    });
    call.on("end", () => {
      if (done) return;
      done = true;
      callback(null, EMPTY);
    });
    call.on("error", () => {
      done = true;
    });
  }

  #onInstallSnapshot(
    call: grpc.ServerReadableStream<Buffer, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
  ): void {
    const tmp = join(this.#o.snapshotDir, `incoming-${process.pid}-${++this.#tmpSeq}.tmp`);
    let header: ReturnType<typeof decodeSnapshotHeader> | undefined;
    let file: Awaited<ReturnType<typeof open>> | undefined;
    const hash = createHash("sha256");
    let received = 0;
    let done = false;
    const fail = (code: grpc.status, details: string) => {
      if (done) return;
      done = true;
      void file?.close().catch(() => {});
      rmSync(tmp, { force: true });
      if (code === grpc.status.OK)
        callback(null, toBuffer(encodeSnapshotAck({ accepted: false, error: details })));
      else callback({ code, details });
    };
    let chain = Promise.resolve();
    call.on("data", (buf: Buffer) => {
      call.pause();
      chain = chain.then(async () => {
        if (done) return;
        const chunk = decodeSnapshotChunk(buf);
        if (header === undefined) {
          if (chunk.header === undefined)
            return fail(grpc.status.INVALID_ARGUMENT, "first chunk has no header");
          const mac = Buffer.from(chunk.headerMac).toString("hex");
          if (!this.#o.auth.verify(RAFT_INSTALL_SNAPSHOT_PATH, chunk.header, mac)) {
            return fail(grpc.status.UNAUTHENTICATED, "bad or missing cluster signature");
          }
          header = decodeSnapshotHeader(chunk.header);
          const m = header.message;
          if (m.type !== "Snap" || m.to !== this.#o.selfId || m.snapshot === undefined) {
            return fail(grpc.status.INVALID_ARGUMENT, `not a snapshot for node ${this.#o.selfId}`);
          }
          file = await open(tmp, "wx");
        }
        if (chunk.data.length > 0) {
          received += chunk.data.length;
          if (received > header.sizeBytes)
            return fail(grpc.status.INVALID_ARGUMENT, "snapshot larger than announced");
          hash.update(chunk.data);
          await file!.write(chunk.data);
        }
      });
      chain.then(
        () => call.resume(),
        (err: unknown) => fail(grpc.status.INTERNAL, (err as Error).message),
      );
    });
    call.on("end", () => {
      chain = chain.then(async () => {
        if (done) return;
        if (header === undefined || file === undefined)
          return fail(grpc.status.INVALID_ARGUMENT, "empty stream");
        await file.sync();
        await file.close();
        file = undefined;
        const digest = hash.digest();
        if (received !== header.sizeBytes || !digest.equals(Buffer.from(header.sha256))) {
          return fail(grpc.status.OK, "snapshot size or SHA-256 mismatch");
        }
        done = true;
        callback(null, toBuffer(encodeSnapshotAck({ accepted: true, error: "" })));
        if (this.#stopped || this.#handler === undefined) {
          rmSync(tmp, { force: true });
          return;
        }
        this.#handler.receiveSnapshot(header.message, tmp);
      });
      chain.catch((err: unknown) => fail(grpc.status.INTERNAL, (err as Error).message));
    });
    call.on("error", () => fail(grpc.status.CANCELLED, "stream broken"));
  }
}

/**
 * Whether a failed call means nothing listens at the peer's address: grpc-js reports the socket's
 * ECONNREFUSED in the details of an UNAVAILABLE status ("No connection established. Last error:
 * Error: connect ECONNREFUSED …"). Timeouts, resets and closed streams are not refusals.
 */
export function connectionRefused(err: Error): boolean {
  const e = err as Partial<grpc.ServiceError>;
  if (e.code !== grpc.status.UNAVAILABLE) return false;
  return /ECONNREFUSED|connection refused/i.test(`${e.details ?? ""} ${err.message}`);
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

async function streamSnapshot(
  client: RawClient,
  header: Uint8Array,
  headerMac: Uint8Array,
  path: string,
  timeoutMs: number,
): Promise<{ accepted: boolean; error: string }> {
  let settle!: (v: { accepted: boolean; error: string }) => void;
  let fail!: (e: unknown) => void;
  const answered = new Promise<{ accepted: boolean; error: string }>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const fn = client.installSnapshot as (
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ) => grpc.ClientWritableStream<Buffer>;
  const call = fn.call(client, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
    if (err !== null) fail(err);
    else settle(decodeSnapshotAck(res ?? EMPTY));
  });
  let finished = false;
  const over = answered.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  const write = async (b: Uint8Array) => {
    // The receiver may answer (refuse) before the end: stop writing then.
    if (finished) return;
    if (!call.write(toBuffer(b))) {
      await Promise.race([new Promise<void>((resolve) => call.once("drain", () => resolve())), over]);
    }
  };
  try {
    await write(encodeSnapshotChunk({ header, headerMac }));
    for await (const piece of createReadStream(path, { highWaterMark: SNAPSHOT_CHUNK_BYTES })) {
      if (finished) break;
      await write(encodeSnapshotChunk({ data: piece as Buffer }));
    }
    if (!finished) call.end();
  } catch (err) {
    call.cancel();
    throw err;
  }
  return answered;
}
