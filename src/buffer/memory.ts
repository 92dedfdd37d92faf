// A bounded in-memory queue of event batches; what a destination uses unless told `disk`.

import type { LogEvent } from '../event/log-event.js';
import type { BatchAck } from '../pipeline/acknowledgement.js';
import { eventSize, type EventBuffer, type WhenFull } from './types.js';

export class MemoryBuffer implements EventBuffer {
  readonly kind = 'memory' as const;
  private readonly queue: LogEvent[][] = [];
  private head = 0; // index into queue[0] of the first unsent event
  private taken: LogEvent[] | null = null;
  private takenBytes = 0;
  events = 0;
  bytes = 0;
  full = false;
  onReadable: () => void = () => {};
  onDrain: () => void = () => {};

  constructor(private readonly maxBytes: number, readonly whenFull: WhenFull) {}

  push(events: LogEvent[], ack: BatchAck | null, canWait: boolean): boolean {
    if (this.full && (this.whenFull === 'drop_newest' || !canWait)) {
      if (ack) { ack.hold(); ack.release(false); }
      return false;
    }
    let size = 0;
    for (let i = 0; i < events.length; i++) size += eventSize(events[i]!);
    const wasEmpty = this.events === 0;
    this.queue.push(events);
    this.events += events.length;
    this.bytes += size;
    if (this.bytes >= this.maxBytes) this.full = true;
    // Memory is as durable as this buffer gets: the batch is taken as soon as it is queued.
    if (ack) { ack.hold(); ack.release(true); }
    if (wasEmpty) this.onReadable();
    return true;
  }

  take(max: number): LogEvent[] | null {
    if (this.taken !== null) throw new Error('MemoryBuffer.take before commit');
    if (this.queue.length === 0) return null;
    const first = this.queue[0]!;
    let out: LogEvent[];
    if (this.head === 0 && first.length <= max && (this.queue.length === 1 || first.length + this.queue[1]!.length > max)) {
      out = first; // the common case: hand over the batch as it came, no copy
      this.queue.shift();
    } else {
      out = [];
      while (out.length < max && this.queue.length > 0) {
        const q = this.queue[0]!;
        const n = Math.min(max - out.length, q.length - this.head);
        for (let i = 0; i < n; i++) out.push(q[this.head + i]!);
        this.head += n;
        if (this.head === q.length) { this.queue.shift(); this.head = 0; }
      }
    }
    let size = 0;
    for (let i = 0; i < out.length; i++) size += eventSize(out[i]!);
    this.taken = out;
    this.takenBytes = size;
    return out;
  }

  commit(): void {
    const t = this.taken;
    if (t === null) return;
    this.taken = null;
    this.events -= t.length;
    this.bytes -= this.takenBytes;
    if (this.full && this.bytes < this.maxBytes * 0.8) {
      this.full = false;
      this.onDrain();
    }
  }

  async close(): Promise<void> {}
}
