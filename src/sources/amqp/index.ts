// The RabbitMQ source: manual acks within a prefetch window, each message acked only once its events are durable.
//
// Consumers of one queue share its messages (round robin); one queue per group, all bound
// to the exchange, gives each group every message (fan-out). A message is acked when every
// destination of its log paths took its events durably (BatchAck, untilDelivered); if sluice
// dies first, RabbitMQ requeues it for another consumer or the next start (takeover). A
// message the destinations could not take is nacked and requeued; the quorum queue's
// delivery limit then dead-letters a message that keeps failing (or keeps killing its
// consumer). One that cannot be read goes to the dead-letter file and is rejected without
// requeue, to the dead-letter exchange. A delivery tag belongs to its channel: after a lost
// connection, messages of the old channel are forgotten (RabbitMQ redelivers them) and
// never acked on the new one. amqplib does not reconnect; this source does, with backoff.

import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { assertQueue, openAmqp, redactUrl } from '../../broker/amqp-topology.js';
import { ConsumerBatcher, SourceDeadLetters, sourceDeadLetterPath } from '../../broker/consumer-batcher.js';
import { MessageDecoder } from '../../broker/wire.js';
import { describeError } from '../../errors.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { amqpSourceInfo, type AmqpSourceConfig } from './config.js';

export { amqpSourceSchema, type AmqpSourceConfig } from './config.js';

const STOP_DRAIN_MS = 5_000;

interface Delivery { ch: Channel; msg: ConsumeMessage }

export class AmqpSource implements Source {
  private readonly stats: SourceStats;
  private readonly batcher: ConsumerBatcher<Delivery>;
  private readonly url: string;
  private model: ChannelModel | null = null;
  private ch: Channel | null = null;
  private consumerTag: string | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: () => void = () => {};

  constructor(private readonly cfg: AmqpSourceConfig, ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.url = redactUrl(cfg.url);
    const deadLetters = new SourceDeadLetters(sourceDeadLetterPath(ctx, cfg.dead_letter), ctx.name);
    const live = (d: Delivery): boolean => d.ch === this.ch;
    this.batcher = new ConsumerBatcher<Delivery>(ctx, this.stats, new MessageDecoder(ctx.name, 'amqp', cfg.format, cfg.max_event_bytes), {
      payload: (d) => d.msg.content,
      describe: (d) => ({
        exchange: d.msg.fields.exchange, routing_key: d.msg.fields.routingKey, message_id: d.msg.properties.messageId ?? null,
        redelivered: d.msg.fields.redelivered, deliveries: (d.msg.properties.headers?.['x-delivery-count'] as number | undefined ?? 0) + 1,
      }),
      ack: (d) => { if (live(d)) d.ch.ack(d.msg); },
      retry: (d) => { if (live(d)) d.ch.nack(d.msg, false, true); },
      poison: (d) => { if (live(d)) d.ch.nack(d.msg, false, false); },
    }, deadLetters, cfg.batch, 0);
  }

  async start(): Promise<void> {
    this.loop = this.run();
  }

  addresses(): string[] {
    return [this.url];
  }

  get counts(): ConsumerBatcher<Delivery>['counts'] {
    return this.batcher.counts;
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (!this.stopping) {
      let closed: Promise<string> | null = null;
      try {
        const model = await openAmqp(this.cfg.url, this.cfg.connect_timeout, this.cfg.heartbeat);
        this.model = model;
        closed = new Promise<string>((resolve) => {
          model.on('error', (e: Error) => resolve(e.message));
          model.on('close', () => resolve('connection closed'));
        });
        const ch = await model.createChannel();
        const chClosed = new Promise<string>((resolve) => {
          ch.on('error', (e: Error) => resolve(e.message));
          ch.on('close', () => resolve('channel closed'));
        });
        await assertQueue(ch, {
          exchange: this.cfg.exchange, queue: this.cfg.queue, bindingKey: this.cfg.routing_key, queueType: this.cfg.queue_type,
          deliveryLimit: this.cfg.delivery_limit, deadLetterExchange: this.cfg.dead_letter_exchange ?? `${this.cfg.exchange}.dead-letter`,
        });
        await ch.prefetch(this.cfg.prefetch);
        this.ch = ch;
        const r = await ch.consume(this.cfg.queue, (msg) => {
          if (msg === null) return; // cancelled by the server (queue deleted): the loop reconnects
          this.batcher.add({ ch, msg });
        }, { noAck: false });
        this.consumerTag = r.consumerTag;
        this.stats.log.report('info', 'connected', 'consuming from RabbitMQ', { from: this.url, queue: this.cfg.queue });
        backoff = 250;
        const why = await Promise.race([closed, chClosed]);
        if (this.stopping) break;
        throw new Error(why);
      } catch (e) {
        if (this.stopping) break;
        this.ch = null;
        this.batcher.forget((d) => d.ch !== this.ch);
        await this.model?.close().catch(() => {});
        this.model = null;
        this.stats.error('connecting', 'unavailable', `RabbitMQ ${this.url}: ${describeError(e)}; reconnecting in ${backoff} ms`);
        await new Promise<void>((r) => { const t = setTimeout(r, backoff); this.wake = () => { clearTimeout(t); r(); }; });
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    const ch = this.ch;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => {});
    // What was taken in still goes on; its acks need the channel, so it stays open meanwhile.
    await this.batcher.drain(STOP_DRAIN_MS);
    this.batcher.close();
    const model = this.model;
    this.model = null;
    this.ch = null;
    if (model) await model.close().catch(() => {});
    await this.loop;
  }
}

export const amqpSourceKind: SourceKind = {
  ...amqpSourceInfo,
  build: (config, ctx) => new AmqpSource(config as AmqpSourceConfig, ctx),
};
