// The RELP destination: each event a syslog frame, `window` in flight, ok only when every frame got rsp 200.
//
// A batch is a job that outlives connections: frames answered 200 (or 500) are settled for
// good; when the session is lost, a new one is opened at once and every frame not yet
// answered is sent again (RELP is at least once; the server may see a message twice). Only
// when reconnecting fails, or a fresh session is lost again before answering anything, does
// send() report `retry`, so the runner backs off; its retry of the same batch resumes the job.

import { ByteWriter } from '../../codec/byte-writer.js';
import { parseListen } from '../../config/units.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import { RateLimitedLog } from '../../log.js';
import { ClientTls } from '../../net/tls-client.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { relpDestinationInfo, type RelpDestinationConfig } from './config.js';
import { RelpConnection, type RelpTarget } from './connection.js';
import { messageBytes } from './message.js';

export { relpDestinationSchema, type RelpDestinationConfig } from './config.js';

const PENDING = 0;
const ACKED = 1;
const REJECTED = 2;

/** One batch on its way: what each frame became, and which are in flight on the current session. */
class Job {
  readonly payloads: Buffer[];
  readonly state: Uint8Array;
  readonly reasons = new Map<number, string>();
  /** txnr → index of the frames sent on the current session and not yet answered. */
  readonly inFlight = new Map<number, number>();
  /** Next index to consider sending on the current session. */
  next = 0;
  remaining: number;
  /** Immediate reconnects since the last answer; a second one without progress reports retry. */
  reconnects = 0;
  done: ((r: SendResult) => void) | null = null;

  constructor(readonly batch: LogEvent[], payloads: Buffer[]) {
    this.payloads = payloads;
    this.state = new Uint8Array(batch.length);
    this.remaining = batch.length;
  }

  /** The session is gone: whatever was in flight goes again on the next one. */
  resetSession(): void {
    this.inFlight.clear();
    this.next = 0;
  }
}

export class RelpDestination implements Destination {
  readonly maxBatch: number;
  private readonly target: RelpTarget;
  private readonly writer = new ByteWriter(16 * 1024);
  private readonly problems: RateLimitedLog;
  private conn: RelpConnection | null = null;
  private job: Job | null = null;
  private stopped = false;

  constructor(private readonly cfg: RelpDestinationConfig, ctx: DestinationContext & { baseDir: string }) {
    this.maxBatch = cfg.batch_events;
    this.problems = new RateLimitedLog(`destination ${ctx.name}`);
    const a = parseListen(cfg.url, ['relp']);
    if (typeof a === 'string') throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', `destination ${ctx.name}: url: ${a}`);
    this.target = {
      url: cfg.url,
      host: a.host,
      port: a.port,
      tls: cfg.tls ? new ClientTls(cfg.tls, a.host, ctx.baseDir, `destination ${ctx.name}`) : null,
      connectTimeoutMs: cfg.connect_timeout,
      ackTimeoutMs: cfg.ack_timeout,
    };
  }

  /** Connects lazily: a server that is down at start is a retry, not a config error. */
  async start(): Promise<void> {}

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    if (this.stopped) { done({ status: 'retry', error: `${this.cfg.url}: destination is stopping` }); return; }
    let job = this.job;
    // The runner retries with the same array: resume it, so answered frames are not sent twice.
    if (job === null || job.batch !== events) {
      const w = this.writer;
      job = this.job = new Job(events, events.map((ev) => messageBytes(ev, this.cfg.format, w)));
    }
    job.done = done;
    job.reconnects = 0;
    if (job.remaining === 0) { this.complete(job); return; }
    if (this.conn?.alive) this.pump(job);
    else this.connect(job);
  }

  private connect(job: Job): void {
    RelpConnection.open(this.target).then((conn) => {
      if (this.stopped) { conn.gone('destination stopped'); return; }
      this.problems.report('info', 'connected', 'RELP session open', { to: this.cfg.url });
      this.conn = conn;
      job.resetSession();
      conn.attach({
        rsp: (txnr, code, text) => this.rsp(conn, txnr, code, text),
        lost: (reason) => this.lost(conn, reason),
      });
      if (conn.alive) this.pump(job);
    }, (e: unknown) => this.fail(job, describeError(e)));
  }

  /** Sends frames not yet answered until `window` are in flight. */
  private pump(job: Job): void {
    const conn = this.conn;
    if (conn === null || !conn.alive || job.done === null) return;
    const free = this.cfg.window - job.inFlight.size;
    if (free <= 0) return;
    const idx: number[] = [];
    const payloads: Buffer[] = [];
    const n = job.payloads.length;
    while (job.next < n && idx.length < free) {
      const i = job.next++;
      if (job.state[i] !== PENDING) continue;
      idx.push(i);
      payloads.push(job.payloads[i]!);
    }
    if (idx.length === 0) return;
    const txnrs = conn.sendSyslog(payloads);
    for (let k = 0; k < txnrs.length; k++) job.inFlight.set(txnrs[k]!, idx[k]!);
  }

  private rsp(conn: RelpConnection, txnr: number, code: number, text: string): void {
    const job = this.job;
    if (conn !== this.conn || job === null || this.stopped) return;
    const i = job.inFlight.get(txnr);
    if (i === undefined) {
      conn.gone(`rsp for txnr ${txnr}, which is not in flight`);
      return;
    }
    job.inFlight.delete(txnr);
    if (code === 200) job.state[i] = ACKED;
    else {
      job.state[i] = REJECTED;
      job.reasons.set(i, `${code} ${text}`.trim());
    }
    job.remaining--;
    job.reconnects = 0;
    if (job.remaining === 0) this.complete(job);
    else this.pump(job);
  }

  private lost(conn: RelpConnection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    const job = this.job;
    if (job === null || job.done === null || this.stopped) return;
    job.resetSession();
    if (job.reconnects >= 1) {
      this.fail(job, reason);
      return;
    }
    job.reconnects++;
    this.problems.report('info', 'reconnect', 'RELP session lost; reconnecting to resend the unanswered frames', { error: reason, unanswered: job.remaining });
    this.connect(job);
  }

  private complete(job: Job): void {
    const done = job.done;
    if (done === null) return;
    job.done = null;
    this.job = null;
    if (job.reasons.size === 0) { done({ status: 'ok' }); return; }
    const rejected: LogEvent[] = [];
    for (const i of job.reasons.keys()) rejected.push(job.batch[i]!);
    const first = job.reasons.values().next().value as string;
    done({ status: 'reject', error: `${this.cfg.url} answered "${first}" for ${rejected.length} of ${job.batch.length} message(s)`, events: rejected });
  }

  /** Reports retry; the job stays, so the runner's retry resends only what was not answered. */
  private fail(job: Job, reason: string): void {
    const done = job.done;
    if (done === null) return;
    job.done = null;
    done({ status: 'retry', error: reason });
  }

  /**
   * Closes the session politely. A batch still in flight is not reported any more: the runner
   * has given up on it and keeps it in its buffer, so it is sent again after a restart.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.job) this.job.done = null;
    const conn = this.conn;
    this.conn = null;
    if (conn) await conn.close();
  }
}

export const relpDestinationKind: DestinationKind = {
  ...relpDestinationInfo,
  build: (config, ctx) => new RelpDestination(config as RelpDestinationConfig, ctx),
};
