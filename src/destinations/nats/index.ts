// The NATS JetStream destination: a batch counts as sent only when JetStream answered every PubAck.
//
// Events go as NDJSON messages (src/broker/wire.ts), several per message, each with a
// Nats-Msg-Id derived from its content, so a message sent again — after a timeout, a leader
// election (503 no responders), or a crash and a replay of the disk buffer — is dropped by
// the server's duplicate window instead of stored twice. At most `max_in_flight` publishes
// await their PubAck. A batch is a job that outlives failures: messages acknowledged stay
// done, and the runner's retry of the same batch publishes only the others.
//
// The stream is created when missing with discard: new, so a full stream answers an error
// (counted, retried with backoff) and never silently drops old data.

import type { JetStreamClient, NatsConnection, PubAck } from 'nats';
import { CONFIRMED, PENDING, PublishJob } from '../../broker/publish-job.js';
import { CONTENT_TYPE, escapeSubjectToken, EVENTS_HEADER, packMessages } from '../../broker/wire.js';
import { jsErrorCode, loadNats, natsErrorType, natsServers, openNats, type NatsLib } from '../../broker/nats-connection.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import { RateLimitedLog } from '../../log.js';
import type { Metrics } from '../../metrics/registry.js';
import { Template } from '../../template/template.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { natsDestinationInfo, type NatsDestinationConfig } from './config.js';

export { natsDestinationSchema, type NatsDestinationConfig } from './config.js';

const STREAM_NOT_FOUND = 10059;


export class NatsDestination implements Destination {
  readonly maxBatch: number;
  private readonly servers: string[];
  private readonly subject: Template;
  private readonly problems: RateLimitedLog;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private connecting: Promise<void> | null = null;
  private job: PublishJob | null = null;
  private stopped = false;
  /** Messages the server reported as duplicates (a resend it had already stored). */
  duplicates = 0;

  constructor(private readonly cfg: NatsDestinationConfig, private readonly ctx: DestinationContext & { baseDir: string }) {
    this.maxBatch = cfg.batch_events;
    this.servers = natsServers(cfg.url);
    if (this.servers.length === 0) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', `destination ${ctx.name}: url names no server`);
    this.subject = Template.compile(cfg.subject);
    this.problems = new RateLimitedLog(`destination ${ctx.name}`);
  }

  /** Connects when it can: a server down at start is a retry of the first batch, not a config error. */
  /** The nats client, loaded by start(). */
  private lib: NatsLib | null = null;

  async start(): Promise<void> {
    this.lib = await loadNats();
    await this.ensureConnected().catch((e: unknown) => {
      this.problems.report('warn', 'connect', 'NATS not reachable yet; events wait in the buffer', { to: this.servers.join(','), error: describeError(e) });
    });
  }

