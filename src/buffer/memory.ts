// A bounded in-memory queue of event batches; what a destination uses unless told `disk`.

import type { LogEvent } from '../event/log-event.js';
import type { BatchAck } from '../pipeline/acknowledgement.js';
import { eventSize, type EventBuffer, type WhenFull } from './types.js';

/** A pushed batch whose ack is held until its last event is committed. */
interface HeldAck {
  ack: BatchAck | null;
  left: number;
}

export class MemoryBuffer implements EventBuffer {
  readonly kind = 'memory' as const;
  private readonly queue: LogEvent[][] = [];
  /** One entry per pushed batch, in push order, while any ack is held until delivery. */
  private held: HeldAck[] = [];
  private heldHead = 0;
  private heldAcks = 0;
  private head = 0; // index into queue[0] of the first unsent event
  /** Batches taken and not yet committed, oldest first, with their sizes. */
  private taken: { events: LogEvent[]; bytes: number }[] = [];
  readonly maxTaken = 8;
  events = 0;
  bytes = 0;
  full = false;
  onReadable: () => void = () => {};
  onDrain: () => void = () => {};

  /**
   * `ackOnDelivery`: the destination is durable itself (the store commits before `ok`), so
   * every ack is held until delivery, which is what makes it durable.
   */
  constructor(private readonly maxBytes: number, readonly whenFull: WhenFull, private readonly ackOnDelivery = false) {}

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
    if (ack !== null && (this.ackOnDelivery || ack.untilDelivered)) {
      ack.hold();
      // Events queued before tracking began are delivered first: one entry stands for them.
      const before = this.events - events.length;
      if (this.heldAcks === 0 && this.held.length === 0 && before > 0) this.held.push({ ack: null, left: before });
      this.held.push({ ack, left: events.length });
      this.heldAcks++;
    } else {
      if (this.heldAcks > 0) this.held.push({ ack: null, left: events.length });
      // Memory is as durable as this buffer gets: the batch is taken as soon as it is queued.
      if (ack) { ack.hold(); ack.release(true); }
    }
    // While batches are out, the runner may want another one (a destination that takes several).
    if (wasEmpty || this.taken.length > 0) this.onReadable();
    return true;
  }

  take(max: number): LogEvent[] | null {
    if (this.taken.length >= this.maxTaken) throw new Error(`MemoryBuffer.take with ${this.taken.length} batches taken and not committed`);
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
    this.taken.push({ events: out, bytes: size });
    return out;
  }

  commit(): void {
    const t = this.taken.shift();
    if (t === undefined) return;
    this.events -= t.events.length;
    this.bytes -= t.bytes;
    if (this.heldAcks > 0) this.releaseDelivered(t.events.length);
    if (this.full && this.bytes < this.maxBytes * 0.8) {
      this.full = false;
      this.onDrain();
    }
  }

  /** Puts the events of every uncommitted take() back at the front, in order (a reload hands them on). */
  untake(): void {
    if (this.taken.length === 0) return;
    if (this.head > 0) {
      this.queue[0] = this.queue[0]!.slice(this.head);
      this.head = 0;
    }
    this.queue.unshift(...this.taken.map((t) => t.events));
    this.taken = [];
  }

  /**
   * Moves every queued event, with the acks held for them, to an empty buffer: a destination
   * replaced by a reload keeps what it held. Nothing may be taken.
   */
  moveTo(target: MemoryBuffer): void {
    if (this.taken.length > 0) throw new Error('MemoryBuffer.moveTo while a batch is taken');
    if (target.events !== 0 || target.heldAcks !== 0) throw new Error('MemoryBuffer.moveTo into a buffer that is not empty');
    if (this.head > 0) this.queue[0] = this.queue[0]!.slice(this.head);
    target.queue.push(...this.queue);
    target.events = this.events;
    target.bytes = this.bytes;
    target.held = this.held.slice(this.heldHead);
    target.heldAcks = this.heldAcks;
    target.full = target.bytes >= target.maxBytes;
    this.queue.length = 0;
    this.head = this.events = this.bytes = this.heldAcks = this.heldHead = 0;
    this.held = [];
    this.full = false;
    if (target.events > 0) target.onReadable();
  }

  private releaseDelivered(count: number): void {
    let n = count;
    const held = this.held;
    while (n > 0 && this.heldHead < held.length) {
      const h = held[this.heldHead]!;
      const k = Math.min(n, h.left);
      h.left -= k;
      n -= k;
      if (h.left > 0) break;
      this.heldHead++;
      if (h.ack !== null) { this.heldAcks--; h.ack.release(true); }
    }
    if (this.heldAcks === 0) { this.held = []; this.heldHead = 0; }
    else if (this.heldHead > 1024) { this.held = held.slice(this.heldHead); this.heldHead = 0; }
  }

  async close(): Promise<void> {}
}
