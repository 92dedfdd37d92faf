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

export class DestinationRunner {
  private inFlight: LogEvent[] | null = null;
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
    if (!this.started || this.inFlight !== null || this.retryTimer !== null) return;
    const batch = this.buffer.take(this.destination.maxBatch);
    if (batch === null) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
      return;
    }
    this.inFlight = batch;
    this.send(batch);
  }

  private send(batch: LogEvent[]): void {
    let called = false;
    const done = (r: SendResult): void => {
      if (called) return;
      called = true;
      this.settle(batch, r);
    };
    try {
      this.destination.send(batch, done);
    } catch (e) {
      done({ status: 'retry', error: describeError(e) });
    }
  }

  private settle(batch: LogEvent[], r: SendResult): void {
    if (r.status === 'ok') {
      this.attempt = 0;
      this.sent.inc(batch.length);
      this.finish();
      return;
    }
    if (r.status === 'reject') {
      this.attempt = 0;
      const rejected = r.events ?? batch;
      this.metrics.eventsDropped.labels({ component: this.name, reason: 'rejected' }).inc(rejected.length);
      this.sent.inc(batch.length - rejected.length);
      this.problems.report('error', 'reject', 'events rejected; written to the dead-letter file', { error: r.error, events: rejected.length, file: this.deadLetter.file });
      try {
        this.deadLetter.write(rejected, r.error);
      } catch (e) {
        log('error', `destination ${this.name}`, 'cannot write the dead-letter file; will retry the batch', { error: describeError(e) });
        this.scheduleRetry(batch, undefined);
        return;
      }
      this.finish();
      return;
    }
    this.metrics.errors.labels({ component: this.name, stage: 'sending', error_type: 'retry' }).inc();
    this.problems.report('warn', 'retry', 'send failed; will retry', { error: r.error });
    this.scheduleRetry(batch, r.retryAfterMs);
  }

  private scheduleRetry(batch: LogEvent[], retryAfterMs: number | undefined): void {
    this.attempt++;
    this.metrics.retries.labels({ component: this.name }).inc();
    const delay = this.stopping ? 0 : backoffDelay(this.retry, this.attempt, retryAfterMs);
    if (this.stopping && this.attempt > 1) {
      // Shutting down and the destination is failing: leave the batch in the buffer.
      this.inFlight = null;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.send(batch);
    }, delay);
  }

  private finish(): void {
    this.inFlight = null;
    this.buffer.commit();
    this.pump();
  }

  /** Waits (up to timeoutMs) until the buffer is empty and nothing is in flight, then stops. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => { clearTimeout(t); resolve(); });
      if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; if (this.inFlight) this.send(this.inFlight); }
      else this.pump();
    });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.destination.stop();
    await this.buffer.close();
  }
}
