// The journald source: `journalctl -o json --follow`, resumed with --after-cursor from the
// cursor of the last entry every destination took.
//
// Mapping: MESSAGE -> message, PRIORITY -> severity, SYSLOG_FACILITY -> facility,
// SYSLOG_IDENTIFIER (else _COMM) -> appname, _PID -> procid, _HOSTNAME -> hostname,
// __REALTIME_TIMESTAMP -> timestamp; every other field (_SYSTEMD_UNIT, _UID, __CURSOR, ...)
// under fields by its journal name. Values journalctl prints as byte arrays (binary or not
// UTF-8) stay byte arrays (numbers 0..255); a binary MESSAGE is also the message, decoded
// with U+FFFD and flagged.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import { BatchAck } from '../../pipeline/acknowledgement.js';
import { CheckpointFile } from '../checkpoint.js';
import type { SourceKind } from '../index.js';
import { OrderedCommit } from '../ordered-commit.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { journaldSourceInfo, type JournaldSourceConfig } from './config.js';

export { journaldSourceSchema, type JournaldSourceConfig } from './config.js';

interface JournalCheckpoint { version: 1; cursor: string | null }

const RESTART_DELAY_MS = 1000;

export class JournaldSource implements Source {
  private readonly stats: SourceStats;
  private readonly checkpoint: CheckpointFile<JournalCheckpoint>;
  private readonly source: EventSource;
  private commit: OrderedCommit<string | null>;
  private child: ChildProcess | null = null;
  private stopping = false;
  private partial = '';
  private stderrText = '';
  private blocked = false;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Cursor of the last entry read (dispatched), where a restarted journalctl resumes. */
  private readCursor: string | null = null;
  private gotEntry = false;
  /** Set when the checkpointed cursor was refused: read the journal from its head. */
  private fromBeginning = false;

  constructor(private readonly cfg: JournaldSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.checkpoint = new CheckpointFile(ctx, ctx.name, () => ({ version: 1, cursor: this.commit.committed }));
    this.source = { name: ctx.name, transport: 'journald', address: null, port: null, tlsPeer: null };
    this.commit = new OrderedCommit<string | null>(null);
  }

  async start(): Promise<void> {
    const saved = this.checkpoint.load();
    const cursor = saved?.version === 1 && typeof saved.cursor === 'string' ? saved.cursor : null;
    this.commit = new OrderedCommit(cursor);
    this.readCursor = cursor;
    await this.spawn();
  }

  addresses(): string[] {
    return [this.cfg.directory ? 'journald://' + path.resolve(this.ctx.baseDir, this.cfg.directory) : this.cfg.file ? 'journald://' + this.cfg.file.join(',') : 'journald://system'];
  }

  private args(cursor: string | null): string[] {
    const a = ['-o', 'json', '--follow', '--no-pager', '--all'];
    if (this.cfg.directory) a.push('--directory', path.resolve(this.ctx.baseDir, this.cfg.directory));
    for (const f of this.cfg.file ?? []) a.push('--file', path.resolve(this.ctx.baseDir, f));
    for (const u of this.cfg.units) a.push('-u', u);
    for (const t of this.cfg.identifiers) a.push('-t', t);
    if (cursor !== null) a.push('--after-cursor', cursor, '--no-tail');
    else if (this.cfg.read_from === 'beginning' || this.fromBeginning) a.push('--no-tail');
    else a.push('--lines', '0');
    return a;
  }

