// The contract every `sluice send` transport meets: open, write batches with backpressure, close.

import type { MessageBatch, WireFraming } from './encoder.js';
import type { SendError } from './errors.js';
import type { SendOptions } from './run.js';

export interface Transport {
  /** Resolves when batches may be written; rejects with a SLUICE_ERR_SEND_CONNECT SendError. */
  open(): Promise<void>;
  /**
   * Takes one batch (the transport may keep the buffer: it is never reused). The promise settles
   * when the next batch may be written, so a slow receiver slows the sender instead of memory
   * growing; it rejects with a SLUICE_ERR_SEND_BROKEN SendError.
   */
  write(batch: MessageBatch): Promise<void>;
  /**
   * Graceful close: resolves once everything written has reached the receiver as far as the
   * protocol can tell. With `confirmed`, only if the receiver wrote sluice's close
   * confirmation (all it read is queued) before closing; otherwise it rejects.
   */
  close(confirmed?: boolean): Promise<void>;
  /** Abandons the connection at once; pending promises reject. */
  destroy(): void;
  /** A failure noticed while no call was pending (the receiver hung up between batches). */
  readonly failure: SendError | undefined;
}

/** Where to send, parsed from the URL once for all connections. */
export interface Target {
  /** The URL as the user wrote it, for messages. */
  url: string;
  host: string;
  port: number;
  /** For unix sockets. */
  path: string;
}

/** One URL scheme: how to connect and which framings make sense on it. */
export interface TransportKind {
  readonly scheme: string;
  readonly defaultFraming: WireFraming;
  readonly framings: readonly WireFraming[];
  /** Unix sockets have a path, the rest host and port. */
  readonly addressing: 'host-port' | 'path';
  /** Checks options and reads files once per run; the result opens one connection per call. */
  prepare(target: Target, opts: SendOptions): () => Transport;
}
