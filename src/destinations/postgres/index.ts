// The PostgreSQL store destination: each chunk of a batch one transaction (COPY of the events,
// their text index blocks and rollup counts), `ok` only once all are committed.
//
// Partitions are made on demand for the days a batch touches (under an advisory lock, so
// several aggregators can share one database), expired ones dropped whole. A batch the server
// refuses for its data is split in halves until the bad events are alone; those are rejected
// (dead letters), the rest committed. Anything else (no server, connection lost, shutdown,
// lock timeouts) is a retry: nothing is acknowledged that is not committed.

import type pg from 'pg';
import { ByteWriter } from '../../codec/byte-writer.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError } from '../../errors.js';
import { log, RateLimitedLog } from '../../log.js';
import type { Metrics } from '../../metrics/registry.js';
import { PgStoreReader } from '../../store/postgres/reader.js';
import type { StoreReader } from '../../store/types.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { postgresDestinationInfo, type PostgresDestinationConfig } from './config.js';
import { copyBinary } from './copy.js';
import { eventTimeMs } from '../../codec/encode/common.js';
import { chunkIndex, indexStatements, type ChunkIndex } from './blocks.js';
import { writeCopyRow } from './rows.js';
import { copyColumns, DAY_MS, dropPartitionsBefore, ensureParent, ensurePartitions, eventsTable, SEQ_STEP, seqName, type StoreTables } from './schema.js';

export { postgresDestinationSchema, type PostgresDestinationConfig } from './config.js';

const RETENTION_EVERY_MS = 3_600_000;

/** Events per COPY (and commit) within a batch: one nextval's worth of seq numbers. */
const CHUNK = SEQ_STEP;

/** A chunk's encoded rows: row i is buf[ends[i - base], ends[i - base + 1]) and has seq seq0 + i - base. */
interface Rows { buf: Buffer; ends: Int32Array; base: number; seq0: number }

/** A failure of the server or the network, not of the data: send the batch again later. */
export function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true; // ECONNREFUSED, "Connection terminated", timeouts
  const cls = code.slice(0, 2);
  // 22 data exception, 23 integrity (bar a missing partition), 54 limits (a row too big for an index).
  if (cls === '22' || cls === '54') return false;
  if (cls === '23') return code === '23514';
  return true;
}

/** The row fits no partition (one was dropped under us, or the cache is stale), or the table is gone. */
function isMissingTable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === '23514' || code === '42P01';
}

export class PostgresDestination implements Destination {
  readonly maxBatch: number;
  /**
   * The next batch is encoded and its COPYs begin while the server commits the last: 82k →
   * 95k events/s in the store bench (3 reps each). Batches are independent (seq comes from the
   * server's sequence; each writer connection has its own encode buffer).
   */
  readonly maxInFlight = 2;
  private readonly tables: StoreTables;
  private readonly columns: string[];
  private readonly problems: RateLimitedLog;
  private readonly component: string;
  private readonly metrics: Metrics;
  private readonly name: string;
  private pool: pg.Pool | null = null;
  private parentReady = false;
  private readonly partitions = new Set<number>();
  private retentionTimer: NodeJS.Timeout | null = null;
  private lastRetention = 0;
  /** Encode buffers of the writer connections, reused batch after batch. */
  private readonly writerBuffers: ByteWriter[] = [];
  private readonly jobs = new WeakMap<LogEvent[], { done: Set<number>; rejected: { event: LogEvent; error: string }[] }>();

  constructor(private readonly cfg: PostgresDestinationConfig, ctx: DestinationContext) {
    this.metrics = ctx.metrics;
    this.name = ctx.name;
    this.maxBatch = cfg.batch_events;
    this.tables = { prefix: cfg.table };
    this.columns = copyColumns();
    this.component = `destination ${ctx.name}`;
    this.problems = new RateLimitedLog(this.component);
  }

  /** Connects lazily: a server that is down at start is a retry, not a config error. */
  async start(): Promise<void> {
    // Loaded here: most configs have no PostgreSQL (pg costs ~13 MB of memory).
    const { default: pgLib } = await import('pg');
    this.pool = new pgLib.Pool({ connectionString: this.cfg.url, max: Math.max(this.cfg.pool_size, this.cfg.writers + 1), connectionTimeoutMillis: this.cfg.connect_timeout, idleTimeoutMillis: 30_000 });
    // An idle client whose server went away emits here; the next send sees the failure.
    this.pool.on('error', (e) => this.problems.report('warn', 'idle', 'idle PostgreSQL connection lost', { error: describeError(e) }));
    if (this.cfg.retention.max_age !== undefined) {
      this.retentionTimer = setInterval(() => { void this.applyRetention(); }, RETENTION_EVERY_MS);
      this.retentionTimer.unref();
    }
  }

