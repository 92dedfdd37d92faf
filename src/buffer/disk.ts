// A destination's queue on disk: segment files appended with group commit, read back in order, with a durable checkpoint.
//
// Writes: push() encodes its batch into one record at once (so `bytes` is exact) and queues
// it; one write is in flight at a time and everything pushed meanwhile goes out in the next
// single writev (group commit). A batch's ack is released only when its write completed
// (and was fsynced with fsync: 'always'), so a kill -9 after the ack finds it in the file.
//
// Reads: recently written batches stay in memory (up to cacheBytes) and are handed out as
// the very objects pushed; older ones (a backlog, or what recovery found) are read back
// from disk in chunks and decoded. commit() moves the checkpoint past the last take and
// deletes segments left behind. The checkpoint is only ever behind the truth, so a crash
// re-delivers at most the batches committed since the last checkpoint write (at-least-once).
//
// Layout of the directory: segment-NNNNNNNNNN.log (see disk/segment-format.ts) and
// `checkpoint` (see disk/checkpoint.ts).

import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEvents, encodeEvents, SourceInterner } from '../event/binary.js';
import type { LogEvent } from '../event/log-event.js';
import { describeError } from '../errors.js';
import { log, RateLimitedLog } from '../log.js';
import type { BatchAck } from '../pipeline/acknowledgement.js';
import { CheckpointFile, type Checkpoint } from './disk/checkpoint.js';
import { emptySegment, recoverSegments, unlinkQuiet, type Segment } from './disk/recovery.js';
import { MAX_PAYLOAD, readRecords, RECORD_HEADER_BYTES, sealRecord, SEGMENT_HEADER_BYTES, segmentHeader, type ReadStop } from './disk/segment-format.js';
import { makeDirs } from '../util/make-dirs.js';
import { eventSize, type EventBuffer, type WhenFull } from './types.js';

export type FsyncPolicy = 'never' | 'always' | number;

export interface DiskBufferOptions {
  dir: string;
  maxBytes: number;
  whenFull: WhenFull;
  /** A segment file is closed once it reaches this size (default 64 MiB). */
  segmentBytes?: number;
  /** 'never' (default: the page cache survives kill -9), 'always' (before each ack), or an interval in ms. */
  fsync?: FsyncPolicy;
  /** Recently written events kept in memory to send without reading back, by eventSize (default 4 MiB: a sender that keeps up is never further behind; a backlog is read back from the file). */
  cacheBytes?: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 4 * 1024 * 1024;
/** Raw bytes per record before a large push is split into several records. */
const RECORD_TARGET_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const DRAIN_RATIO = 0.8;
const READ_RETRY_MS = 1000;

/** A stored record in memory: `next` events of it are taken already. Zero events = a skipped damaged range. */
interface MemRecord {
  seg: number;
  pos: number;
  size: number;
  events: LogEvent[];
  next: number;
  memBytes: number;
}

interface PendingRecord {
  rec: Buffer;
  events: LogEvent[];
  memBytes: number;
  /** Set on the last record of a push: released when that record is written. */
  ack: BatchAck | null;
}

interface Taken {
  count: number;
  bytes: number;
  end: Checkpoint;
  perSeg: { seg: number; events: number; bytes: number }[];
}

type State = 'new' | 'open' | 'closing' | 'closed';

export class DiskBuffer implements EventBuffer {
  readonly kind = 'disk' as const;
  onReadable: () => void = () => {};
  onDrain: () => void = () => {};

  private readonly dir: string;
  private readonly maxBytes: number;
  readonly whenFull: WhenFull;
  private readonly segmentBytes: number;
  private readonly fsync: FsyncPolicy;
  private readonly cacheLimit: number;
  private readonly component: string;
  private readonly problems: RateLimitedLog;
  private readonly interner = new SourceInterner();

  private state: State = 'new';
  private _events = 0;
  private _bytes = 0;
  private _full = false;
  private _recovered = 0;
  private _truncatedTail = 0;
  private _corrupt = 0;

