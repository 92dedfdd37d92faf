// The embedded store's write side: sequence numbers, record bytes, sealing, commits in a writer thread.
//
// One write() = one batch: events are grouped by UTC day (most batches are one group); each
// group gets the next sequence numbers, its record bytes go to the Sealer for leaf hashes,
// and the writer thread commits it in one transaction, then the text thread indexes its
// messages (text-writer.ts). write() resolves after every group is committed and indexed;
// only then is a checkpoint considered, so the seal never signs what is not stored.
//
// Sequence numbers: the next is max(seq)+1 over all partitions at open. Groups commit one
// after another and each holds a contiguous range, so a crash between two groups leaves no
// gap (the uncommitted group was not acknowledged and comes again).
//
// The Sealer contract this relies on: checkpoint() is only called for committed records. The
// sealer is opened with the store's last seq and its stored hashes, so it can rebuild its
// tree past the last checkpoint (the seal's openSealer does); if it comes back smaller, the
// store appends the committed records after sealer.size itself (checking the stored hash).

import { MessageChannel, Worker } from 'node:worker_threads';
import fs from 'node:fs';
import type { LogEvent } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import { log } from '../../log.js';
import type { CheckpointReason, Sealer, SealMark, SealRecord, SealSource } from '../seal/types.js';
import { PartitionWriter, NO_MESSAGE, type WriteJob } from './partition-writer.js';
import { TextWriter } from './text-writer.js';
import { RecordWriter, recordBytes } from './record.js';
import { compactEvent } from './event-form.js';
import { dayOf, dayStart, eventTime, listPartitions, writeStoreMarker } from './schema.js';
import { hashesInSeqOrder, recordsInSeqOrder, maxSeq } from './scan.js';
import { applyRetention, droppedMaxSeq } from './retention.js';
import type { RetentionPlan, RetentionPolicy } from '../archive/retention.js';
import type { WorkerReply, WorkerRequest } from './write-worker.js';

/** What the store tells the sealer it opens: where the committed records end, and their stored hashes. */
export interface SealerState {
  lastSeq: number;
  /** Stored leaf hashes of seq from..to inclusive, in seq order. */
  leafHashes: (fromSeq: number, toSeq: number) => Iterable<Buffer>;
}

export interface EmbeddedStoreOptions {
  /** Opens the Sealer (again, after a failed commit) given what the database holds. */
  openSealer: (state: SealerState) => Promise<Sealer>;
  /** Run SQLite writes in a worker thread (default true). */
  worker?: boolean;
  /** How often an idle store asks the sealer whether a checkpoint is due (ms). */
  tickMs?: number;
}

const HASH_BYTES = 32;
const DAY_MS = 86_400_000;
/**
 * Events per transaction handed to the writer thread (a batch is pipelined in chunks). 4,096
 * instead of 1,024: fewer commits rewrite the same index and FTS pages, about 0.3 µs less
 * writer CPU per event in bench/micro/store-ingest.ts.
 */
const CHUNK_EVENTS = 4096;

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Events of one UTC day, with their event times (eventTime). */
interface Group { day: string; events: LogEvent[]; times: number[] }

export class EmbeddedStore {
  private nextSeq: number;
  private sealer: Sealer;
  /** Settles when every write so far has committed or failed. */
  private writing: Promise<void> = Promise.resolve();
  /** Settles when the last write's chunks are all handed to the writer (the next may encode). */
  private posting: Promise<void> = Promise.resolve();
  /** Writes encoded and not yet settled: while any is, the idle timer signs nothing. */
  private inFlight = 0;
  private broken: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private newestDay: string | null;
  private readonly inline: { rows: PartitionWriter; text: TextWriter } | null;
  /** The rows writer thread and the text index thread (none inline). */
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private requestId = 0;
  private readonly writer = new RecordWriter(1 << 20);
  /** The source whose source, transport and peer columns lastSourceBytes holds. */
  private lastSource: LogEvent['source'] | null = null;
  private lastSourceBytes: Buffer = Buffer.alloc(0);
  /** Where each record of the chunk being encoded starts and ends, and where its leaf hash goes. */
  private readonly offsets = { starts: new Uint32Array(CHUNK_EVENTS), ends: new Uint32Array(CHUNK_EVENTS), hashAt: new Uint32Array(CHUNK_EVENTS) };
  private closed = false;

