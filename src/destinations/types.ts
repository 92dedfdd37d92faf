// The contract every destination implements; the framework owns buffering, retries and acks.

import type { LogEvent } from '../event/log-event.js';
import type { Metrics } from '../metrics/registry.js';
import type { StoreReader } from '../store/types.js';

/** Fluent Bit's FLB_OK / FLB_RETRY / FLB_ERROR: what became of one batch. */
export type SendResult =
  | { status: 'ok' }
  /** Temporary failure: the same batch is sent again after a backoff (or retryAfterMs). */
  | { status: 'retry'; error: string; retryAfterMs?: number }
  /**
   * Permanent rejection: `events` (default: the whole batch) go to the dead-letter file;
   * the rest of the batch counts as delivered.
   */
  | { status: 'reject'; error: string; events?: LogEvent[] };

export interface Destination {
  /** Largest batch this destination wants in one send. */
  readonly maxBatch: number;
  /**
   * Batches it may be sent before the first is answered (absent: 1), when its buffer allows
   * as many. Answers are taken in send order: a batch counts as delivered only once every
   * earlier one did, so acknowledgements keep the order of the buffer.
   */
  readonly maxInFlight?: number;
  /** Opens what must be open before the first send (may fail: the config is wrong). */
  start(): Promise<void>;
  /** Sends one batch and calls `done` exactly once; never throws. */
  send(events: LogEvent[], done: (result: SendResult) => void): void;
  /** Flushes and closes. */
  stop(): Promise<void>;
  /** Closes files so the next write opens them afresh (SIGHUP after log rotation). */
  reopen?(): Promise<void>;
  /** A store destination: a reader over what it stored, for the API and UI. */
  openReader?(): StoreReader;
}

export interface DestinationContext {
  name: string;
  metrics: Metrics;
  /** Directory for state (dead letters, disk buffers), from the config's data_dir. */
  dataDir: string;
}
