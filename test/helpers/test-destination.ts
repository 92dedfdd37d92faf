// Destinations for tests: one that records, one that is slow, one that fails on demand.

import type { Destination, SendResult } from '../../src/destinations/types.js';
import type { LogEvent } from '../../src/event/log-event.js';

export class RecordingDestination implements Destination {
  readonly received: LogEvent[] = [];
  batches = 0;
  /** Result to give for the next sends (default ok); a function may decide per batch. */
  next: SendResult | ((events: LogEvent[]) => SendResult) = { status: 'ok' };
  /** When set, send() waits for release() before answering. */
  holding = false;
  private held: (() => void)[] = [];

  constructor(readonly maxBatch = 1000) {}

  async start(): Promise<void> {}

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    const answer = () => {
      const r = typeof this.next === 'function' ? this.next(events) : this.next;
      if (r.status === 'ok') { this.received.push(...events); this.batches++; }
      done(r);
    };
    if (this.holding) this.held.push(answer);
    else answer();
  }

  /** Answers every held send. */
  release(): void {
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  get heldCount(): number {
    return this.held.length;
  }

  async stop(): Promise<void> {
    this.holding = false;
    this.release();
  }
}
