/** gRPC credentials, channel options and the per-address client cache shared by transport and forwarding. */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { CLUSTER_SERVICE, RAFT_SERVICE } from "./services.js";

/** The largest gRPC message accepted or sent; Raft batches are cut well below it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Raft message batches are cut at this size (grpc-js's default message limit is 4 MiB). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** PEM files for mutual TLS between nodes: every node presents `cert` and trusts `ca`. */
export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

export function readTls(files: TlsFiles): TlsMaterial {
  return {
    cert: readFileSync(files.certPath),
    key: readFileSync(files.keyPath),
    ca: readFileSync(files.caPath),
  };
}

export function serverCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  // checkClientCertificate: a client without a certificate signed by the cluster CA is refused.
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

/**
 * Checks that `tls` is usable (key matches certificate, PEM parses) before it replaces anything.
 * Throws with the TLS library's reason otherwise.
 */
export function checkTls(tls: TlsMaterial): void {
  createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca });
}

/**
 * Swaps the certificate, key and CA of server credentials made by `serverCredentials`: the gRPC
 * server applies them to every later handshake (`setSecureContext`); open connections keep theirs.
 * grpc-js keeps the hook (`updateSecureContextOptions`) protected, hence the cast.
 */
export function updateServerCredentials(creds: grpc.ServerCredentials, tls: TlsMaterial): void {
  const updatable = creds as unknown as {
    updateSecureContextOptions?: (o: { ca: Buffer; cert: Buffer[]; key: Buffer[] }) => void;
  };
  if (typeof updatable.updateSecureContextOptions !== "function") {
    throw new Error("this @grpc/grpc-js version cannot update server credentials in place");
  }
  updatable.updateSecureContextOptions({ ca: tls.ca, cert: [tls.cert], key: [tls.key] });
}

export function channelCredentials(tls: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

export function channelOptions(maxMessageBytes: number): grpc.ChannelOptions {
  return {
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
    // Reconnect fast after a peer restarts or a partition heals (grpc-js defaults go up to 120 s).
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.enable_retries": 0,
  };
}

const RaftClientCtor = grpc.makeGenericClientConstructor(RAFT_SERVICE, "Raft");
const ClusterClientCtor = grpc.makeGenericClientConstructor(CLUSTER_SERVICE, "Cluster");

export type RawClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** One channel per peer address, for the Raft and the cluster service alike. */
export class ClientCache {
  #creds: grpc.ChannelCredentials;
  readonly #options: grpc.ChannelOptions;
  readonly #raft = new Map<string, RawClient>();
  readonly #cluster = new Map<string, RawClient>();

  constructor(tls: TlsMaterial | undefined, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#creds = channelCredentials(tls);
    this.#options = channelOptions(maxMessageBytes);
  }

  raft(addr: string): RawClient {
    let c = this.#raft.get(addr);
    if (c === undefined) {
      c = new RaftClientCtor(addr, this.#creds, this.#options) as unknown as RawClient;
      this.#raft.set(addr, c);
    }
    return c;
  }

  cluster(addr: string): RawClient {
    let c = this.#cluster.get(addr);
    if (c === undefined) {
      c = new ClusterClientCtor(addr, this.#creds, this.#options) as unknown as RawClient;
      this.#cluster.set(addr, c);
    }
    return c;
  }

  /**
   * New client certificate / CA for outgoing channels: open channels are closed (their streams
   * fail and are re-opened by their users) and every later channel uses `tls`.
   */
  setTls(tls: TlsMaterial): void {
    this.#creds = channelCredentials(tls);
    this.close();
  }

  drop(addr: string): void {
    this.#raft.get(addr)?.close();
    this.#raft.delete(addr);
    this.#cluster.get(addr)?.close();
    this.#cluster.delete(addr);
  }

  close(): void {
    for (const c of this.#raft.values()) c.close();
    for (const c of this.#cluster.values()) c.close();
    this.#raft.clear();
    this.#cluster.clear();
  }
}

/** A unary call with raw bytes; resolves with the response bytes or rejects with the grpc error. */
export function unaryCall(
  client: RawClient,
  method: string,
  body: Buffer,
  metadata: grpc.Metadata,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (fn === undefined) {
      reject(new Error(`no gRPC method ${method}`));
      return;
    }
    fn.call(
      client,
      body,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null, res?: Buffer) => {
        if (err !== null) reject(err);
        else resolve(res ?? Buffer.alloc(0));
      },
    );
  });
}
