// The NATS JetStream source: a durable pull consumer, each message acked only once its events are durable.
//
// Instances naming the same durable share its messages (JetStream hands each to one of the
// pulling clients); separate durables each see every message. A message is acknowledged when
// every destination of its log paths took its events durably (BatchAck, untilDelivered), so a
// crash anywhere before that means JetStream redelivers it after ack_wait — to this instance
// after a restart or to another one sharing the durable (takeover). While a slow destination
// holds a message, working() keeps it from being redelivered. A message a destination could
// not take is nak'd with a delay; one that cannot be read, or failed max_deliver times, goes
// to the dead-letter file (and dead_letter_subject) and is terminated.

import type { ConsumerMessages, JetStreamClient, JsMsg, NatsConnection } from 'nats';
import { ConsumerBatcher, SourceDeadLetters, sourceDeadLetterPath } from '../../broker/consumer-batcher.js';
import { jsErrorCode, loadNats, natsServers, openNats, type NatsLib } from '../../broker/nats-connection.js';
import { MessageDecoder } from '../../broker/wire.js';
import { describeError, SluiceError } from '../../errors.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { natsSourceInfo, type NatsSourceConfig } from './config.js';

export { natsSourceSchema, type NatsSourceConfig } from './config.js';

const CONSUMER_NOT_FOUND = 10014;
const STOP_DRAIN_MS = 5_000;

export class NatsSource implements Source {
  private readonly stats: SourceStats;
  private readonly servers: string[];
  private readonly batcher: ConsumerBatcher<JsMsg>;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private messages: ConsumerMessages | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeLoop: () => void = () => {};

  constructor(private readonly cfg: NatsSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.servers = natsServers(cfg.url);
    if (this.servers.length === 0) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', `source ${ctx.name}: url names no server`);
    const deadLetters = new SourceDeadLetters(sourceDeadLetterPath(ctx, cfg.dead_letter), ctx.name);
    this.batcher = new ConsumerBatcher<JsMsg>(ctx, this.stats, new MessageDecoder(ctx.name, 'nats', cfg.format, cfg.max_event_bytes), {
      payload: (m) => Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
      describe: (m) => ({ subject: m.subject, stream_seq: m.seq, deliveries: m.info.deliveryCount }),
      ack: (m) => m.ack(),
      retry: (m) => {
        if (m.info.deliveryCount >= cfg.max_deliver) {
          this.stats.error('dispatching', 'max_deliver', `message failed ${m.info.deliveryCount} times; dead-lettered`, { subject: m.subject, stream_seq: m.seq });
          this.batcher.deadLetter(m, Buffer.from(m.data), `not taken by the destinations after ${m.info.deliveryCount} deliveries`);
        } else {
          m.nak(cfg.nak_delay);
        }
      },
      poison: (m, reason) => {
        this.publishDeadLetter(m, reason);
        m.term();
      },
      working: (m) => m.working(),
    }, deadLetters, cfg.batch, Math.max(1000, Math.floor(cfg.ack_wait / 3)));
  }

  /** Connects in the background: a broker down at start is retried with backoff, not a failed start. */
  /** The nats client, loaded by start(). */
  private lib: NatsLib | null = null;

  async start(): Promise<void> {
    this.lib = await loadNats();
    this.loop = this.run();
  }

  addresses(): string[] {
    return this.servers.map((s) => (s.includes('://') ? s : `nats://${s}`));
  }

  /** Pulls set up again after missed heartbeats or a lost consumer. */
  recoveries = 0;

  /** Counters of what this source took and acknowledged (tests print the shares). */
  get counts(): ConsumerBatcher<JsMsg>['counts'] {
    return this.batcher.counts;
  }

