// The RabbitMQ destination: persistent, mandatory messages on a confirm channel; ok only when every one is confirmed.
//
// Events go as NDJSON messages (src/broker/wire.ts) to a durable topic exchange, routed by a
// template. Many confirms are in flight (max_in_flight); publish() returning false means the
// socket is full, and publishing waits for 'drain'. A message returned as unroutable
// (mandatory) is an error even though its confirm follows: its events go to the dead-letter
// file (or are retried, when_unroutable: retry). A batch is a job that outlives a lost
// connection: confirmed messages stay done, the runner's retry publishes the others.

import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { assertExchange, assertQueue, openAmqp, redactUrl } from '../../broker/amqp-topology.js';
import { CONFIRMED, PENDING, PublishJob, UNROUTABLE } from '../../broker/publish-job.js';
import { CONTENT_TYPE, escapeRoutingWord, EVENTS_HEADER, packMessages } from '../../broker/wire.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError } from '../../errors.js';
import { RateLimitedLog } from '../../log.js';
import { Template } from '../../template/template.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { amqpDestinationInfo, type AmqpDestinationConfig } from './config.js';

export { amqpDestinationSchema, type AmqpDestinationConfig } from './config.js';



interface Link { model: ChannelModel; ch: ConfirmChannel; alive: boolean; writable: boolean }

