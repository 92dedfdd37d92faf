// Drives one destination: takes batches from its buffer, sends them, retries, dead-letters.

import type { EventBuffer } from '../buffer/types.js';
import type { Destination, SendResult } from '../destinations/types.js';
import type { LogEvent } from '../event/log-event.js';
import { describeError } from '../errors.js';
import { log, RateLimitedLog } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { BatchAck } from './acknowledgement.js';
import type { DeadLetterFile } from './dead-letter.js';
import { backoffDelay, type RetryPolicy } from './retry.js';

/** A batch sent and not yet settled, in take order. */
interface Slot {
  batch: LogEvent[];
  /** Its answer, held until every earlier batch is settled. */
  result: SendResult | null;
  /** It failed while an earlier batch was unsettled: sent again at once when it comes first. */
  collateral: boolean;
}

export class DestinationRunner {
  /** Batches in flight, oldest first; settled strictly from the front (the buffer commits in take order). */
  private readonly window: Slot[] = [];
  private readonly maxInFlight: number;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Nothing is sent before start(), even if the buffer already holds events (recovered or handed over). */
  private started = false;
  private idleWaiters: (() => void)[] = [];
  private readonly problems: RateLimitedLog;
  private readonly sent;
  private readonly dropped;
  /** Called when the buffer stops being full (the router resumes waiting sources). */
  onDrain: () => void = () => {};

  constructor(
    readonly name: string,
    readonly destination: Destination,
    readonly buffer: EventBuffer,
    private readonly metrics: Metrics,
    private readonly retry: RetryPolicy,
    private readonly deadLetter: DeadLetterFile,
  ) {
    this.problems = new RateLimitedLog(`destination ${name}`);
    this.sent = metrics.eventsSent.labels({ component: name });
    this.dropped = metrics.eventsDropped.labels({ component: name, reason: 'buffer_full' });
    this.maxInFlight = Math.max(1, Math.min(destination.maxInFlight ?? 1, buffer.maxTaken ?? 1));
    buffer.onReadable = () => this.pump();
    buffer.onDrain = () => this.onDrain();
  }

  /** Full under the block policy: sources that can wait should, until onDrain. */
  get blocking(): boolean {
    return this.buffer.full && this.buffer.whenFull === 'block';
  }

  /** Queues events for this destination; false (and counted) if the buffer dropped them. */
  push(events: LogEvent[], ack: BatchAck | null, canWait: boolean): boolean {
    const ok = this.buffer.push(events, ack, canWait);
    if (!ok) {
      this.dropped.inc(events.length);
      this.problems.report('warn', 'full', 'buffer full: events dropped', { buffer: this.buffer.kind, events: events.length });
    }
    return ok;
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  private pump(): void {
    if (!this.started) return;
    // While the oldest batch waits for a retry nothing new is sent: it would only queue behind it.
    while (this.retryTimer === null && this.window.length < this.maxInFlight && !this.window.some((x) => x.result?.status === 'retry')) {
      // With a batch out, the next goes only when a full one is waiting: sending what trickled
      // in would trade a few large commits for many small ones.
      if (this.window.length > 0 && this.buffer.events - this.eventsOut() < this.destination.maxBatch) break;
      const batch = this.buffer.take(this.destination.maxBatch);
      if (batch === null) break;
      const slot: Slot = { batch, result: null, collateral: false };
      this.window.push(slot);
      this.send(slot);
    }
    if (this.window.length === 0) this.wakeIdle();
  }

  private eventsOut(): number {
    let n = 0;
    for (const x of this.window) n += x.batch.length;
    return n;
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private send(slot: Slot): void {
    let called = false;
    slot.result = null;
    const done = (r: SendResult): void => {
      if (called) return;
      called = true;
      this.answered(slot, r);
    };
    try {
      this.destination.send(slot.batch, done);
    } catch (e) {
      done({ status: 'retry', error: describeError(e) });
    }
  }

  private answered(slot: Slot, r: SendResult): void {
    if (r.status === 'retry') {
      this.metrics.errors.labels({ component: this.name, stage: 'sending', error_type: 'retry' }).inc();
      this.problems.report('warn', 'retry', 'send failed; will retry', { error: r.error });
      if (this.window[0] !== slot) slot.collateral = true;
    }
    slot.result = r;
    this.settleFront();
  }

  /** Settles answered batches from the front of the window, in take order, then sends more. */
  private settleFront(): void {
    while (this.window.length > 0) {
      const head = this.window[0]!;
      const r = head.result;
      if (this.retryTimer !== null) return;
      if (r === null) break;
      if (r.status === 'retry') {
        if (head.collateral) {
          head.collateral = false;
          this.send(head);
          break;
        }
        this.scheduleRetry(head, r.retryAfterMs);
        return;
      }
      if (r.status === 'reject') {
        const rejected = r.events ?? head.batch;
        this.metrics.eventsDropped.labels({ component: this.name, reason: 'rejected' }).inc(rejected.length);
        this.problems.report('error', 'reject', 'events rejected; written to the dead-letter file', { error: r.error, events: rejected.length, file: this.deadLetter.file });
        try {
          this.deadLetter.write(rejected, r.error);
        } catch (e) {
          log('error', `destination ${this.name}`, 'cannot write the dead-letter file; will retry the batch', { error: describeError(e) });
          head.result = { status: 'retry', error: describeError(e) };
          this.scheduleRetry(head, undefined);
          return;
        }
        this.sent.inc(head.batch.length - rejected.length);
      } else {
        this.sent.inc(head.batch.length);
      }
      this.attempt = 0;
      this.window.shift();
      this.buffer.commit();
    }
    this.pump();
  }

  private scheduleRetry(slot: Slot, retryAfterMs: number | undefined): void {
    this.attempt++;
    this.metrics.retries.labels({ component: this.name }).inc();
    const delay = this.stopping ? 0 : backoffDelay(this.retry, this.attempt, retryAfterMs);
    if (this.stopping && this.attempt > 1) {
      // Shutting down and the destination is failing: leave the batches in the buffer.
      this.window.length = 0;
      this.wakeIdle();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.send(slot);
    }, delay);
  }

  /** Waits (up to timeoutMs) until the buffer is empty and nothing is in flight, then stops. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => { clearTimeout(t); resolve(); });
      if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; if (this.window[0]) this.send(this.window[0]); }
      else this.pump();
    });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.destination.stop();
    await this.buffer.close();
  }
}
