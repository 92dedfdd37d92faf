// The contract between a destination's runner and its buffer (memory or disk).

import type { LogEvent } from '../event/log-event.js';
import type { BatchAck } from '../pipeline/acknowledgement.js';

export type WhenFull = 'block' | 'drop_newest';

export interface EventBuffer {
  readonly kind: 'memory' | 'disk';
  /**
   * Adds events. Under `block`, a source that can wait (TCP) is always accepted and is
   * paused by the router while `full`; a source that cannot (UDP) gets false when full.
   * Under `drop_newest`, false when full. The caller counts dropped events.
   * The buffer holds `ack` until the events are stored (memory: at once; disk: written).
   */
  push(events: LogEvent[], ack: BatchAck | null, canWait: boolean): boolean;
  /** Up to `max` events ready to send, or null if none is ready now (see onReadable). */
  take(max: number): LogEvent[] | null;
  /** The events of the oldest take() not yet committed left for good (delivered or dead-lettered). */
  commit(): void;
  /**
   * How many takes may be outstanding before a commit (absent: 1). The runner keeps up to this
   * many batches in flight for a destination that wants more than one; commits come in take order.
   */
  readonly maxTaken?: number;
  /** Over the configured limit. */
  readonly full: boolean;
  /** What a full buffer does: block (sources that can wait are paused) or drop_newest. */
  readonly whenFull: WhenFull;
  readonly events: number;
  readonly bytes: number;
  /** Called when events become ready after take() returned null. */
  onReadable: () => void;
  /** Called when the buffer stops being full. */
  onDrain: () => void;
  close(): Promise<void>;
}

/**
 * In-memory size of an event, for byte limits: its bytes plus what V8 spends on the event
 * object, its share of the chunk it arrived in, and decoded values (measured on Node 20).
 */
export function eventSize(ev: LogEvent): number {
  return ev.end - ev.start + (ev.d === null ? 320 : 512);
}