  private constructor(readonly dir: string, private readonly opts: EmbeddedStoreOptions, sealer: Sealer, lastSeq: number) {
    this.sealer = sealer;
    this.nextSeq = lastSeq + 1;
    this.newestDay = listPartitions(dir)[0]?.day ?? null;
    if (opts.worker === false) {
      const text = new TextWriter(dir);
      text.catchUp();
      this.inline = { rows: new PartitionWriter(dir), text };
      this.workers = [];
    } else {
      this.inline = null;
      // Rows thread → text thread: a job goes on to the text index once its rows committed.
      const { port1, port2 } = new MessageChannel();
      const rows = new Worker(new URL('./write-worker.js', import.meta.url), { workerData: { dir, port: port1 }, transferList: [port1] });
      const text = new Worker(new URL('./text-worker.js', import.meta.url), { workerData: { dir, port: port2 }, transferList: [port2] });
      this.workers = [rows, text];
      for (const [w, what] of [[rows, 'writer'], [text, 'text index']] as const) {
        // The daemon is kept alive by its listeners; a store left open must not keep a process up.
        w.unref();
        w.on('message', (r: WorkerReply) => {
          const p = this.pending.get(r.id);
          if (!p) return;
          this.pending.delete(r.id);
          if (r.ok) p.resolve();
          else p.reject(new SluiceError('SLUICE_ERR_STORE', `store ${dir}: commit failed: ${r.error}`));
        });
        w.on('error', (e) => this.failAll(`${what} thread failed: ${describeError(e)}`));
        w.on('exit', (code) => { if (!this.closed) this.failAll(`${what} thread exited (${code})`); });
      }
    }
    const tick = opts.tickMs ?? 1000;
    this.timer = setInterval(() => this.idleCheckpoint(), tick);
    this.timer.unref();
  }

