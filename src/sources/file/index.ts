// The file source: tails files matched by globs, one event per line (or multiline event),
// with checkpoints that only move once every destination took the lines.
//
// Identity: a file is its device and inode plus its first bytes (fingerprint). Same inode but
// different first bytes = the inode was reused (or the file rewritten): read from 0. A new
// inode whose first bytes and the bytes before our position equal a file we read = a copy
// (logrotate copytruncate): it is read from where we were in the original, so the lines the
// truncation took from the original before we read them come from the copy instead.
//
// Rotation: by rename, the open descriptor keeps reading the old file to its end (kept open
// rotate_wait after its last growth) while the new file at the path is read from 0; by
// copytruncate, a size below our position means truncated: read from 0. After a restart,
// checkpointed files no longer at a matched path are looked up by inode in their directory.

import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decoded, EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import { log } from '../../log.js';
import { BatchAck, type AckOutcome } from '../../pipeline/acknowledgement.js';
import { CheckpointFile } from '../checkpoint.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { COMPRESSED_SUFFIXES, fileSourceInfo, type FileSourceConfig } from './config.js';
import { expandGlob, globMatch } from './glob.js';
import { identityKey, readAt, readInto, TailedFile, type FileIdentity } from './tailed-file.js';

export { fileSourceSchema, type FileSourceConfig } from './config.js';

const CHUNK_BYTES = 256 * 1024;
/** Bytes read from one file per turn before the others (and the event loop) get theirs. */
const TURN_BYTES = 4 * 1024 * 1024;
const TAIL_BYTES = 64;
/** How long a truncated file's old position is remembered for a copy to resume from. */
const COPY_MEMORY_MS = 5 * 60_000;
const MAX_DIR_ENTRIES_SCANNED = 10_000;

interface CheckpointEntry { dev: number; ino: number; fp: string; offset: number; path: string }
interface FileCheckpoint { version: 1; files: CheckpointEntry[] }

interface Pending {
  lines: string[];
  bytes: number;
  endPos: number;
  lastAt: number;
  truncated: boolean;
}

export class FileSource implements Source {
  private readonly stats: SourceStats;
  private readonly checkpoint: CheckpointFile<FileCheckpoint>;
  private readonly files = new Map<string, TailedFile>();
  private readonly includes: string[];
  private readonly excludes: string[];
  private readonly multiline: RegExp | null;
  private readonly pending = new Map<TailedFile, Pending>();
  private readonly host = os.hostname();
  private readonly sources = new Map<string, EventSource>();
  private restored = new Map<string, CheckpointEntry>();
  private pollTimer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private blocked = false;
  private stopping = false;
  private polling = false;
  private firstScan = true;
  /** Files left out because max_open_files was reached, counted once per path. */
  private readonly overLimit = new Set<string>();
  private readonly unreadable = new Set<string>();
  /** Files that look like copies shorter than our position in the original: path -> size last seen. */
  private readonly shortCopies = new Map<string, number>();

  constructor(private readonly cfg: FileSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.checkpoint = new CheckpointFile(ctx, ctx.name, () => this.state());
    this.includes = cfg.include.map((g) => path.resolve(ctx.baseDir, g));
    this.excludes = cfg.exclude.map((g) => (g.includes('/') ? path.resolve(ctx.baseDir, g) : g));
    this.multiline = cfg.multiline ? new RegExp(cfg.multiline.start) : null;
  }

  async start(): Promise<void> {
    const saved = this.checkpoint.load();
    if (saved && saved.version === 1 && Array.isArray(saved.files)) {
      for (const e of saved.files) this.restored.set(identityKey(e), e);
    }
    this.scan();
    this.recoverRenamed();
    this.restored.clear();
    this.firstScan = false;
    this.poll();
    this.scanTimer = setInterval(() => this.scan(), this.cfg.scan_interval);
  }

  addresses(): string[] {
    return this.includes.map((g) => 'file://' + g);
  }

  /** Paths currently read, for tests and diagnostics. */
  openFiles(): string[] {
    return [...this.files.values()].map((f) => f.path);
  }

  private excluded(file: string): boolean {
    if (this.cfg.skip_compressed && COMPRESSED_SUFFIXES.some((s) => file.endsWith(s))) return true;
    const base = path.basename(file);
    return this.excludes.some((g) => (g.includes('/') ? globMatch(g, file) : globMatch(g, base)));
  }