  send(events: LogEvent[], done: (result: SendResult) => void): void {
    this.write(events).then(done, (e) => done({ status: 'retry', error: `${this.cfg.url}: ${describeError(e)}` }));
  }

  private async write(events: LogEvent[]): Promise<SendResult> {
    const pool = this.pool;
    if (pool === null) return { status: 'retry', error: 'not started' };
    // What an earlier attempt at this same batch already committed (the runner retries the same array).
    let job = this.jobs.get(events);
    if (job === undefined) { job = { done: new Set(), rejected: [] }; this.jobs.set(events, job); }
    const j = job;
    const times = new Array<number>(events.length);
    for (let i = 0; i < events.length; i++) times[i] = eventTimeMs(events[i]!);
    try {
      await this.withClient(pool, async (client) => {
        if (this.lastRetention === 0 && this.cfg.retention.max_age !== undefined) await this.retention(client);
        await this.prepare(client, times);
      });
      // Chunks of the batch go over `writers` connections, each chunk one COPY and commit. A
      // worker encodes its next chunk while the others' COPYs run, so the encoding here and the
      // server's work (parsing, index upkeep) overlap and use more than one core. A retry of
      // the same batch skips the chunks already committed.
      const chunks = Math.ceil(events.length / CHUNK);
      let next = 0;
      const worker = (): Promise<void> => this.withClient(pool, async (client) => {
        const w = this.writerBuffers.pop() ?? new ByteWriter(1 << 20);
        try {
          while (next < chunks) {
            const c = next++;
            if (j.done.has(c)) continue;
            const from = c * CHUNK;
            const to = Math.min(events.length, from + CHUNK);
            // The chunk's transaction opens with its seq numbers taken, in one round trip.
            const seq0 = await this.beginChunk(client);
            // Rows go straight into one buffer; ends[k] is where row from+k ends.
            w.reset();
            const ends = new Int32Array(to - from + 1);
            for (let i = from; i < to; i++) {
              writeCopyRow(w, events[i]!, seq0 + i - from, times[i]!);
              ends[i - from + 1] = w.pos;
            }
            const rows: Rows = { buf: w.buf, ends, base: from, seq0 };
            await this.copyChunk(client, events, rows, times, from, to, j.rejected, true);
            j.done.add(c);
          }
        } finally {
          this.writerBuffers.push(w);
        }
      });
      const results = await Promise.allSettled(Array.from({ length: Math.min(this.cfg.writers, chunks) }, worker));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (e) {
      if (isMissingTable(e)) { this.parentReady = false; this.partitions.clear(); }
      return { status: 'retry', error: `${redact(this.cfg.url)}: ${describeError(e)}` };
    }
    this.jobs.delete(events);
    const rejected = j.rejected;
    if (rejected.length === 0) return { status: 'ok' };
    this.metrics.errors.labels({ component: this.name, stage: 'sending', error_type: 'bad_data' }).inc(rejected.length);
    return { status: 'reject', error: `PostgreSQL refused ${rejected.length} event(s): ${rejected[0]!.error}`, events: rejected.map((r) => r.event) };
  }

  private async withClient<T>(pool: pg.Pool, f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw new Error(`cannot connect: ${describeError(e)}`, { cause: e });
    }
    let broken = false;
    // A connection lost while checked out is emitted here (unhandled, it would end the
    // process); the statement in flight fails too, and that failure is the retry.
    const onError = (e: Error): void => { broken = true; this.problems.report('warn', 'lost', 'PostgreSQL connection lost', { error: describeError(e) }); };
    client.on('error', onError);
    try {
      return await f(client);
    } catch (e) {
      broken = true;
      throw e;
    } finally {
      client.off('error', onError);
      // A client that failed mid-COPY may be in any state: do not return it to the pool.
      client.release(broken);
    }
  }