  private async run(): Promise<void> {
    let backoff = 250;
    /** Why the last pull was given up, until a new one is set up. */
    let lost: string | null = null;
    while (!this.stopping) {
      try {
        if (this.nc === null || this.nc.isClosed()) {
          this.nc = await openNats(this.servers, `sluice source ${this.ctx.name}`, this.cfg.connect_timeout);
          this.js = this.nc.jetstream();
          this.stats.log.report('info', 'connected', 'connected to NATS JetStream', { to: this.servers.join(','), stream: this.cfg.stream, consumer: this.cfg.consumer });
        }
        const created = await this.ensureConsumer(this.nc);
        const consumer = await this.js!.consumers.get(this.cfg.stream, this.cfg.consumer);
        const messages = await consumer.consume({
          max_messages: this.cfg.batch,
          expires: this.cfg.pull_expires,
          idle_heartbeat: this.cfg.idle_heartbeat,
          callback: (m) => this.batcher.add(m),
        });
        this.messages = messages;
        backoff = 250;
        if (lost !== null) this.recovered(lost, created);
        lost = null;
        // Missed heartbeats (a frozen or partitioned server) or a deleted consumer: stop this
        // pull and set it up again (the consumer too, when it is gone).
        const watch = (async () => {
          for await (const s of await messages.status()) {
            const t = s.type as string;
            if (t === 'heartbeats_missed' || t === 'consumer_deleted' || t === 'consumer_not_found' || t === 'stream_not_found') {
              if (this.stopping) return;
              lost = t;
              this.stats.error('consuming', t, `consumer ${this.cfg.consumer}: ${t}; setting it up again`, { data: s.data }, 'info');
              messages.stop();
              return;
            }
          }
        })();
        await Promise.race([messages.closed(), watch]);
        messages.stop();
        this.messages = null;
      } catch (e) {
        if (this.stopping) break;
        this.stats.error('connecting', 'unavailable', `NATS ${this.servers.join(',')}: ${describeError(e)}; retrying in ${backoff} ms`, undefined, 'warn');
        await new Promise<void>((r) => { const t = setTimeout(r, backoff); this.wakeLoop = () => { clearTimeout(t); r(); }; });
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** A new pull runs after a lost one: counted, logged, and seen by tests. */
  private recovered(reason: string, created: boolean): void {
    this.recoveries++;
    this.ctx.metrics.consumerRecoveries.labels({ component: this.ctx.name, reason }).inc();
    this.stats.log.report('info', `recovered/${reason}`, created ? 'consumer was gone: created it again; the stream is delivered again from its start (duplicates, nothing lost)' : 'pull set up again', { consumer: this.cfg.consumer, after: reason });
  }

  /**
   * Creates the durable when missing (true), sized for the batch. An existing one is used as
   * it is. One created again after it was deleted delivers the stream from its start: acks
   * of every instance sharing it went with it, so that is the only start that loses nothing.
   */
  private async ensureConsumer(nc: NatsConnection): Promise<boolean> {
    const jsm = await nc.jetstreamManager({ timeout: this.cfg.connect_timeout });
    try {
      await jsm.consumers.info(this.cfg.stream, this.cfg.consumer);
      return false;
    } catch (e) {
      if (jsErrorCode(e) !== CONSUMER_NOT_FOUND) throw e;
    }
    await jsm.consumers.add(this.cfg.stream, {
      durable_name: this.cfg.consumer,
      ack_policy: this.lib!.AckPolicy.Explicit,
      deliver_policy: this.lib!.DeliverPolicy.All,
      ack_wait: this.lib!.nanos(this.cfg.ack_wait),
      // One more than max_deliver: sluice dead-letters on the last attempt itself.
      max_deliver: this.cfg.max_deliver + 1,
      max_ack_pending: this.cfg.max_ack_pending ?? this.cfg.batch * 4,
      ...(this.cfg.subject ? { filter_subject: this.cfg.subject } : {}),
    });
    this.stats.log.report('info', 'consumer_created', 'created durable consumer', { stream: this.cfg.stream, consumer: this.cfg.consumer });
    return true;
  }

  private publishDeadLetter(m: JsMsg, reason: string): void {
    const subject = this.cfg.dead_letter_subject;
    if (!subject || this.js === null) return;
    // A dead letter read back (the subject is in a stream this consumer reads) is not sent round again.
    if (m.headers?.has('Sluice-Reason')) return;
    const h = this.lib!.headers();
    h.set('Sluice-Reason', reason.slice(0, 500));
    h.set('Sluice-Original-Subject', m.subject);
    this.js.publish(subject, m.data, { headers: h }).catch((e: unknown) => {
      this.stats.error('dead_letter', 'publish_failed', `dead letter not published to ${subject}: ${describeError(e)}`);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeLoop();
    this.messages?.stop();
    await this.loop;
    // What was taken in still goes on; acks need the connection, so it stays open meanwhile.
    await this.batcher.drain(STOP_DRAIN_MS);
    this.batcher.close();
    const nc = this.nc;
    this.nc = null;
    if (nc) await nc.drain().catch(() => nc.close());
  }
}

export const natsSourceKind: SourceKind = {
  ...natsSourceInfo,
  build: (config, ctx) => new NatsSource(config as NatsSourceConfig, ctx),
};