  /** Opens (creating) the store in dir and brings the sealer level with what is committed. */
  static async open(dir: string, opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    try {
      fs.mkdirSync(dir, { recursive: true });
      writeStoreMarker(dir);
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw new SluiceError('SLUICE_ERR_STORE', `store ${dir}: cannot create the directory: ${describeError(e)}`, { cause: e });
    }
    // Retention may have removed the day that held the highest seq: never start below it.
    const last = Math.max(maxSeq(dir), droppedMaxSeq(dir));
    const sealer = await opts.openSealer({ lastSeq: last, leafHashes: (from, to) => hashesInSeqOrder(dir, from, to) });
    const next = catchUp(dir, sealer, last);
    return new EmbeddedStore(dir, opts, sealer, next - 1);
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Stores a batch; resolves once it is committed (the destination's `ok`). Batches are
   * encoded one after another, each as soon as the one before is handed to the writer
   * thread, so the next batch is encoded while SQLite commits the last; commits keep that
   * order (the threads take jobs in order, and refuse every job after a failed one).
   */
  write(events: LogEvent[]): Promise<void> {
    const earlier = this.writing;
    const posted = this.posting.then(() => this.post(events, earlier));
    this.posting = posted.then(() => {}, () => {});
    const done = posted.then((p) => p.committed);
    this.writing = Promise.all([earlier, done.catch(() => {})]).then(() => {});
    return done;
  }

  /**
   * Encodes the batch and hands its chunks to the writer; returns the promise of its commit
   * in an object (an async function returning the promise itself would wait for it).
   */
  private async post(events: LogEvent[], earlier: Promise<void>): Promise<{ committed: Promise<void> }> {
    if (this.closed) throw new SluiceError('SLUICE_ERR_STORE', `store ${this.dir}: closed`);
    if (this.broken !== null) {
      // Every earlier write settles first: the database is then what it stays.
      await earlier;
      if (this.broken !== null) await this.recover();
    }
    if (events.length === 0) return { committed: Promise.resolve() };
    this.inFlight++;
    let committed: Promise<void>;
    try {
      const groups = groupByDay(events);
      // Chunks go to the writer thread as soon as they are encoded, so the next chunk is
      // encoded (and the sockets read) while SQLite commits the previous one.
      const commits: Promise<void>[] = [];
      for (const g of groups) {
        for (let i = 0; i < g.events.length; i += CHUNK_EVENTS) {
          if (commits.length > 0) await yieldToIo();
          const c = this.commit(this.encode(g.day, g.events, g.times, i, Math.min(g.events.length, i + CHUNK_EVENTS)));
          c.catch(() => {});
          commits.push(c);
          // Inline, a failed chunk must stop the rest (no later chunk may commit after it).
          if (this.inline) await c.catch((e: unknown) => { this.broken = describeError(e); throw e; });
        }
      }
      // The tree at the end of this batch: what a checkpoint after its commit may sign (the
      // next batch's leaves may be in the tree by then, not yet in the database).
      const sealed = this.sealer.savepoint();
      committed = Promise.all(commits).then(() => this.afterCommit(groups, sealed), (e: unknown) => {
        // The sealer holds leaves that may not be stored: drop it and rebuild before the next write.
        this.broken = describeError(e);
        throw e;
      });
    } catch (e) {
      this.inFlight--;
      throw e;
    }
    committed.then(() => this.inFlight--, () => this.inFlight--);
    return { committed };
  }

  private afterCommit(groups: Group[], sealed: SealMark): void {
    let partitionClosed = false;
    for (const g of groups) {
      if (this.newestDay === null || g.day > this.newestDay) {
        if (this.newestDay !== null) partitionClosed = true;
        this.newestDay = g.day;
      }
    }
    // Nothing this batch added is unsigned (a later checkpoint may have covered it already).
    if (this.broken !== null || sealed.size <= this.sealer.sealedSize) return;
    const due: CheckpointReason | null = partitionClosed ? 'partition' : this.sealer.due();
    if (due !== null) this.checkpoint(due, sealed);
  }

  private encode(day: string, events: LogEvent[], times: number[], from: number, to: number): WriteJob {
    const w = this.writer;
    w.pos = 0;
    const { starts, ends, hashAt } = this.offsets;
    let n = 0;
    for (let k = from; k < to; k++) {
      const ev = events[k]!;
      const seq = this.nextSeq++;
      const received = ev.receivedAt;
      const src = ev.source;
      const lenAt = w.pos;
      w.u32(0);
      const start = w.pos;
      w.magic();
      w.number(seq);
      w.number(times[k]!);
      w.number(received);
      // Header fields still as received and ASCII are copied as bytes: no string, no cache entry.
      if (!(ev.asReceived('hostname') && w.asciiText(ev.buf, ev.hostStart, ev.hostEnd))) w.text(ev.hostname);
      if (!(ev.asReceived('appname') && w.asciiText(ev.buf, ev.appStart, ev.appEnd))) w.text(ev.appname);
      if (!(ev.asReceived('procid') && w.asciiText(ev.buf, ev.pidStart, ev.pidEnd))) w.text(ev.procid);
      if (!(ev.asReceived('msgid') && w.asciiText(ev.buf, ev.msgidStart, ev.msgidEnd))) w.text(ev.msgid);
      const facility = ev.facility;
      const severity = ev.severity;
      if (facility === null) w.null(); else w.number(facility);
      if (severity === null) w.null(); else w.number(severity);
      w.bytes(this.sourceColumns(src));
      const hasRaw = ev.end > ev.start;
      if (hasRaw) w.blob(ev.buf, ev.start, ev.end); else w.null();
      w.text(compactEvent(ev));
      const end = w.pos;
      w.buf.writeUInt32LE(end - start, lenAt);
      starts[n] = start;
      ends[n] = end;
      // The text index gets the message's bytes: copied from the received bytes when it was
      // not changed since (its UTF-8 decoding in the writer is then what ev.message gives).
      if (ev.asReceived('message')) {
        w.u32(ev.end - ev.msgStart);
        w.bytes(ev.buf, ev.msgStart, ev.end);
      } else {
        const msg = ev.message;
        if (msg === null) w.u32(NO_MESSAGE);
        else {
          const mAt = w.pos;
          w.u32(0);
          const before = w.pos;
          w.ensure(msg.length * 3);
          w.pos += w.buf.write(msg, w.pos, 'utf8');
          w.buf.writeUInt32LE(w.pos - before, mAt);
        }
      }
      w.ensure(1 + HASH_BYTES);
      w.buf[w.pos] = HASH_BYTES;
      hashAt[n++] = w.pos + 1;
      w.pos += 1 + HASH_BYTES;
    }
    this.sealer.appendChunk({ buf: w.buf, starts, ends, hashAt, count: n, firstSeq: this.nextSeq - n });
    // A copy: the writer is reused, and the copy's memory moves to the writer thread.
    return { day, buf: Buffer.from(w.buf.subarray(0, w.pos)), count: to - from };
  }

  /** The source, transport and peer columns of a source, encoded once per source object (one per connection). */
  private sourceColumns(src: LogEvent['source']): Buffer {
    if (src !== this.lastSource) {
      const w = new RecordWriter(256);
      w.text(src.name);
      w.text(src.transport);
      w.text(src.address);
      this.lastSource = src;
      this.lastSourceBytes = w.buf.subarray(0, w.pos);
    }
    return this.lastSourceBytes;
  }

  private commit(job: WriteJob): Promise<void> {
    if (this.inline) {
      try {
        if (this.inline.rows.write(job)) this.inline.text.write(job);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(new SluiceError('SLUICE_ERR_STORE', `store ${this.dir}: commit failed: partition ${job.day}: ${describeError(e)}`));
      }
    }
    const id = ++this.requestId;
    const buf = job.buf;
    const req: WorkerRequest = { id, job: { day: job.day, buf: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), count: job.count } };
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Buffer.from of more than half the pool size owns its ArrayBuffer: safe to transfer.
      if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) this.workers[0]!.postMessage(req, [buf.buffer as ArrayBuffer]);
      else this.workers[0]!.postMessage(req);
    });
  }

  /**
   * Applies retention at `now` (the destination's timer, or a test's clock): whole days leave
   * the database, archived first when the policy archives. Runs between batches.
   */
  retention(policy: RetentionPolicy, now: number, target: { archiveDir: string; keyDir: string }): Promise<RetentionPlan> {
    // The day of `now` is the one being written; every other day may go.
    const earlier = Promise.all([this.posting, this.writing]);
    const run = earlier.then(() => applyRetention({ dir: this.dir, ...target }, policy, now, dayOf(now), async (day) => {
      await this.send({ closeDay: day });
      this.inline?.rows.closeDay(day);
      this.inline?.text.closeDay(day);
    }));
    // Writes wait for it, and it for them: it runs between batches.
    this.posting = run.then(() => {}, () => {});
    this.writing = this.posting;
    return run;
  }

  /** A control message to both threads, each answering with id -1. */
  private async send(msg: 'close' | 'reset' | { closeDay: string }): Promise<void> {
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      const on = (r: WorkerReply) => { if (r.id === -1) { clearTimeout(t); w.off('message', on); resolve(); } };
      w.on('message', on);
      w.postMessage(msg);
    })));
  }

  private failAll(reason: string): void {
    const err = new SluiceError('SLUICE_ERR_STORE', `store ${this.dir}: ${reason}`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** After a failed commit: sequence numbers and the sealer from what the database holds. */
  private async recover(): Promise<void> {
    const reason = this.broken;
    log('warn', 'store', 'rebuilding after a failed commit', { dir: this.dir, error: reason });
    const last = Math.max(maxSeq(this.dir), droppedMaxSeq(this.dir));
    const sealer = await this.opts.openSealer({ lastSeq: last, leafHashes: (from, to) => hashesInSeqOrder(this.dir, from, to) });
    this.sealer = sealer;
    this.nextSeq = catchUp(this.dir, sealer, last);
    await this.send('reset');
    if (this.inline) {
      this.inline.rows.close();
      this.inline.text.close();
      this.inline.text.catchUp();
    }
    this.broken = null;
  }

  private checkpoint(reason: CheckpointReason, at?: SealMark): void {
    try {
      this.sealer.checkpoint(reason, at);
    } catch (e) {
      log('error', 'store', 'checkpoint failed', { dir: this.dir, reason, error: describeError(e) });
    }
  }

  private idleCheckpoint(): void {
    if (this.inFlight > 0 || this.broken !== null || this.closed) return;
    let due: CheckpointReason | null = null;
    try {
      due = this.sealer.due();
    } catch (e) {
      log('error', 'store', 'sealer failed', { error: describeError(e) });
    }
    if (due !== null) this.checkpoint(due);
  }

  /** Records in seq order, for `sluice verify` (reads the database, not this process's state). */
  sealSource(): SealSource {
    return embeddedSealSource(this.dir);
  }

  /** Finishes the batch in flight, seals a stop checkpoint, closes the writer. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.posting;
    await this.writing;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.broken === null) await this.sealer.close();
    if (this.inline) {
      this.inline.rows.close();
      this.inline.text.close();
    }
    await this.send('close');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function groupByDay(events: LogEvent[]): Group[] {
  const groups: Group[] = [];
  let last: Group | null = null;
  let lastStart = NaN;
  for (const ev of events) {
    const time = eventTime(ev);
    // Same day as the previous event: no date formatting.
    if (last !== null && time >= lastStart && time < lastStart + DAY_MS) { last.events.push(ev); last.times.push(time); continue; }
    const day = dayOf(time);
    let g = groups.find((x) => x.day === day);
    if (!g) { g = { day, events: [], times: [] }; groups.push(g); }
    g.events.push(ev);
    g.times.push(time);
    last = g;
    lastStart = dayStart(day);
  }
  return groups;
}

/**
 * Appends to the sealer every committed record after sealer.size, checking each stored hash.
 * Returns the next sequence number to assign.
 */
function catchUp(dir: string, sealer: Sealer, lastSeq: number): number {
  const size = sealer.size;
  if (size > lastSeq) {
    // The seal is ahead of the database: records it saw were never committed. New records
    // continue after what the seal holds, so its tree stays append-only; verify names the gap.
    log('error', 'store', 'the seal holds records the database does not; continuing after them (verify reports the gap)', { dir, sealed: size, stored: lastSeq });
    return size + 1;
  }
  if (size === lastSeq) return lastSeq + 1;
  let mismatched = 0;
  let batch: SealRecord[] = [];
  let stored: (Buffer | null)[] = [];
  const flush = () => {
    const hashes = sealer.append(batch);
    for (let i = 0; i < hashes.length; i++) if (stored[i] !== null && !hashes[i]!.equals(stored[i]!)) mismatched++;
    batch = [];
    stored = [];
  };
  let expected = size + 1;
  for (const r of recordsInSeqOrder(dir, size)) {
    if (r.seq !== expected) {
      throw new SluiceError('SLUICE_ERR_STORE', `store ${dir}: sequence ${expected} is missing (next stored is ${r.seq}); run sluice verify`);
    }
    expected++;
    batch.push({ seq: r.seq, bytes: r.bytes });
    stored.push(r.storedHash);
    if (batch.length >= 10_000) flush();
  }
  if (batch.length) flush();
  if (mismatched) log('error', 'store', 'stored leaf hashes differ from the records (run sluice verify)', { dir, records: mismatched });
  log('info', 'store', 'sealed the records committed after the last checkpoint', { dir, from: size + 1, to: lastSeq });
  try {
    sealer.checkpoint('start');
  } catch (e) {
    log('error', 'store', 'checkpoint failed', { dir, reason: 'start', error: describeError(e) });
  }
  return lastSeq + 1;
}

/** Every record the store's partitions hold, in ascending seq order, for verification. */
export function embeddedSealSource(dir: string): SealSource {
  return { records: () => recordsInSeqOrder(dir, 0) };
}

export { recordBytes };