  private readonly segments = new Map<number, Segment>();
  private writeSeg!: Segment;
  private pending: PendingRecord[] = [];
  private writing: Promise<void> | null = null;
  private readonly dirty = new Set<Segment>();
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing = false;

  private cache: MemRecord[] = [];
  private cacheHead = 0;
  private cacheBytes = 0;
  private ahead: MemRecord[] = [];
  private cursor: Checkpoint = { seg: 0, pos: SEGMENT_HEADER_BYTES, skip: 0 };
  private taken: Taken | null = null;
  private waiting = false;
  private reading: Promise<void> | null = null;
  /** Set after a failed read: the next one waits for it, so a broken disk is not hammered. */
  private readRetry: NodeJS.Timeout | null = null;
  private readFh: { id: number; fh: FileHandle } | null = null;

  private ckFile: CheckpointFile | null = null;
  private checkpoint: Checkpoint = this.cursor;
  private ckDirty = false;
  private ckWriting: Promise<void> | null = null;

  constructor(opts: DiskBufferOptions) {
    if (!(opts.maxBytes > 0)) throw new RangeError(`disk buffer ${opts.dir}: max_bytes must be positive, got ${opts.maxBytes}`);
    const seg = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!(seg >= 1024 && seg <= 0x7fffffff)) throw new RangeError(`disk buffer ${opts.dir}: segment size must be 1 KiB..2 GiB, got ${seg}`);
    const f = opts.fsync ?? 'never';
    if (typeof f === 'number' && !(f > 0)) throw new RangeError(`disk buffer ${opts.dir}: fsync interval must be positive ms, got ${f}`);
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.whenFull = opts.whenFull;
    this.segmentBytes = seg;
    this.fsync = f;
    this.cacheLimit = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.component = `disk buffer ${opts.dir}`;
    this.problems = new RateLimitedLog(this.component);
  }

  get events(): number { return this._events; }
  get bytes(): number { return this._bytes; }
  get full(): boolean { return this._full; }
  /** Events found pending on disk by open(). */
  get recoveredEvents(): number { return this._recovered; }
  /** Unfinished records cut from the end of the last segment by open() (a write interrupted by a crash). */
  get truncatedTailRecords(): number { return this._truncatedTail; }
  /** Damaged records or segment headers found (by open() or while reading); each was skipped, or the rest of its segment. */
  get corruptRecords(): number { return this._corrupt; }

  // ------------------------------------------------------------------------ open / recovery

