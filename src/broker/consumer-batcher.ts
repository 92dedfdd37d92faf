// What both broker sources share: messages gathered into batches, each batch dispatched with one
// BatchAck that settles only when every destination took its events durably, then each message
// acknowledged upstream — or handed back for redelivery, or dead-lettered when it cannot be read.

import fs from 'node:fs';
import path from 'node:path';
import type { LogEvent } from '../event/log-event.js';
import { BatchAck, type AckOutcome } from '../pipeline/acknowledgement.js';
import type { SourceStats } from '../sources/stats.js';
import type { SourceContext } from '../sources/types.js';
import { makeDirsSync } from '../util/make-dirs.js';
import type { MessageDecoder } from './wire.js';

/** What a source does with one of its broker's messages. */
export interface MessageOps<M> {
  payload(m: M): Buffer;
  /** Where it came from, for dead letters and logs (subject / routing key, sequence, attempts). */
  describe(m: M): Record<string, unknown>;
  ack(m: M): void;
  /** Every destination could not take it: give it back for a later redelivery. */
  retry(m: M): void;
  /** It cannot be read (or failed too often): never deliver it again. */
  poison(m: M, reason: string): void;
  /** Tells the broker the message is still being worked on (JetStream's working()). */
  working?(m: M): void;
}

interface Pending<M> { messages: M[] }

/** Dead letters of a broker source: the message as received, with why, one JSON line each. */
export class SourceDeadLetters {
  constructor(readonly file: string, private readonly source: string) {}

  write(payload: Buffer, reason: string, where: Record<string, unknown>): void {
    makeDirsSync(path.dirname(this.file));
    const text = payload.toString('utf8');
    const exact = Buffer.byteLength(text) === payload.length && !text.includes('\uFFFD');
    const line = { at: new Date().toISOString(), source: this.source, reason, ...where, ...(exact ? { payload: text } : { payload_base64: payload.toString('base64') }) };
    fs.appendFileSync(this.file, JSON.stringify(line) + '\n');
  }
}

export function sourceDeadLetterPath(ctx: SourceContext, configured: string | undefined): string {
  if (configured !== undefined) return path.resolve(ctx.baseDir, configured);
  return path.join(ctx.dataDir ?? path.resolve(ctx.baseDir, 'data'), 'dead-letter', `${ctx.name}.ndjson`);
}

export class ConsumerBatcher<M> {
  private pending: M[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Pending<M>>();
  private workingTimer: NodeJS.Timeout | null = null;
  private idle: (() => void)[] = [];
  /** Messages taken in; events dispatched; messages acknowledged (for tests and logs). */
  readonly counts = { messages: 0, events: 0, acked: 0, retried: 0, poisoned: 0 };

  constructor(
    private readonly ctx: SourceContext,
    private readonly stats: SourceStats,
    private readonly decoder: MessageDecoder,
    private readonly ops: MessageOps<M>,
    private readonly deadLetters: SourceDeadLetters,
    private readonly maxBatch: number,
    workingEveryMs: number,
  ) {
    if (ops.working && workingEveryMs > 0) {
      this.workingTimer = setInterval(() => this.keepWorking(), workingEveryMs);
      this.workingTimer.unref();
    }
  }

  /** Messages still waiting for their destinations. */
  get unsettled(): number {
    let n = this.pending.length;
    for (const p of this.inFlight) n += p.messages.length;
    return n;
  }

  add(m: M): void {
    this.pending.push(m);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      // After the messages that arrived together are in: one batch per burst.
      setImmediate(() => { this.scheduled = false; this.flush(); });
    }
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    const events: LogEvent[] = [];
    const taken: M[] = [];
    const now = Date.now();
    let bytes = 0;
    for (const m of messages) {
      const payload = this.ops.payload(m);
      bytes += payload.length;
      const d = this.decoder.decode(payload, now);
      if (!d.ok) {
        this.stats.error('decoding', 'poison_message', `message cannot be read: ${d.error}; dead-lettered`, this.ops.describe(m));
        this.deadLetter(m, payload, d.error);
        continue;
      }
      for (const ev of d.events) events.push(ev);
      taken.push(m);
    }
    this.counts.messages += messages.length;
    this.stats.bytes.inc(bytes);
    if (taken.length === 0) return;
    this.stats.received.inc(events.length);
    this.counts.events += events.length;
    const batch: Pending<M> = { messages: taken };
    this.inFlight.add(batch);
    const ack = new BatchAck((outcome) => this.settle(batch, outcome), true);
    // Back-pressure is bounded by the broker's window (prefetch / max_ack_pending): messages
    // not acknowledged are not replaced, so a blocked destination slows the consumer down.
    this.ctx.router.dispatch(this.ctx.name, events, ack, true);
  }

  private settle(batch: Pending<M>, outcome: AckOutcome): void {
    this.inFlight.delete(batch);
    if (outcome === 'delivered') {
      for (const m of batch.messages) this.ops.ack(m);
      this.counts.acked += batch.messages.length;
    } else {
      this.stats.error('dispatching', 'not_taken', 'a destination could not take the events; the messages are handed back for redelivery', { messages: batch.messages.length }, 'info');
      for (const m of batch.messages) this.ops.retry(m);
      this.counts.retried += batch.messages.length;
    }
    if (this.inFlight.size === 0 && this.pending.length === 0) this.wake();
  }

  /** Writes the message to the dead-letter file and tells the broker never to deliver it again. */
  deadLetter(m: M, payload: Buffer, reason: string): void {
    try {
      this.deadLetters.write(payload, reason, this.ops.describe(m));
    } catch (e) {
      // Not written: leave it with the broker (its own limit dead-letters it).
      this.stats.error('dead_letter', 'write_failed', `cannot write dead letter ${this.deadLetters.file}: ${(e as Error).message}`);
      this.ops.retry(m);
      return;
    }
    this.counts.poisoned++;
    this.ops.poison(m, reason);
  }

  private keepWorking(): void {
    const w = this.ops.working!;
    for (const p of this.inFlight) for (const m of p.messages) w(m);
  }

  private wake(): void {
    const list = this.idle;
    this.idle = [];
    for (const f of list) f();
  }

  /** Resolves when every message taken in was settled, or after timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    this.flush();
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.idle.push(r)),
        new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); }),
      ]);
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.workingTimer) clearInterval(this.workingTimer);
    this.workingTimer = null;
  }

  /** Forgets messages in flight (their connection is gone; the broker redelivers them). */
  forget(pred: (m: M) => boolean): void {
    for (const p of this.inFlight) p.messages = p.messages.filter((m) => !pred(m));
    this.pending = this.pending.filter((m) => !pred(m));
  }
}
