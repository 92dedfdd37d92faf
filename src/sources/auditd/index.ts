// The auditd source: tails the audit log (or reads audispd's af_unix socket) and emits one
// event per audit event, its records joined.
//
// The log is read by the file source's tailer (rotation, checkpoints), through a router of our
// own: each line batch's acknowledgement is held by every audit event that took a record from
// it and released when that event settled downstream, so the file checkpoint never passes a
// record whose event is not delivered (or still waits for its EOE).

import net from 'node:net';
import path from 'node:path';
import { LogEvent, type EventSource } from '../../event/log-event.js';
import { log } from '../../log.js';
import { BatchAck } from '../../pipeline/acknowledgement.js';
import type { Router } from '../../pipeline/router.js';
import { FileSource } from '../file/index.js';
import { fileSourceSchema } from '../file/config.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { AuditAssembler, type AssembledEvent } from './assembler.js';
import { auditdSourceInfo, type AuditdSourceConfig } from './config.js';
import { interpret } from './interpret.js';
import { parseRecord } from './record.js';

export { auditdSourceSchema, type AuditdSourceConfig } from './config.js';

const MAX_LINE = 1024 * 1024;

export class AuditdSource implements Source {
  private readonly stats: SourceStats;
  private readonly assembler: AuditAssembler<BatchAck | null>;
  private readonly source: EventSource;
  private file: FileSource | null = null;
  private sock: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly cfg: AuditdSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.source = { name: ctx.name, transport: cfg.socket ? 'unix' : 'file', address: null, port: null, tlsPeer: null };
    this.assembler = new AuditAssembler(
      { timeoutMs: cfg.event_timeout, maxRecords: cfg.max_records, maxBytes: cfg.max_event_bytes, remember: 4096, maxOpen: 10_000 },
      (e) => this.emit(e),
    );
  }

  async start(): Promise<void> {
    if (this.cfg.socket) this.connect(path.resolve(this.ctx.baseDir, this.cfg.socket));
    else {
      const fileCfg = fileSourceSchema.parse({
        type: 'file', include: [this.cfg.path], read_from: this.cfg.read_from, poll_interval: `${this.cfg.poll_interval}ms`,
        scan_interval: `${Math.max(this.cfg.poll_interval, 1000)}ms`, max_line_bytes: MAX_LINE,
      });
      // The tailer shares our name (metrics, checkpoint file) and hands its lines to us.
      this.file = new FileSource(fileCfg, { ...this.ctx, router: this.lineRouter() });
      await this.file.start();
    }
    this.timer = setInterval(() => this.assembler.tick(Date.now()), Math.max(100, Math.min(1000, this.cfg.event_timeout / 4)));
  }

  addresses(): string[] {
    return [this.cfg.socket ? 'unix://' + this.cfg.socket : 'file://' + path.resolve(this.ctx.baseDir, this.cfg.path)];
  }

  /** What the tailer dispatches to: lines become records, records join events. */
  private lineRouter(): Router {
    const router = this.ctx.router;
    const self = this;
    return {
      dispatch(_source: string, events: LogEvent[], ack: BatchAck | null): boolean {
        self.lines(events, ack);
        return true;
      },
      whenReady(_source: string, cb: () => void): void {
        router.whenReady(self.ctx.name, cb);
      },
    } as unknown as Router;
  }

  private lines(events: LogEvent[], ack: BatchAck | null): void {
    const now = Date.now();
    for (const ev of events) {
      const text = ev.message ?? '';
      if (text.length === 0) continue;
      this.line(text, ack, now);
    }
    ack?.release();
  }

  private line(text: string, ack: BatchAck | null, now: number): void {
    const rec = parseRecord(text);
    if (rec === null) {
      this.stats.error('parsing', 'bad_record', 'line is not an audit record (type=... msg=audit(...):)', { line: text.slice(0, 200) });
      return;
    }
    ack?.hold();
    this.assembler.push(rec, ack, now);
  }

  private emit(e: AssembledEvent<BatchAck | null>): void {
    const acks = e.tags;
    if (e.records.length === 0) {
      for (const a of acks) a?.release();
      if (e.key === '') this.stats.dropped('duplicate', 1);
      return;
    }
    if (e.reason === 'orphan') this.stats.error('joining', 'orphan_record', `a ${e.records[0]!.type} record came after its event was emitted; it is an event of its own`, { id: e.key });
    if (e.reason === 'timeout') this.stats.error('joining', 'eoe_timeout', 'an event\'s EOE did not come in time; emitted without it', { id: e.key }, 'info');
    const it = interpret(e.records, e.reason);
    if (it.lostRecords > 0) this.stats.error('joining', 'lost_records', `${it.lostRecords} records of an event are missing (items/argc say more)`, { id: e.key }, 'info');
    const now = Date.now();
    const ev = LogEvent.fromValues(this.source, now, {
      timestamp: it.timestamp, hostname: it.node, appname: 'auditd', procid: it.pid, msgid: it.type,
      facility: 13, severity: 5, message: it.message, fields: it.fields,
    });
    const ack = new BatchAck((outcome) => { for (const a of acks) a?.release(outcome === 'delivered'); }, true);
    this.ctx.router.dispatch(this.ctx.name, [ev], ack, true);
  }

  /** audispd af_unix (string format): the same lines as the log, no checkpoint. */
  private connect(socketPath: string): void {
    if (this.stopping) return;
    let buf = '';
    const s = net.connect(socketPath);
    this.sock = s;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      const now = Date.now();
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.length > 0) { this.stats.received.inc(); this.line(line, null, now); }
      }
      if (buf.length > MAX_LINE) {
        this.stats.error('reading', 'oversize', `a record over ${MAX_LINE} bytes from ${socketPath}; dropped`);
        buf = '';
      }
    });
    s.on('error', (e) => this.stats.error('reading', 'socket_error', `audispd socket ${socketPath}: ${e.message}; reconnecting`));
    s.on('close', () => {
      if (this.stopping) return;
      setTimeout(() => this.connect(socketPath), 1000).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.file?.stop();
    this.sock?.destroy();
    // Events still waiting for their EOE are not emitted: their records stay after the
    // checkpoint and are read again at the next start.
    if (this.cfg.socket) this.assembler.flush();
    log('debug', `source ${this.ctx.name}`, 'stopped', { pending: this.assembler.pending });
  }
}

export const auditdSourceKind: SourceKind = {
  ...auditdSourceInfo,
  build: (config, ctx) => new AuditdSource(config as AuditdSourceConfig, ctx),
};