export class AmqpDestination implements Destination {
  readonly maxBatch: number;
  private readonly key: Template;
  private readonly problems: RateLimitedLog;
  private readonly url: string;
  private link: Link | null = null;
  private connecting: Promise<Link> | null = null;
  private job: PublishJob | null = null;
  /** message id → index in the current job, for returns (they carry the message, not its tag). */
  private readonly byId = new Map<string, number>();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: AmqpDestinationConfig, private readonly ctx: DestinationContext & { baseDir: string }) {
    this.maxBatch = cfg.batch_events;
    this.key = Template.compile(cfg.routing_key);
    this.problems = new RateLimitedLog(`destination ${ctx.name}`);
    this.url = redactUrl(cfg.url);
  }

  /** Connects when it can: a broker down at start is a retry of the first batch, not a config error. */
  async start(): Promise<void> {
    await this.connect().catch((e: unknown) => {
      this.problems.report('warn', 'connect', 'RabbitMQ not reachable yet; events wait in the buffer', { to: this.url, error: describeError(e) });
    });
  }

  private connect(): Promise<Link> {
    if (this.link?.alive) return Promise.resolve(this.link);
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      const model = await openAmqp(this.cfg.url, this.cfg.connect_timeout, this.cfg.heartbeat);
      if (this.stopped) { await model.close().catch(() => {}); throw new Error('destination stopped'); }
      let ch: ConfirmChannel;
      try {
        ch = await model.createConfirmChannel();
        await assertExchange(ch, this.cfg.exchange);
        if (this.cfg.queue) {
          await assertQueue(ch, { exchange: this.cfg.exchange, queue: this.cfg.queue, bindingKey: this.cfg.binding_key, queueType: 'quorum', deliveryLimit: 5, deadLetterExchange: `${this.cfg.exchange}.dead-letter` });
        }
      } catch (e) {
        await model.close().catch(() => {});
        throw e;
      }
      const link: Link = { model, ch, alive: true, writable: true };
      const gone = (why: string) => {
        if (!link.alive) return;
        link.alive = false;
        if (this.link === link) this.link = null;
        this.problems.report('warn', 'lost', 'RabbitMQ connection lost', { to: this.url, error: why });
        this.ctx.metrics.errors.labels({ component: this.ctx.name, stage: 'publishing', error_type: 'connection_lost' }).inc();
        const job = this.job;
        if (job !== null && job.failure === null) job.failure = `RabbitMQ connection lost: ${why}`;
        if (job) this.progress(job);
      };
      model.on('error', (e: Error) => gone(e.message));
      model.on('close', () => gone('connection closed'));
      ch.on('error', (e: Error) => gone(e.message));
      ch.on('close', () => gone('channel closed'));
      ch.on('drain', () => { link.writable = true; if (this.job) this.pump(this.job); });
      ch.on('return', (m: Message) => this.returned(m));
      this.link = link;
      this.problems.report('info', 'connected', 'connected to RabbitMQ', { to: this.url, exchange: this.cfg.exchange });
      return link;
    })().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    if (this.stopped) { done({ status: 'retry', error: 'destination is stopping' }); return; }
    let job = this.job;
    if (job === null || job.batch !== events) {
      const packed = packMessages(events, this.key, escapeRoutingWord, this.cfg.events_per_message, this.cfg.max_message_bytes);
      job = this.job = new PublishJob(events, packed.messages, packed.oversize);
      this.byId.clear();
      packed.messages.forEach((m, i) => this.byId.set(m.id, i));
    }
    job.done = done;
    job.failure = null;
    job.next = 0;
    if (job.remaining === 0) { this.complete(job); return; }
    this.armTimer(job);
    this.connect().then(() => this.pump(job), (e: unknown) => {
      this.ctx.metrics.errors.labels({ component: this.ctx.name, stage: 'connecting', error_type: 'unavailable' }).inc();
      this.fail(job, `RabbitMQ ${this.url}: ${describeError(e)}`);
    });
  }

  /** Confirms that never come (a blocked or wedged broker) must not hold the batch for ever. */
  private armTimer(job: PublishJob): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.job !== job || job.done === null) return;
      this.ctx.metrics.errors.labels({ component: this.ctx.name, stage: 'publishing', error_type: 'confirm_timeout' }).inc();
      const link = this.link;
      job.failure ??= `no publisher confirm within ${this.cfg.confirm_timeout} ms`;
      if (link) {
        // Late confirms of this channel are ignored from now on; the batch goes again on a new one.
        link.alive = false;
        if (this.link === link) this.link = null;
        void link.model.close().catch(() => {});
      }
      this.fail(job, job.failure);
    }, this.cfg.confirm_timeout);
    this.timer.unref();
  }

  private pump(job: PublishJob): void {
    const link = this.link;
    if (job.done === null || this.job !== job || job.failure !== null) return;
    if (link === null || !link.alive) { job.failure ??= 'RabbitMQ connection lost'; this.progress(job); return; }
    const n = job.messages.length;
    while (link.writable && job.inFlight < this.cfg.max_in_flight && job.next < n) {
      const i = job.next++;
      if (job.state[i] !== PENDING) continue;
      const m = job.messages[i]!;
      job.inFlight++;
      const headers: Record<string, unknown> = { [EVENTS_HEADER]: m.events.length, host: m.host, source: m.events[0]!.source.name };
      if (m.severity !== null) headers.severity = m.severity;
      let ok: boolean;
      try {
        ok = link.ch.publish(this.cfg.exchange, m.key, m.payload, {
          persistent: true, mandatory: true, messageId: m.id, contentType: CONTENT_TYPE, timestamp: Math.floor(Date.now() / 1000), headers,
        }, (err: unknown) => { if (link.alive) this.confirmed(job, i, err); });
      } catch (e) {
        job.inFlight--;
        job.failure = `publish failed: ${describeError(e)}`;
        this.progress(job);
        return;
      }
      if (!ok) link.writable = false;
    }
  }

  private returned(m: Message): void {
    const job = this.job;
    const id = m.properties.messageId as string | undefined;
    const i = id !== undefined ? this.byId.get(id) : undefined;
    if (job === null || i === undefined) return;
    this.ctx.metrics.errors.labels({ component: this.ctx.name, stage: 'publishing', error_type: 'unroutable' }).inc();
    this.problems.report('warn', 'unroutable', 'message returned as unroutable: no queue is bound for its routing key', {
      exchange: this.cfg.exchange, routing_key: m.fields.routingKey, reply: `${(m.fields as unknown as { replyCode?: number }).replyCode} ${(m.fields as unknown as { replyText?: string }).replyText}`,
    });
    if (job.state[i] === PENDING) job.state[i] = UNROUTABLE;
  }

  private confirmed(job: PublishJob, i: number, err: unknown): void {
    job.inFlight--;
    if (err) {
      this.ctx.metrics.errors.labels({ component: this.ctx.name, stage: 'publishing', error_type: 'nack' }).inc();
      if (job.state[i] === UNROUTABLE) job.state[i] = PENDING;
      job.failure ??= `RabbitMQ did not confirm a message: ${describeError(err)}`;
    } else if (job.state[i] === UNROUTABLE && this.cfg.when_unroutable === 'retry') {
      job.state[i] = PENDING;
      job.failure ??= `message for routing key ${job.messages[i]!.key} is unroutable (no queue bound)`;
    } else if (job.state[i] !== CONFIRMED) {
      if (job.state[i] === PENDING) job.state[i] = CONFIRMED;
      job.remaining--;
    }
    this.progress(job);
  }

  private progress(job: PublishJob): void {
    if (this.job !== job || job.done === null) return;
    if (job.remaining === 0) { this.complete(job); return; }
    if (job.failure !== null) {
      if (job.inFlight === 0 || !this.link?.alive) this.fail(job, job.failure);
      return;
    }
    this.pump(job);
  }

  private complete(job: PublishJob): void {
    const done = job.done;
    if (done === null) return;
    job.done = null;
    clearTimeout(this.timer);
    this.job = null;
    this.byId.clear();
    const rejected: LogEvent[] = [...job.oversize];
    for (let i = 0; i < job.messages.length; i++) if (job.state[i] === UNROUTABLE) rejected.push(...job.messages[i]!.events);
    if (rejected.length === 0) { done({ status: 'ok' }); return; }
    const parts: string[] = [];
    if (job.oversize.length > 0) parts.push(`${job.oversize.length} event(s) larger than max_message_bytes ${this.cfg.max_message_bytes}`);
    if (rejected.length > job.oversize.length) parts.push(`${rejected.length - job.oversize.length} event(s) unroutable on exchange ${this.cfg.exchange}`);
    done({ status: 'reject', error: parts.join('; '), events: rejected });
  }

  private fail(job: PublishJob, reason: string): void {
    const done = job.done;
    if (done === null) return;
    job.done = null;
    clearTimeout(this.timer);
    // Confirms of a lost channel never come: what was in flight is published again.
    if (!this.link?.alive) job.inFlight = 0;
    this.problems.report('warn', 'retry', 'RabbitMQ publish failed; the batch is retried', { error: reason, unconfirmed: job.remaining });
    done({ status: 'retry', error: reason });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.job) this.job.done = null;
    await this.connecting?.catch(() => {});
    const link = this.link;
    this.link = null;
    if (link) {
      link.alive = false;
      await link.ch.waitForConfirms().catch(() => {});
      await link.model.close().catch(() => {});
    }
  }
}

export const amqpDestinationKind: DestinationKind = {
  ...amqpDestinationInfo,
  build: (config, ctx) => new AmqpDestination(config as AmqpDestinationConfig, ctx),
};