  /** Creates the directory, or recovers what a previous run left in it. */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error(`${this.component}: open() called twice`);
    try {
      await makeDirs(this.dir);
      this.ckFile = await CheckpointFile.open(join(this.dir, 'checkpoint'));
      if (this.ckFile.damaged) log('warn', this.component, 'a checkpoint slot was damaged; using the other one (may re-deliver)', { file: this.ckFile.path });
      const saved = this.ckFile.initial;
      const r = await recoverSegments(this.dir, saved, this.component);
      for (const seg of r.segments) {
        this.segments.set(seg.id, seg);
        this._events += seg.events;
        this._bytes += seg.bytes;
      }
      this._truncatedTail = r.truncatedTailRecords;
      this._corrupt = r.corruptRecords;
      this.writeSeg = this.newSegment(Math.max(r.lastId, saved?.seg ?? 0) + 1);
      const start = saved !== null && this.segments.has(saved.seg) ? saved : { seg: this.firstSegmentId(), pos: SEGMENT_HEADER_BYTES, skip: 0 };
      this.start(start);
    } catch (e) {
      await this.ckFile?.close().catch(() => {});
      this.ckFile = null;
      this.segments.clear();
      this._events = this._bytes = this._truncatedTail = this._corrupt = 0;
      throw new Error(`${this.component}: cannot open: ${describeError(e)}`, { cause: e });
    }
  }

  private start(from: Checkpoint): void {
    this.checkpoint = this.cursor = this.normalize(from);
    this._recovered = this._events;
    this.state = 'open';
    if (this._bytes >= this.maxBytes) this._full = true;
    this.persistCheckpoint();
    if (typeof this.fsync === 'number') {
      this.syncTimer = setInterval(() => void this.syncDirty(), this.fsync);
      this.syncTimer.unref();
    }
    if (this._recovered > 0 || this._truncatedTail > 0 || this._corrupt > 0) {
      log('info', this.component, 'recovered pending events', {
        events: this._recovered, bytes: this._bytes, segments: this.segments.size - 1,
        truncated_tail_records: this._truncatedTail, corrupt_records: this._corrupt,
      });
    }
  }

  private newSegment(id: number): Segment {
    const seg = emptySegment(this.dir, id);
    this.segments.set(id, seg);
    return seg;
  }

  private firstSegmentId(): number {
    for (const id of this.segments.keys()) return id;
    return this.writeSeg.id;
  }

  private nextSegmentId(id: number): number | null {
    let best: number | null = null;
    for (const k of this.segments.keys()) if (k > id && (best === null || k < best)) best = k;
    return best;
  }

  /** Moves a position over skipped damage, and from the end of a finished segment to the start of the next one. */
  private normalize(c: Checkpoint): Checkpoint {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const seg = this.segments.get(c.seg);
      const hole = seg !== undefined && c.skip === 0 ? seg.holes.find((h) => h.start === c.pos) : undefined;
      if (hole !== undefined) { c = { seg: c.seg, pos: hole.end, skip: 0 }; continue; }
      if (seg !== undefined && !(seg.closed && c.pos >= seg.assigned && seg.durable >= seg.assigned)) return c;
      const next = this.nextSegmentId(c.seg);
      if (next === null) return c;
      c = { seg: next, pos: SEGMENT_HEADER_BYTES, skip: 0 };
    }
    return c;
  }

  // ------------------------------------------------------------------------ push / write

  push(events: LogEvent[], ack: BatchAck | null, canWait: boolean): boolean {
    if (this.state === 'new') throw new Error(`${this.component}: push before open()`);
    if (this.state !== 'open' || (this._full && (this.whenFull === 'drop_newest' || !canWait))) {
      if (ack) { ack.hold(); ack.release(false); }
      return false;
    }
    if (events.length === 0) return true;
    let records: PendingRecord[];
    try {
      records = this.encode(events);
    } catch (e) {
      this.problems.report('error', 'encode', 'cannot encode events for the disk buffer; batch refused', { error: describeError(e), events: events.length });
      if (ack) { ack.hold(); ack.release(false); }
      return false;
    }
    let bytes = 0;
    for (const r of records) bytes += r.rec.length;
    if (ack) { ack.hold(); records[records.length - 1]!.ack = ack; }
    for (const r of records) this.pending.push(r);
    this._events += events.length;
    this._bytes += bytes;
    if (this._bytes >= this.maxBytes) this._full = true;
    if (this.writing === null) this.writing = this.writeLoop();
    return true;
  }

  /** One record per ~RECORD_TARGET_BYTES of raw event bytes, each with its header sealed. */
  private encode(events: LogEvent[]): PendingRecord[] {
    const out: PendingRecord[] = [];
    let from = 0, raw = 0, mem = 0;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      raw += ev.end - ev.start;
      mem += eventSize(ev);
      if (raw >= RECORD_TARGET_BYTES || i === events.length - 1) {
        const rec = encodeEvents(events, { from, to: i + 1, headroom: RECORD_HEADER_BYTES });
        if (rec.length - RECORD_HEADER_BYTES > MAX_PAYLOAD) throw new RangeError(`an encoded batch of ${rec.length} bytes exceeds the record limit`);
        sealRecord(rec);
        out.push({ rec, events: from === 0 && i === events.length - 1 ? events : events.slice(from, i + 1), memBytes: mem, ack: null });
        from = i + 1;
        raw = mem = 0;
      }
    }
    return out;
  }

  /** Writes whatever is pending, one group at a time, until nothing is. Never throws. */
  private async writeLoop(): Promise<void> {
    try {
      for (let guard = 0; this.pending.length > 0 && guard < Number.MAX_SAFE_INTEGER; guard++) {
        const group = this.pending;
        this.pending = [];
        await this.writeGroup(group);
      }
    } catch (e) {
      log('error', this.component, 'internal error in the write loop', { error: describeError(e) });
    } finally {
      this.writing = null;
    }
  }

  private async writeGroup(group: PendingRecord[]): Promise<void> {
    let i = 0;
    while (i < group.length) {
      const prev = this.writeSeg;
      const seg = this.segmentFor(group[i]!.rec.length);
      if (seg !== prev) await this.closeWriteHandle(prev);
      const start = seg.headerWritten ? seg.assigned : 0;
      const bufs: Buffer[] = seg.headerWritten ? [] : [segmentHeader()];
      const placed: { r: PendingRecord; pos: number }[] = [];
      while (i < group.length) {
        const r = group[i]!;
        if (placed.length > 0 && seg.assigned + r.rec.length > this.segmentBytes) break;
        placed.push({ r, pos: seg.assigned });
        bufs.push(r.rec);
        seg.assigned += r.rec.length;
        i++;
      }
      if (seg.assigned >= this.segmentBytes || i < group.length) seg.closed = true;
      try {
        await this.writeRun(seg, bufs, start);
      } catch (e) {
        await this.failRun(seg, placed, e);
        continue;
      }
      this.completeRun(seg, placed);
      if (seg.closed) await this.closeWriteHandle(seg);
    }
  }

  /** The segment to append a record of `size` bytes to: the current one, or a new one when it is full. */
  private segmentFor(size: number): Segment {
    const cur = this.writeSeg;
    if (!cur.closed && !(cur.assigned > SEGMENT_HEADER_BYTES && cur.assigned + size > this.segmentBytes)) return cur;
    cur.closed = true;
    return (this.writeSeg = this.newSegment(cur.id + 1));
  }

  private async writeRun(seg: Segment, bufs: Buffer[], at: number): Promise<void> {
    if (seg.fh === null) {
      seg.fh = await open(seg.path, 'wx+');
      if (this.fsync === 'always') await this.syncDir();
    }
    let total = 0;
    for (const b of bufs) total += b.length;
    const { bytesWritten } = await seg.fh.writev(bufs, at);
    if (bytesWritten !== total) throw new Error(`short write: ${bytesWritten} of ${total} bytes`);
    if (this.fsync === 'always') await seg.fh.datasync();
    else if (this.fsync !== 'never') this.dirty.add(seg);
  }

  private completeRun(seg: Segment, placed: { r: PendingRecord; pos: number }[]): void {
    seg.headerWritten = true;
    for (const { r, pos } of placed) {
      const count = r.events.length;
      seg.durable = pos + r.rec.length;
      seg.events += count;
      seg.bytes += r.rec.length;
      this.cache.push({ seg: seg.id, pos, size: r.rec.length, events: r.events, next: 0, memBytes: r.memBytes });
      this.cacheBytes += r.memBytes;
    }
    this.evictCache();
    for (const { r } of placed) if (r.ack !== null) this.settle(r.ack, true);
    this.wake();
  }

  /** A failed write: its batches are refused (the source re-sends) and the segment is abandoned. */
  private async failRun(seg: Segment, placed: { r: PendingRecord; pos: number }[], e: unknown): Promise<void> {
    const at = placed[0]?.pos ?? seg.durable;
    this.problems.report('error', 'write', 'cannot write to the disk buffer; batches refused', { file: seg.path, offset: at, error: describeError(e) });
    seg.assigned = seg.durable;
    seg.closed = true;
    if (seg.fh !== null) await seg.fh.truncate(seg.headerWritten ? seg.durable : 0).catch(() => {});
    await this.closeWriteHandle(seg);
    let bytes = 0;
    for (const { r } of placed) {
      this._events -= r.events.length;
      bytes += r.rec.length;
    }
    this._bytes -= bytes;
    for (const { r } of placed) if (r.ack !== null) this.settle(r.ack, false);
    this.checkDrain();
  }

  private settle(ack: BatchAck, ok: boolean): void {
    try {
      ack.release(ok);
    } catch (e) {
      log('error', this.component, 'acknowledgement callback failed', { error: describeError(e) });
    }
  }

  private async closeWriteHandle(seg: Segment): Promise<void> {
    const fh = seg.fh;
    if (fh === null) return;
    seg.fh = null;
    this.dirty.delete(seg);
    try {
      if (this.fsync !== 'never') await fh.datasync();
    } catch (e) {
      log('error', this.component, 'fsync failed', { file: seg.path, error: describeError(e) });
    }
    await fh.close().catch(() => {});
  }

  private async syncDir(): Promise<void> {
    const d = await open(this.dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  }

  /** The fsync interval's tick: flushes segments written since the last one. */
  private async syncDirty(): Promise<void> {
    if (this.syncing || this.dirty.size === 0) return;
    this.syncing = true;
    const segs = [...this.dirty];
    this.dirty.clear();
    try {
      for (const s of segs) {
        if (s.fh !== null) await s.fh.datasync().catch((e) => this.problems.report('error', 'fsync', 'fsync failed', { file: s.path, error: describeError(e) }));
      }
    } finally {
      this.syncing = false;
    }
  }

  private evictCache(): void {
    while (this.cacheBytes > this.cacheLimit && this.cacheHead < this.cache.length) {
      this.cacheBytes -= this.cache[this.cacheHead]!.memBytes;
      this.cache[this.cacheHead++] = undefined as unknown as MemRecord;
    }
    this.compactCache();
  }

  private compactCache(): void {
    if (this.cacheHead > 1024 && this.cacheHead * 2 > this.cache.length) {
      this.cache = this.cache.slice(this.cacheHead);
      this.cacheHead = 0;
    }
  }

  // ------------------------------------------------------------------------ take / commit / read

  take(max: number): LogEvent[] | null {
    if (this.taken !== null) throw new Error(`${this.component}: take before commit`);
    if (this.state !== 'open' || max <= 0) return null;
    const parts: LogEvent[][] = [];
    const t: Taken = { count: 0, bytes: 0, end: this.cursor, perSeg: [] };
    let moved = false;
    for (let guard = 0; t.count < max && guard < 1_000_000; guard++) {
      const rec = this.front();
      if (rec === null) break;
      const n = Math.min(max - t.count, Math.max(0, rec.events.length - rec.next));
      if (n > 0) parts.push(rec.next === 0 && n === rec.events.length ? rec.events : rec.events.slice(rec.next, rec.next + n));
      rec.next += n;
      t.count += n;
      moved = true;
      const done = rec.next >= rec.events.length;
      addPerSeg(t, rec.seg, n, done ? rec.size : 0);
      if (done) {
        t.bytes += rec.size;
        this.popFront();
        this.cursor = this.normalize({ seg: rec.seg, pos: rec.pos + rec.size, skip: 0 });
      } else {
        this.cursor = { seg: rec.seg, pos: rec.pos, skip: rec.next };
      }
    }
    t.end = this.cursor;
    if (t.count === 0) {
      // Only empty ranges (skipped damage) were passed: commit them here, nobody will.
      if (moved) { this.taken = t; this.commit(); }
      this.waiting = true;
      this.startRead();
      return null;
    }
    this.taken = t;
    return parts.length === 1 ? parts[0]! : flatten(parts, t.count);
  }

  /** The in-memory record at the read cursor, if any. */
  private front(): MemRecord | null {
    this.cursor = this.normalize(this.cursor);
    if (this.ahead.length > 0) return this.ahead[0]!;
    const c = this.cursor;
    while (this.cacheHead < this.cache.length) {
      const r = this.cache[this.cacheHead]!;
      if (r.seg > c.seg || (r.seg === c.seg && r.pos >= c.pos)) return r.seg === c.seg && r.pos === c.pos ? r : null;
      // Behind the cursor (already read from disk): cannot happen by construction, but never serve it twice.
      this.cacheBytes -= r.memBytes;
      this.cache[this.cacheHead++] = undefined as unknown as MemRecord;
    }
    return null;
  }

  private popFront(): void {
    if (this.ahead.length > 0) { this.ahead.shift(); return; }
    this.cacheBytes -= this.cache[this.cacheHead]!.memBytes;
    this.cache[this.cacheHead++] = undefined as unknown as MemRecord;
    this.compactCache();
  }

  commit(): void {
    const t = this.taken;
    if (t === null) return;
    this.taken = null;
    this._events -= t.count;
    this._bytes -= t.bytes;
    for (const d of t.perSeg) {
      const s = this.segments.get(d.seg);
      if (s !== undefined) { s.events -= d.events; s.bytes -= d.bytes; }
    }
    this.checkpoint = this.normalize(t.end);
    this.persistCheckpoint();
    this.checkDrain();
  }

  private checkDrain(): void {
    if (this._full && this._bytes < this.maxBytes * DRAIN_RATIO) {
      this._full = false;
      this.onDrain();
    }
  }

  /** Tells the runner that take() may now succeed, if it is waiting for that. */
  private wake(): void {
    if (!this.waiting || this.state !== 'open') return;
    this.waiting = false;
    this.onReadable();
  }

  /** Starts reading the next chunk at the cursor from disk, unless one is in flight or nothing is written there. */
  private startRead(): void {
    if (this.reading !== null || this.readRetry !== null || this.state !== 'open') return;
    const c = (this.cursor = this.normalize(this.cursor));
    const seg = this.segments.get(c.seg);
    if (seg === undefined) return;
    let limit = seg.durable;
    const first = this.cacheHead < this.cache.length ? this.cache[this.cacheHead]! : null;
    if (first !== null && first.seg === seg.id && first.pos < limit) limit = first.pos;
    for (const h of seg.holes) if (h.start >= c.pos && h.start < limit) limit = h.start;
    if (c.pos >= limit) return; // nothing written past the cursor yet: a write completion wakes us
    this.reading = this.readAhead(seg, c, limit).then(
      () => {
        this.reading = null;
        this.wake();
      },
      (e: unknown) => {
        this.reading = null;
        this.problems.report('error', 'read', 'cannot read the disk buffer; will retry', { file: seg.path, offset: c.pos, error: describeError(e) });
        this.readRetry = setTimeout(() => {
          this.readRetry = null;
          this.wake();
        }, READ_RETRY_MS);
      },
    );
  }

  private async readAhead(seg: Segment, at: Checkpoint, limit: number): Promise<void> {
    const fh = await this.readHandle(seg);
    const r = await readRecords(fh, at.pos, limit, READ_CHUNK_BYTES);
    if (this.state !== 'open') return;
    const recs: MemRecord[] = [];
    let stop = r.stop;
    for (const f of r.records) {
      let events: LogEvent[];
      try {
        events = decodeEvents(f.buf, f.off, f.off + f.len, this.interner);
      } catch (e) {
        stop = { pos: f.pos, reason: describeError(e), resume: null };
        break;
      }
      recs.push({ seg: seg.id, pos: f.pos, size: f.size, events, next: f.pos === at.pos ? Math.min(at.skip, events.length) : 0, memBytes: 0 });
    }
    if (stop !== null) recs.push(this.skipDamage(seg, stop, recs, limit));
    for (const x of recs) this.ahead.push(x);
  }

  /**
   * Damage found while reading (the file changed after open): the range from the bad record
   * to `limit`, a known record boundary, is skipped as one empty record; its events are lost
   * and counted out now.
   */
  private skipDamage(seg: Segment, stop: ReadStop, kept: MemRecord[], limit: number): MemRecord {
    this._corrupt++;
    log('error', this.component, 'corrupt record while reading; skipping to the next readable record', { file: seg.path, offset: stop.pos, skipped_bytes: limit - stop.pos, reason: stop.reason });
    let keptEvents = 0;
    for (const k of kept) keptEvents += k.events.length - k.next;
    let cachedEvents = 0;
    for (let i = this.cacheHead; i < this.cache.length; i++) if (this.cache[i]!.seg === seg.id) cachedEvents += this.cache[i]!.events.length;
    const lost = Math.max(0, seg.events - keptEvents - cachedEvents);
    seg.events -= lost;
    this._events -= lost;
    return { seg: seg.id, pos: stop.pos, size: limit - stop.pos, events: [], next: 0, memBytes: 0 };
  }

  private async readHandle(seg: Segment): Promise<FileHandle> {
    if (this.readFh !== null && this.readFh.id === seg.id) return this.readFh.fh;
    await this.closeReadHandle();
    const fh = await open(seg.path, 'r');
    this.readFh = { id: seg.id, fh };
    return fh;
  }

  private async closeReadHandle(): Promise<void> {
    const r = this.readFh;
    this.readFh = null;
    if (r !== null) await r.fh.close().catch(() => {});
  }

  // ------------------------------------------------------------------------ checkpoint

  /** Writes the checkpoint soon; writes are coalesced, one in flight at a time. */
  private persistCheckpoint(): void {
    if (this.state === 'closed') return;
    this.ckDirty = true;
    if (this.ckWriting === null) this.ckWriting = this.checkpointLoop();
  }

  private async checkpointLoop(): Promise<void> {
    try {
      for (let guard = 0; this.ckDirty && guard < Number.MAX_SAFE_INTEGER; guard++) {
        this.ckDirty = false;
        const ck = this.checkpoint;
        try {
          await this.ckFile!.write(ck, this.fsync === 'always');
        } catch (e) {
          // Only costs duplicates after a crash; the next commit tries again.
          this.problems.report('error', 'checkpoint', 'cannot write the checkpoint', { file: this.ckFile!.path, error: describeError(e) });
          break;
        }
        await this.deleteSegmentsBefore(ck.seg);
      }
    } finally {
      this.ckWriting = null;
    }
  }

  /** Deletes finished segments wholly before the persisted checkpoint. */
  private async deleteSegmentsBefore(id: number): Promise<void> {
    for (const seg of [...this.segments.values()]) {
      if (seg.id >= id || !seg.closed || seg === this.writeSeg) continue;
      this.segments.delete(seg.id);
      if (this.readFh?.id === seg.id) await this.closeReadHandle();
      await this.closeWriteHandle(seg);
      await unlinkQuiet(seg.path, this.component);
    }
  }

  // ------------------------------------------------------------------------ close

  /** Writes what is pending, persists the checkpoint and closes the files. Pushes after this are refused. */
  async close(): Promise<void> {
    if (this.state !== 'open') { this.state = 'closed'; return; }
    this.state = 'closing';
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    if (this.readRetry !== null) { clearTimeout(this.readRetry); this.readRetry = null; }
    for (let guard = 0; this.writing !== null && guard < 1_000_000; guard++) await this.writing;
    if (this.reading !== null) await this.reading;
    this.persistCheckpoint();
    for (let guard = 0; this.ckWriting !== null && guard < 1_000_000; guard++) await this.ckWriting;
    await this.closeWriteHandle(this.writeSeg);
    await this.closeReadHandle();
    await this.ckFile?.close().catch(() => {});
    this.cache = [];
    this.cacheHead = 0;
    this.ahead = [];
    this.state = 'closed';
  }
}

function addPerSeg(t: Taken, seg: number, events: number, bytes: number): void {
  const last = t.perSeg[t.perSeg.length - 1];
  if (last !== undefined && last.seg === seg) { last.events += events; last.bytes += bytes; }
  else t.perSeg.push({ seg, events, bytes });
}

function flatten(parts: LogEvent[][], n: number): LogEvent[] {
  const out = new Array<LogEvent>(n);
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[k++] = p[i]!;
  return out;
}