  /** Expands the globs: new files are opened, files gone from their path are marked detached. */
  private scan(): void {
    if (this.stopping) return;
    const atPath = new Map<string, string>();
    for (const g of this.includes) {
      for (const file of expandGlob(g, (dir, e) => this.cannotRead(dir, e))) {
        if (atPath.has(file) || this.excluded(file)) continue;
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch {
          continue;
        }
        const key = identityKey(st);
        atPath.set(file, key);
        const known = this.files.get(key);
        if (known) {
          known.path = file;
          known.detached = false;
          continue;
        }
        this.open(file, st, this.firstScan);
      }
    }
    for (const f of this.files.values()) {
      if (!f.detached && atPath.get(f.path) !== f.key) {
        f.detached = true;
        log('info', `source ${this.ctx.name}`, 'file renamed or removed; reading it to its end', { file: f.path });
      }
    }
  }

  private cannotRead(file: string, e: Error): void {
    if (this.unreadable.has(file)) return;
    this.unreadable.add(file);
    this.stats.error('opening', 'unreadable', `cannot read ${file}: ${e.message}`, { file });
  }

  private open(file: string, st: fs.Stats, initial: boolean, recovered = false): TailedFile | null {
    if (this.files.size >= this.cfg.max_open_files) {
      if (!this.overLimit.has(file)) {
        this.overLimit.add(file);
        this.stats.error('opening', 'max_open_files', `not reading ${file}: max_open_files (${this.cfg.max_open_files}) files are open`, { file });
      }
      return null;
    }
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      this.cannotRead(file, e as Error);
      return null;
    }
    this.unreadable.delete(file);
    this.overLimit.delete(file);
    const id: FileIdentity = { dev: st.dev, ino: st.ino };
    const fp = readAt(fd, 0, Math.min(this.cfg.fingerprint_bytes, st.size));
    const start = this.startPosition(file, id, fd, fp, st.size, initial, recovered);
    if (start === null) {
      fs.closeSync(fd);
      return null;
    }
    const f = new TailedFile(file, fd, id, fp, start ?? 0, st.size);
    if (f.readPos > 0) f.tail = readAt(fd, Math.max(0, f.readPos - TAIL_BYTES), Math.min(TAIL_BYTES, f.readPos));
    this.files.set(f.key, f);
    if (recovered) f.detached = true;
    return f;
  }

  /** Where to start reading a file just opened; null when a recovered candidate is not the checkpointed file. */
  private startPosition(file: string, id: FileIdentity, fd: number, fp: Buffer, size: number, initial: boolean, recovered: boolean): number | null {
    const saved = this.restored.get(identityKey(id));
    if (saved) {
      const stored = Buffer.from(saved.fp, 'hex');
      const same = fp.length >= stored.length && fp.subarray(0, stored.length).equals(stored);
      if (recovered && !same) return null;
      this.restored.delete(identityKey(id));
      if (same) {
        if (saved.offset <= size) return saved.offset;
        log('info', `source ${this.ctx.name}`, 'file is shorter than its checkpoint (truncated while stopped); reading it from the beginning', { file });
        return 0;
      }
      log('info', `source ${this.ctx.name}`, 'inode reused by a different file; reading it from the beginning', { file });
      return 0;
    }
    const copyOf = this.copyPosition(fd, fp, size);
    if (copyOf === -1) {
      // Starts as a file we read but is shorter than our position there: a copy still being
      // written (copytruncate), or an old copy already read. Wait until its size settles.
      const seen = this.shortCopies.get(file);
      this.shortCopies.set(file, size);
      if (seen !== size) return null;
      this.shortCopies.delete(file);
      return size;
    }
    if (copyOf !== null) {
      log('info', `source ${this.ctx.name}`, 'file is a copy of one already read (copytruncate); reading it from the position reached in the original', { file, offset: copyOf });
      return copyOf;
    }
    return initial && this.cfg.read_from === 'end' ? size : 0;
  }

  /** If the new file starts as a file we read and holds its bytes up to our position there, that position. */
  private copyPosition(fd: number, fp: Buffer, size: number): number | null {
    if (fp.length < this.cfg.fingerprint_bytes) return null;
    const now = Date.now();
    for (const f of this.files.values()) {
      for (const [pos, tail, fprint] of candidates(f, now)) {
        if (fprint.length < this.cfg.fingerprint_bytes || !fprint.equals(fp)) continue;
        if (pos > size) return -1;
        if (tail.length > 0 && !readAt(fd, pos - tail.length, tail.length).equals(tail)) continue;
        return pos;
      }
    }
    return null;
  }

  /** Checkpointed files not found at a matched path: renamed while we were stopped? */
  private recoverRenamed(): void {
    for (const e of this.restored.values()) {
      const dir = path.dirname(e.path);
      let names: string[];
      try {
        names = fs.readdirSync(dir).slice(0, MAX_DIR_ENTRIES_SCANNED);
      } catch {
        continue;
      }
      for (const name of names) {
        const file = path.join(dir, name);
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch {
          continue;
        }
        if (st.ino !== e.ino || st.dev !== e.dev || !st.isFile()) continue;
        const f = this.open(file, st, true, true);
        if (f) log('info', `source ${this.ctx.name}`, 'file was renamed while stopped; reading it from its checkpoint to its end', { file, offset: f.readPos });
        break;
      }
    }
  }

  private schedulePoll(ms: number): void {
    if (this.stopping || this.pollTimer) return;
    this.pollTimer = setTimeout(() => { this.pollTimer = null; this.poll(); }, ms);
  }

  private poll(): void {
    if (this.stopping || this.polling) return;
    this.polling = true;
    let more = false;
    try {
      const now = Date.now();
      for (const f of [...this.files.values()]) {
        if (this.blocked) break;
        if (this.readFile(f, now)) more = true;
        this.flushPendingIfIdle(f, now);
        this.closeIfDone(f, now);
      }
    } finally {
      this.polling = false;
    }
    if (this.blocked) return;
    if (more) setImmediate(() => this.poll());
    else this.schedulePoll(this.cfg.poll_interval);
  }

  /** Reads what is new; true when more is left for the next turn. */
  private readFile(f: TailedFile, now: number): boolean {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(f.fd);
    } catch (e) {
      this.stats.error('reading', 'stat_failed', `cannot stat ${f.path}: ${(e as Error).message}`, { file: f.path });
      return false;
    }
    if (st.size < f.readPos) {
      this.truncated(f, now, 'size below the read position');
    } else if (st.size !== f.lastSize && f.fingerprint.length > 0) {
      // Truncated and written past our position again between two looks: the first bytes tell.
      const head = readAt(f.fd, 0, f.fingerprint.length);
      if (!head.equals(f.fingerprint)) this.truncated(f, now, 'first bytes changed');
    }
    if (st.size !== f.lastSize) { f.lastGrowth = now; f.lastSize = st.size; }
    if (f.fingerprint.length < this.cfg.fingerprint_bytes && st.size > f.fingerprint.length) {
      f.fingerprint = readAt(f.fd, 0, Math.min(this.cfg.fingerprint_bytes, st.size));
    }
    let budget = TURN_BYTES;
    while (f.readPos < st.size && budget > 0 && !this.blocked) {
      const n = Math.min(CHUNK_BYTES, st.size - f.readPos);
      // The unfinished line of the last read goes first, so lines are never copied twice.
      const prefix = f.partial;
      const pl = prefix === null ? 0 : prefix.length;
      const buf = Buffer.allocUnsafe(pl + n);
      if (prefix !== null) prefix.copy(buf, 0);
      let got: number;
      try {
        got = readInto(f.fd, buf, pl, n, f.readPos);
      } catch (e) {
        this.stats.error('reading', 'read_failed', `cannot read ${f.path}: ${(e as Error).message}`, { file: f.path });
        return false;
      }
      if (got === 0) break;
      this.stats.bytes.inc(got);
      budget -= got;
      this.consume(f, buf.subarray(0, pl + got), got, now);
    }
    return f.readPos < st.size && !this.blocked;
  }

  private truncated(f: TailedFile, now: number, why: string): void {
    log('info', `source ${this.ctx.name}`, 'file truncated (copytruncate rotation?); reading it from the beginning', { file: f.path, why, position: f.readPos });
    this.pending.delete(f);
    f.restart(now);
    f.lastSize = 0;
  }

  /** Splits a chunk read at f.readPos into lines and hands the complete ones to the router. */
  /** `buf` is the kept partial line followed by `readBytes` new bytes read at f.readPos. */
  private consume(f: TailedFile, buf: Buffer, readBytes: number, now: number, final = false): void {
    // Bytes of this buffer start at file position `base`.
    const base = f.readPos - (buf.length - readBytes);
    f.readPos += readBytes;
    f.partial = null;
    const events: LogEvent[] = [];
    const max = this.cfg.max_line_bytes;
    const source = this.sourceFor(f.path);
    const valid = isUtf8(buf);
    let lineStart = 0;
    let lastEnd = -1;
    for (;;) {
      const nl = buf.indexOf(0x0a, lineStart);
      if (nl < 0) break;
      const lineEndPos = base + nl + 1;
      if (f.skippingLongLine) {
        f.skippingLongLine = false;
        lineStart = nl + 1;
        lastEnd = nl + 1;
        f.emittedPos = this.pending.has(f) ? f.emittedPos : lineEndPos;
        continue;
      }
      let end = nl;
      if (end > lineStart && buf[end - 1] === 0x0d) end--;
      let truncatedLine = false;
      if (end - lineStart > max) {
        this.stats.error('reading', 'oversize', `a line of ${end - lineStart} bytes in ${f.path} exceeds max_line_bytes ${max}; cut`, { file: f.path });
        end = lineStart + max;
        truncatedLine = true;
      }
      this.line(f, buf, lineStart, end, lineEndPos, valid, truncatedLine, source, now, events);
      lineStart = nl + 1;
      lastEnd = nl + 1;
    }
    if (final && lineStart < buf.length && !f.skippingLongLine) {
      const end = Math.min(buf.length, lineStart + max);
      this.line(f, buf, lineStart, end, base + buf.length, valid, end < buf.length, source, now, events);
      lineStart = lastEnd = buf.length;
    }
    if (lineStart < buf.length) {
      const rest = buf.length - lineStart;
      if (f.skippingLongLine) {
        // still inside a line already cut: nothing to keep
      } else if (rest > max) {
        this.stats.error('reading', 'oversize', `a line in ${f.path} exceeds max_line_bytes ${max}; cut`, { file: f.path });
        this.line(f, buf, lineStart, lineStart + max, -1, valid, true, source, now, events);
        f.skippingLongLine = true;
      } else {
        // Copy: the rest of this (large) buffer need not stay alive for a few bytes.
        f.partial = Buffer.from(buf.subarray(lineStart));
      }
    }
    if (lastEnd > 0) {
      const tailFrom = Math.max(0, lastEnd - TAIL_BYTES);
      f.tail = Buffer.from(buf.subarray(tailFrom, lastEnd));
    }
    this.dispatch(f, events);
  }

  /** One complete line (or the cut head of an over-long one, lineEndPos -1: position unchanged). */
  private line(f: TailedFile, buf: Buffer, s: number, e: number, lineEndPos: number, valid: boolean, truncated: boolean,
    source: EventSource, now: number, events: LogEvent[]): void {
    const badUtf8 = !valid && !isUtf8(buf.subarray(s, e));
    if (badUtf8) this.stats.error('decoding', 'invalid_utf8', `a line in ${f.path} is not valid UTF-8; kept as read, flagged`, { file: f.path }, 'info');
    if (this.multiline !== null) {
      this.multilineLine(f, buf.toString('utf8', s, e), lineEndPos, truncated, source, now, events);
      return;
    }
    const ev = new LogEvent(source, now);
    ev.buf = buf;
    ev.start = s;
    ev.end = e;
    ev.msgStart = s;
    const d = new Decoded();
    d.hostname = this.host;
    ev.d = d;
    ev.fields = { file: f.path };
    if (badUtf8) ev.flags |= EventFlag.INVALID_UTF8;
    if (truncated) ev.flags |= EventFlag.TRUNCATED;
    events.push(ev);
    if (lineEndPos >= 0) f.emittedPos = lineEndPos;
  }

  private multilineLine(f: TailedFile, text: string, lineEndPos: number, truncated: boolean, source: EventSource, now: number, events: LogEvent[]): void {
    const ml = this.cfg.multiline!;
    let p = this.pending.get(f);
    if (p !== undefined && (this.multiline!.test(text) || p.lines.length >= ml.max_lines)) {
      events.push(this.multilineEvent(f, p, source, now));
      this.pending.delete(f);
      p = undefined;
    }
    if (p === undefined) {
      p = { lines: [], bytes: 0, endPos: f.emittedPos, lastAt: now, truncated: false };
      this.pending.set(f, p);
    }
    const room = this.cfg.max_line_bytes - p.bytes;
    if (text.length > room) {
      // The joined event is over max_line_bytes: keep what fits, drop the rest of its lines.
      if (!p.truncated) this.stats.error('reading', 'oversize', `a multiline event in ${f.path} exceeds max_line_bytes ${this.cfg.max_line_bytes}; cut`, { file: f.path });
      truncated = true;
      if (room > 0) p.lines.push(text.slice(0, room));
      p.bytes = this.cfg.max_line_bytes;
    } else {
      p.lines.push(text);
      p.bytes += text.length + 1;
    }
    p.lastAt = now;
    if (truncated) p.truncated = true;
    if (lineEndPos >= 0) p.endPos = lineEndPos;
  }

  private multilineEvent(f: TailedFile, p: Pending, source: EventSource, now: number): LogEvent {
    const ev = LogEvent.fromValues(source, now, { hostname: this.host, message: p.lines.join('\n'), fields: { file: f.path } });
    ev.facility = null;
    ev.severity = null;
    if (p.truncated) ev.flags |= EventFlag.TRUNCATED;
    f.emittedPos = p.endPos;
    return ev;
  }

  private flushPendingIfIdle(f: TailedFile, now: number): void {
    const p = this.pending.get(f);
    if (p === undefined || now - p.lastAt < this.cfg.multiline!.timeout) return;
    this.pending.delete(f);
    this.dispatch(f, [this.multilineEvent(f, p, this.sourceFor(f.path), now)]);
  }

  private sourceFor(file: string): EventSource {
    let s = this.sources.get(file);
    if (s === undefined) {
      if (this.sources.size > 10_000) this.sources.clear();
      this.sources.set(file, (s = { name: this.ctx.name, transport: 'file', address: null, port: null, tlsPeer: null }));
    }
    return s;
  }

  private dispatch(f: TailedFile, events: LogEvent[]): void {
    if (events.length === 0) {
      // Lines dropped whole (the rest of a cut line) still move the position.
      if (f.commit.unsettled === 0 && !this.pending.has(f) && f.commit.committed !== f.emittedPos) {
        f.commit.ticket(f.emittedPos)();
        this.checkpoint.schedule();
      }
      return;
    }
    this.stats.received.inc(events.length);
    const settle = f.commit.ticket(f.emittedPos);
    const ack = new BatchAck((outcome: AckOutcome) => {
      if (outcome === 'rejected') this.stats.error('queueing', 'rejected', 'a destination refused lines (buffer full under drop_newest); they are counted there as dropped');
      if (settle()) this.checkpoint.schedule();
    }, true);
    const ready = this.ctx.router.dispatch(this.ctx.name, events, ack, true);
    if (!ready && !this.blocked) {
      this.blocked = true;
      this.ctx.router.whenReady(this.ctx.name, () => {
        this.blocked = false;
        this.poll();
      });
    }
  }

  /** Closes a detached file once read to its end, idle for rotate_wait and all its lines taken. */
  private closeIfDone(f: TailedFile, now: number): void {
    if (!f.detached || now - f.lastGrowth < this.cfg.rotate_wait || f.readPos < f.lastSize) return;
    // The writer is done with it: a last line without a newline is a line too.
    if (f.partial !== null) this.consume(f, f.partial, 0, now, true);
    const p = this.pending.get(f);
    if (p) { this.pending.delete(f); this.dispatch(f, [this.multilineEvent(f, p, this.sourceFor(f.path), now)]); }
    if (f.commit.unsettled > 0) return;
    f.close();
    this.files.delete(f.key);
    this.sources.delete(f.path);
    log('info', `source ${this.ctx.name}`, 'released a renamed or removed file read to its end', { file: f.path, bytes: f.readPos });
    this.checkpoint.schedule();
  }

  private state(): FileCheckpoint {
    const files: CheckpointEntry[] = [];
    for (const f of this.files.values()) {
      files.push({ dev: f.id.dev, ino: f.id.ino, fp: f.fingerprint.toString('hex'), offset: f.commit.committed, path: f.path });
    }
    return { version: 1, files };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.pollTimer = this.scanTimer = null;
    // Acks settling while destinations drain write the checkpoint synchronously from here on.
    await this.checkpoint.close();
    // A late ack only needs the positions, not the descriptors (a reload must not leak them).
    for (const f of this.files.values()) f.close();
  }
}

/** Positions of a file a copy could resume from: where we are, and where we were before a truncation. */
function candidates(f: TailedFile, now: number): [number, Buffer, Buffer][] {
  const out: [number, Buffer, Buffer][] = [[f.emittedPos, f.tail, f.fingerprint]];
  const b = f.beforeTruncate;
  if (b && now - b.at < COPY_MEMORY_MS) out.push([b.emittedPos, b.tail, b.fingerprint]);
  return out;
}

export const fileSourceKind: SourceKind = {
  ...fileSourceInfo,
  build: (config, ctx) => new FileSource(config as FileSourceConfig, ctx),
};