  private spawn(): Promise<void> {
    const cursor = this.readCursor;
    const child = spawn(this.cfg.journalctl, this.args(cursor), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.partial = '';
    this.stderrText = '';
    this.gotEntry = false;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.data(d));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => { if (this.stderrText.length < 4096) this.stderrText += d; });
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e) => {
        this.child = null;
        if (!this.stopping) reject(new Error(`source ${this.ctx.name}: cannot run ${this.cfg.journalctl}: ${e.message}`));
      });
      child.once('exit', (code, signal) => this.exited(child, cursor, code, signal));
    });
  }

  private exited(child: ChildProcess, cursor: string | null, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = null;
    if (this.stopping) return;
    const why = this.stderrText.trim().split('\n').slice(-1)[0] ?? '';
    if (cursor !== null && !this.gotEntry && /cursor/i.test(this.stderrText)) {
      this.stats.error('reading', 'invalid_cursor', `journalctl refused the checkpointed cursor (${why}); reading from the beginning of the journal`, { cursor });
      this.readCursor = null;
      this.fromBeginning = true;
      this.commit = new OrderedCommit<string | null>(null);
    } else {
      this.stats.error('reading', 'journalctl_exit', `journalctl ended (code ${code}, signal ${signal}): ${why}; restarting it`);
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawn().catch((e) => this.stats.error('reading', 'spawn_failed', String(e)));
    }, this.readCursor === null && cursor !== null ? 0 : RESTART_DELAY_MS);
  }

  private data(d: string): void {
    let text = this.partial + d;
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      if (text.length > this.cfg.max_entry_bytes) {
        this.stats.error('reading', 'oversize', `a journal entry over max_entry_bytes (${this.cfg.max_entry_bytes}); skipped`);
        text = '';
      }
      this.partial = text;
      return;
    }
    this.partial = text.slice(last + 1);
    const now = Date.now();
    const events: LogEvent[] = [];
    let cursor: string | null = null;
    let start = 0;
    while (start <= last) {
      const nl = text.indexOf('\n', start);
      const line = text.slice(start, nl);
      start = nl + 1;
      if (line.length === 0) continue;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch (e) {
        this.stats.error('parsing', 'bad_json', `journalctl printed a line that is not JSON: ${(e as Error).message}`);
        continue;
      }
      if (typeof entry.__CURSOR === 'string') cursor = entry.__CURSOR;
      events.push(this.event(entry, now));
    }
    if (events.length === 0) return;
    this.gotEntry = true;
    this.readCursor = cursor ?? this.readCursor;
    this.stats.received.inc(events.length);
    const settle = this.commit.ticket(this.readCursor);
    const commit = this.commit;
    const ack = new BatchAck((outcome) => {
      if (outcome === 'rejected') this.stats.error('queueing', 'rejected', 'a destination refused entries (buffer full under drop_newest)');
      if (settle() && commit === this.commit) this.checkpoint.schedule();
    }, true);
    const ready = this.ctx.router.dispatch(this.ctx.name, events, ack, true);
    if (!ready && !this.blocked && this.child) {
      this.blocked = true;
      const child = this.child;
      child.stdout!.pause();
      this.ctx.router.whenReady(this.ctx.name, () => {
        this.blocked = false;
        child.stdout!.resume();
      });
    }
  }

  private event(entry: Record<string, unknown>, now: number): LogEvent {
    const str = (k: string): string | null => (typeof entry[k] === 'string' ? (entry[k] as string) : null);
    let message = str('MESSAGE');
    let flags = 0;
    const rawMessage = entry.MESSAGE;
    if (Array.isArray(rawMessage)) {
      message = Buffer.from(rawMessage as number[]).toString('utf8');
      flags |= EventFlag.INVALID_UTF8;
    }
    const pri = Number(str('PRIORITY'));
    const fac = Number(str('SYSLOG_FACILITY'));
    const rt = Number(str('__REALTIME_TIMESTAMP'));
    const fields: Record<string, unknown> = {};
    for (const k of Object.keys(entry)) {
      if (k === 'MESSAGE' && !Array.isArray(rawMessage)) continue;
      fields[k] = entry[k];
    }
    const ev = LogEvent.fromValues(this.source, now, {
      timestamp: Number.isFinite(rt) && rt > 0 ? new Date(Math.floor(rt / 1000)).toISOString() : null,
      hostname: str('_HOSTNAME'),
      appname: str('SYSLOG_IDENTIFIER') ?? str('_COMM'),
      procid: str('_PID') ?? str('SYSLOG_PID'),
      severity: Number.isInteger(pri) && pri >= 0 && pri <= 7 && str('PRIORITY') !== null ? pri : null,
      facility: Number.isInteger(fac) && fac >= 0 && fac <= 23 && str('SYSLOG_FACILITY') !== null ? fac : null,
      message,
      fields,
    });
    ev.flags |= flags;
    return ev;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    await this.checkpoint.close();
  }
}

export const journaldSourceKind: SourceKind = {
  ...journaldSourceInfo,
  build: (config, ctx) => new JournaldSource(config as JournaldSourceConfig, ctx),
};