  private ensureConnected(): Promise<void> {
    if (this.js !== null && this.nc !== null && !this.nc.isClosed()) return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      const nc = await openNats(this.servers, `sluice destination ${this.ctx.name}`, this.cfg.connect_timeout);
      if (this.stopped) { await nc.close(); throw new Error('destination stopped'); }
      try {
        await this.ensureStream(nc);
      } catch (e) {
        await nc.close().catch(() => {});
        throw e;
      }
      this.nc = nc;
      this.js = nc.jetstream({ timeout: this.cfg.ack_timeout });
      this.problems.report('info', 'connected', 'connected to NATS JetStream', { to: this.servers.join(','), stream: this.cfg.stream });
      void nc.closed().then(() => { if (this.nc === nc) { this.nc = null; this.js = null; } });
    })().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async ensureStream(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager({ timeout: this.cfg.connect_timeout });
    try {
      await jsm.streams.info(this.cfg.stream);
      return;
    } catch (e) {
      if (jsErrorCode(e) !== STREAM_NOT_FOUND) throw e;
    }
    const c = this.cfg.create_stream;
    await jsm.streams.add({
      name: this.cfg.stream,
      subjects: c.subjects ?? [defaultStreamSubject(this.cfg.subject)],
      storage: c.storage === 'memory' ? this.lib!.StorageType.Memory : this.lib!.StorageType.File,
      discard: this.lib!.DiscardPolicy.New,
      max_bytes: c.max_bytes,
      max_age: this.lib!.nanos(c.max_age),
      num_replicas: c.replicas,
      duplicate_window: this.lib!.nanos(c.duplicate_window),
    });
    this.problems.report('info', 'stream_created', 'created JetStream stream', { stream: this.cfg.stream, replicas: c.replicas, storage: c.storage });
  }

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    if (this.stopped) { done({ status: 'retry', error: 'destination is stopping' }); return; }
    let job = this.job;
    if (job === null || job.batch !== events) {
      const packed = packMessages(events, this.subject, escapeSubjectToken, this.cfg.events_per_message, this.cfg.max_message_bytes);
      job = this.job = new PublishJob(events, packed.messages, packed.oversize);
    }
    job.done = done;
    job.failure = null;
    job.next = 0;
    if (job.remaining === 0) { this.complete(job); return; }
    this.ensureConnected().then(() => this.pump(job), (e: unknown) => {
      countError(this.ctx.metrics, this.ctx.name, 'connecting', natsErrorType(e));
      this.fail(job, `NATS ${this.servers.join(',')}: ${describeError(e)}`);
    });
  }

  private pump(job: PublishJob): void {
    const js = this.js;
    if (job.done === null || this.job !== job) return;
    if (js === null) { this.fail(job, 'NATS connection lost'); return; }
    const n = job.messages.length;
    while (job.failure === null && job.inFlight < this.cfg.max_in_flight && job.next < n) {
      const i = job.next++;
      if (job.state[i] === CONFIRMED) continue;
      const m = job.messages[i]!;
      const h = this.lib!.headers();
      h.set('Content-Type', CONTENT_TYPE);
      h.set(EVENTS_HEADER, String(m.events.length));
      h.set('Sluice-Host', m.host);
      if (m.severity !== null) h.set('Sluice-Severity', String(m.severity));
      h.set('Sluice-Source', m.events[0]!.source.name);
      job.inFlight++;
      js.publish(m.key, m.payload, { msgID: m.id, headers: h, timeout: this.cfg.ack_timeout }).then(
        (pa: PubAck) => {
          job.inFlight--;
          if (pa.duplicate) this.duplicates++;
          if (job.state[i] === PENDING) { job.state[i] = CONFIRMED; job.remaining--; }
          this.progress(job);
        },
        (e: unknown) => {
          job.inFlight--;
          const type = natsErrorType(e);
          countError(this.ctx.metrics, this.ctx.name, 'publishing', type);
          if (job.failure === null) job.failure = `JetStream publish to ${m.key} failed (${type}): ${(e as { api_error?: { description?: string } }).api_error?.description ?? describeError(e)}`;
          this.progress(job);
        },
      );
    }
  }

  private progress(job: PublishJob): void {
    if (this.job !== job || job.done === null) return;
    if (job.remaining === 0) { this.complete(job); return; }
    if (job.failure !== null) {
      if (job.inFlight === 0) this.fail(job, job.failure);
      return;
    }
    this.pump(job);
  }

  private complete(job: PublishJob): void {
    const done = job.done;
    if (done === null) return;
    job.done = null;
    this.job = null;
    if (job.oversize.length > 0) {
      done({ status: 'reject', error: `${job.oversize.length} event(s) larger than max_message_bytes ${this.cfg.max_message_bytes} as JSON`, events: job.oversize });
      return;
    }
    done({ status: 'ok' });
  }

  /** Reports retry; the job stays, so the retry publishes only what was not acknowledged. */
  private fail(job: PublishJob, reason: string): void {
    const done = job.done;
    if (done === null) return;
    job.done = null;
    this.problems.report('warn', 'retry', 'JetStream publish failed; the batch is retried', { error: reason, unacknowledged: job.remaining });
    done({ status: 'retry', error: reason });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.job) this.job.done = null;
    await this.connecting?.catch(() => {});
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    if (nc) await nc.drain().catch(() => nc.close());
  }
}

/** "logs.${HOST}.${LEVEL}" → "logs.>": the literal tokens before the first macro. */
export function defaultStreamSubject(template: string): string {
  const i = template.indexOf('$');
  if (i < 0) return template;
  const head = template.slice(0, i);
  const dot = head.lastIndexOf('.');
  return dot < 0 ? '>' : head.slice(0, dot + 1) + '>';
}

function countError(metrics: Metrics, component: string, stage: string, type: string): void {
  metrics.errors.labels({ component, stage, error_type: type }).inc();
}

export const natsDestinationKind: DestinationKind = {
  ...natsDestinationInfo,
  build: (config, ctx) => new NatsDestination(config as NatsDestinationConfig, ctx),
};