  /** BEGIN and the seq numbers of one chunk (the first of SEQ_STEP). */
  private async beginChunk(client: pg.PoolClient): Promise<number> {
    const r = await client.query(`BEGIN; SELECT nextval('${seqName(this.tables)}')::text AS s`) as unknown as pg.QueryResult<{ s: string }>[];
    return Number(r[1]!.rows[0]!.s);
  }

  /** `open`: the chunk's transaction is already begun (beginChunk). */
  private async copyChunk(client: pg.PoolClient, events: LogEvent[], rows: Rows, times: number[], from: number, to: number, rejected: { event: LogEvent; error: string }[], open: boolean): Promise<void> {
    const before = rejected.length;
    try {
      await this.copyOrSplit(client, events, rows, times, from, to, rejected, open);
    } catch (e) {
      // Another writer's retention dropped a day we thought existed: make it again, once.
      if ((e as { code?: unknown }).code !== '23514' || rejected.length > before) throw e;
      this.partitions.clear();
      await this.prepare(client, times.slice(from, to));
      await this.copyOrSplit(client, events, rows, times, from, to, rejected, false);
    }
  }

  private async prepare(client: pg.PoolClient, times: number[]): Promise<void> {
    if (!this.parentReady) {
      await ensureParent(client, this.tables);
      this.parentReady = true;
    }
    const missing = new Set<number>();
    for (const t of times) {
      const day = Math.floor(t / DAY_MS) * DAY_MS;
      if (!this.partitions.has(day)) missing.add(day);
    }
    if (missing.size === 0) return;
    const days = [...missing];
    await ensurePartitions(client, this.tables, days);
    for (const d of days) this.partitions.add(d);
  }

  /** Rows [from, to) with their blocks and counts in one transaction; on a data error split in halves until each bad event is alone. */
  private async copyOrSplit(client: pg.PoolClient, events: LogEvent[], rows: Rows, times: number[], from: number, to: number, rejected: { event: LogEvent; error: string }[], open: boolean): Promise<void> {
    const payload = rows.buf.subarray(rows.ends[from - rows.base]!, rows.ends[to - rows.base]!);
    const index = chunkIndex(events, times, (i) => rows.seq0 + i - rows.base, from, to);
    try {
      await this.commitChunk(client, payload, index, open);
    } catch (e) {
      if (isRetryable(e)) throw e;
      if (to - from === 1) { rejected.push({ event: events[from]!, error: describeError(e) }); return; }
      const mid = (from + to) >>> 1;
      await this.copyOrSplit(client, events, rows, times, from, mid, rejected, false);
      await this.copyOrSplit(client, events, rows, times, mid, to, rejected, false);
    }
  }

  /** COPY, then the blocks and counts with the COMMIT in one round trip (a simple query of literals, indexStatements). */
  private async commitChunk(client: pg.PoolClient, payload: Buffer, x: ChunkIndex, open: boolean): Promise<void> {
    try {
      if (!open) await client.query('BEGIN');
      await copyBinary(client, eventsTable(this.tables), this.columns, payload);
      await client.query(`${indexStatements(this.tables, x)}; COMMIT`);
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  private async applyRetention(): Promise<void> {
    if (this.pool === null) return;
    try {
      const client = await this.pool.connect();
      try { await this.retention(client); } finally { client.release(); }
    } catch (e) {
      this.problems.report('warn', 'retention', 'cannot apply retention; will try again', { error: describeError(e) });
    }
  }

  private async retention(client: pg.PoolClient): Promise<void> {
    const maxAge = this.cfg.retention.max_age;
    this.lastRetention = Date.now();
    if (maxAge === undefined) return;
    const dropped = await dropPartitionsBefore(client, this.tables, Date.now() - maxAge);
    for (const d of dropped) this.partitions.delete(d);
    if (dropped.length > 0) log('info', this.component, 'retention dropped partitions', { days: dropped.map((d) => new Date(d).toISOString().slice(0, 10)).join(' ') });
  }

  async stop(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    const pool = this.pool;
    this.pool = null;
    await pool?.end().catch(() => {});
  }

  /** For the API: the same database, through its own small pool. */
  openReader(): StoreReader {
    return new PgStoreReader({ url: this.cfg.url, table: this.cfg.table });
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

export const postgresDestinationKind: DestinationKind = {
  ...postgresDestinationInfo,
  build: (config, ctx) => new PostgresDestination(config as PostgresDestinationConfig, ctx),
};
