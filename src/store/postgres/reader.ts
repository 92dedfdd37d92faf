// StoreReader over the PostgreSQL store: the query tree compiled to SQL (compile.ts), bound parameters only.
//
// Every statement runs in a read-only transaction with a statement_timeout. Plans that can
// only scan (wildcards, regular expressions) get the request's scan budget, and search reads
// them one daily partition at a time, newest first, so a budget that runs out still answers
// with what it found and a scan_bounded notice instead of nothing or a hang.

import type pg from 'pg';
import { eventsTable, listPartitions, DAY_MS, type StoreTables } from '../../destinations/postgres/schema.js';
import { TEXT_INDEX } from '../../destinations/postgres/index.js';
import type { EventJson } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import type { FieldRef, Query } from '../query/ast.js';
import type { AggregateResult, AggregateRow, FacetValue, HitBucket, Notice, SearchRequest, SearchResult, StoredEvent, StoreReader, TimeRange } from '../types.js';
import { compileNode, fieldGroupKey, fieldName, groupValue } from './compile.js';
import { Params } from './sql.js';

export interface PgStoreReaderOptions {
  url: string;
  /** Table prefix, as the destination's `table`. */
  table?: string;
  poolSize?: number;
  /** Bound of every statement that is not a scan (ms). */
  statementTimeoutMs?: number;
  /** Default bound of scan-only plans when the request gives none (ms). */
  scanBudgetMs?: number;
}

/** Most buckets one hits() answer holds. */
const MAX_BUCKETS = 100_000;

const SELECT_EVENT = 'seq, time, received, host, app, procid, msgid, facility, severity, source, transport, peer, message, raw, event';

interface EventRow {
  seq: string; time: Date; received: Date; host: string | null; app: string | null; procid: string | null; msgid: string | null;
  facility: number | null; severity: number | null; source: string; transport: string; peer: string | null; message: string | null;
  raw: Buffer | null; event: { timestamp?: string; version?: number; structured_data?: EventJson['structured_data']; port?: number; tls_peer?: string; fields?: Record<string, unknown> };
}

function toStored(r: EventRow): StoredEvent {
  const x = r.event;
  const event: EventJson = {
    timestamp: x.timestamp ?? null,
    received_at: r.received.toISOString(),
    facility: r.facility,
    severity: r.severity,
    version: x.version ?? null,
    hostname: r.host,
    appname: r.app,
    procid: r.procid,
    msgid: r.msgid,
    structured_data: x.structured_data ?? null,
    message: r.message,
    source: { name: r.source, transport: r.transport, address: r.peer, port: x.port ?? null, tls_peer: x.tls_peer ?? null },
    fields: x.fields ?? {},
  };
  return { seq: Number(r.seq), time: r.time.getTime(), event, raw: r.raw };
}

function encodeCursor(e: StoredEvent): string {
  return Buffer.from(JSON.stringify([e.time, e.seq])).toString('base64url');
}

function decodeCursor(c: string): [number, number] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString()) as unknown;
    if (Array.isArray(v) && v.length === 2 && v.every((n) => Number.isSafeInteger(n))) return v as [number, number];
  } catch { /* fall through */ }
  throw new SluiceError('SLUICE_ERR_PG', 'the search cursor is not one this store gave out');
}

function isTimeout(e: unknown): boolean {
  return (e as { code?: string }).code === '57014';
}

function checkRange(range: TimeRange): void {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to)) throw new SluiceError('SLUICE_ERR_PG', `the time range ${range.from}..${range.to} is not two numbers of milliseconds`);
}

export class PgStoreReader implements StoreReader {
  /** Made on first use, so that loading the module costs nothing until a query runs. */
  private poolP: Promise<pg.Pool> | null = null;
  private readonly url: string;
  private readonly poolSize: number;
  private readonly tables: StoreTables;
  private readonly table: string;
  private readonly statementTimeoutMs: number;
  private readonly scanBudgetMs: number;

  constructor(opts: PgStoreReaderOptions) {
    this.url = opts.url;
    this.poolSize = opts.poolSize ?? 4;
    this.tables = { prefix: opts.table ?? 'sluice_', textIndex: TEXT_INDEX };
    this.table = eventsTable(this.tables);
    this.statementTimeoutMs = opts.statementTimeoutMs ?? 30_000;
    this.scanBudgetMs = opts.scanBudgetMs ?? 5_000;
  }

  private pool(): Promise<pg.Pool> {
    return (this.poolP ??= import('pg').then(({ default: pgLib }) => {
      const pool = new pgLib.Pool({ connectionString: this.url, max: this.poolSize, connectionTimeoutMillis: 10_000 });
      pool.on('error', () => { /* an idle client lost; the next query reconnects */ });
      return pool;
    }));
  }

  /** Runs one statement read-only under a timeout. */
  private async run<R extends pg.QueryResultRow>(sql: string, params: unknown[], timeoutMs: number): Promise<R[]> {
    let client: pg.PoolClient;
    try {
      client = await (await this.pool()).connect();
    } catch (e) {
      throw new SluiceError('SLUICE_ERR_PG', `cannot connect to the PostgreSQL store: ${describeError(e)}`, { cause: e });
    }
    let broken = false;
    const onError = (): void => { broken = true; };
    client.on('error', onError);
    try {
      await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
      const r = await client.query<R>(sql, params);
      await client.query('COMMIT');
      return r.rows;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      if ((e as { code?: string }).code === '42P01') return []; // nothing stored yet: no table
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private where(query: Query, range: TimeRange, p: Params): string {
    checkRange(range);
    return `time >= ${p.add(new Date(range.from), 'timestamptz')} AND time < ${p.add(new Date(range.to), 'timestamptz')} AND ${compileNode(query.filter, p)}`;
  }

  private budget(query: Query, req?: { scanBudgetMs?: number }): number {
    return query.scans ? req?.scanBudgetMs ?? this.scanBudgetMs : this.statementTimeoutMs;
  }

  private scanNotice(query: Query, ms: number, what: string): Notice {
    return { code: 'scan_bounded', message: `"${query.text}" can only be answered by scanning; the scan stopped after ${ms} ms, so ${what}` };
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const limit = Math.max(0, Math.min(req.limit, 100_000));
    const after = req.cursor ? decodeCursor(req.cursor) : null;
    const budget = this.budget(req.query, req);
    const notices: Notice[] = [];
    if (req.archives) notices.push({ code: 'partial', message: 'the PostgreSQL store keeps no archives: only the database was searched' });
    // Scans go one day at a time (newest first) so that a budget that runs out keeps what it found.
    const slices: TimeRange[] = req.query.scans ? await this.daySlices(req.range) : [req.range];
    const events: StoredEvent[] = [];
    const deadline = Date.now() + budget;
    for (const slice of slices) {
      if (events.length >= limit) break;
      const left = deadline - Date.now();
      if (left <= 0) { notices.push(this.scanNotice(req.query, budget, 'older matches may be missing')); break; }
      const p = new Params();
      let sql = `SELECT ${SELECT_EVENT} FROM ${this.table} WHERE ${this.where(req.query, slice, p)}`;
      if (after) sql += ` AND (time, seq) < (${p.add(new Date(after[0]), 'timestamptz')}, ${p.add(after[1], 'bigint')})`;
      sql += ` ORDER BY time DESC, seq DESC LIMIT ${p.add(limit - events.length, 'int')}`;
      try {
        for (const r of await this.run<EventRow>(sql, p.values, req.query.scans ? left : budget)) events.push(toStored(r));
      } catch (e) {
        if (!isTimeout(e)) throw this.wrap(e);
        notices.push(req.query.scans ? this.scanNotice(req.query, budget, 'older matches may be missing') : { code: 'partial', message: `the search stopped after ${budget} ms; narrow the time range` });
        break;
      }
    }
    const cursor = events.length > 0 && events.length >= limit ? encodeCursor(events[events.length - 1]!) : null;
    return { events, cursor, notices };
  }

  /** The range cut at UTC day boundaries, newest first, only days that have a partition. */
  private async daySlices(range: TimeRange): Promise<TimeRange[]> {
    checkRange(range);
    let days: number[];
    try { days = await listPartitions(await this.pool(), this.tables); } catch (e) { throw this.wrap(e); }
    const out: TimeRange[] = [];
    for (const d of days.reverse()) {
      const from = Math.max(range.from, d);
      const to = Math.min(range.to, d + DAY_MS);
      if (from < to) out.push({ from, to });
    }
    return out;
  }

  private wrap(e: unknown): Error {
    if (e instanceof SluiceError) return e;
    const code = (e as { code?: string }).code;
    // 2201B: invalid regular expression; 22P02/42804-ish: a value PostgreSQL cannot take.
    if (code === '2201B') return new SluiceError('SLUICE_ERR_PG', `PostgreSQL cannot use the regular expression: ${describeError(e)}`, { cause: e });
    return new SluiceError('SLUICE_ERR_PG', `PostgreSQL store: ${describeError(e)}`, { cause: e });
  }

  /** Runs a grouped statement under the query's budget; a scan that runs out says so. */
  private async grouped<R extends pg.QueryResultRow>(query: Query, sql: string, p: Params, notices: Notice[]): Promise<R[]> {
    const budget = this.budget(query);
    try {
      return await this.run<R>(sql, p.values, budget);
    } catch (e) {
      if (!isTimeout(e)) throw this.wrap(e);
      notices.push(query.scans ? this.scanNotice(query, budget, 'no counts could be given; narrow the time range') : { code: 'partial', message: `the count stopped after ${budget} ms; narrow the time range` });
      return [];
    }
  }

  async aggregate(query: Query, range: TimeRange): Promise<AggregateResult> {
    const notices: Notice[] = [];
    const p = new Params();
    let where = this.where(query, range, p);
    let by: FieldRef[] = [];
    let top: number | null = null;
    let limit: number | null = null;
    for (const pipe of query.pipes) {
      if (pipe.kind === 'stats') by = pipe.by;
      else if (pipe.kind === 'top') { by = [pipe.field]; top = pipe.n; }
      else if (pipe.kind === 'limit' && (top !== null || by.length > 0 || query.pipes.some((x) => x.kind === 'stats'))) limit = pipe.n;
    }
    const keys = by.map((f) => fieldGroupKey(f, p));
    // top counts only events that have the field (pipes.ts).
    if (top !== null) where += ` AND ${keys[0]!.expr} IS NOT NULL`;
    const cols = keys.map((k, i) => `${k.expr} AS k${i}`);
    const group = by.length > 0 ? ` GROUP BY ${by.map((_, i) => `k${i}`).join(', ')}` : '';
    const n = top !== null && limit !== null ? Math.min(top, limit) : top ?? limit;
    const order = by.length > 0 ? ` ORDER BY count DESC, ${keys.map((k, i) => k.order(`k${i}`)).join(', ')}` : '';
    // Grouped in a subquery so that ORDER BY can use the keys inside expressions.
    const sql = `SELECT * FROM (SELECT ${[...cols, 'count(*)::bigint AS count'].join(', ')} FROM ${this.table} WHERE ${where}${group}) g${order}${n !== null ? ` LIMIT ${p.add(n, 'int')}` : ''}`;
    const rows = await this.grouped<Record<string, unknown>>(query, sql, p, notices);
    const out: AggregateRow[] = rows.map((r) => {
      const row: Record<string, string | number | null> = {};
      by.forEach((f, i) => { row[fieldName(f)] = groupValue(r[`k${i}`]); });
      row.count = Number(r.count);
      return row as AggregateRow;
    });
    return { rows: out, notices };
  }

  async hits(query: Query, range: TimeRange, stepMs: number): Promise<{ buckets: HitBucket[]; notices: Notice[] }> {
    checkRange(range);
    if (!Number.isSafeInteger(stepMs) || stepMs <= 0) throw new SluiceError('SLUICE_ERR_PG', `the histogram step must be a positive number of milliseconds, got ${stepMs}`);
    const first = Math.floor(range.from / stepMs) * stepMs;
    const count = Math.ceil((range.to - first) / stepMs);
    if (count > MAX_BUCKETS) throw new SluiceError('SLUICE_ERR_PG', `a histogram of ${count} buckets is too many (at most ${MAX_BUCKETS}); use a larger step or a shorter range`);
    const notices: Notice[] = [];
    const p = new Params();
    const where = this.where(query, range, p);
    // date_bin on timestamps: numeric epoch arithmetic per row was most of a histogram's time.
    const sql = `SELECT date_bin(${p.add(`${stepMs} milliseconds`, 'interval')}, time, TIMESTAMPTZ 'epoch') AS b, count(*)::bigint AS n FROM ${this.table} WHERE ${where} GROUP BY b`;
    const rows = await this.grouped<{ b: Date; n: string }>(query, sql, p, notices);
    const counts = new Map(rows.map((r) => [r.b.getTime(), Number(r.n)]));
    const buckets: HitBucket[] = [];
    for (let i = 0; i < count; i++) {
      const t = first + i * stepMs;
      buckets.push({ time: t, count: counts.get(t) ?? 0 });
    }
    return { buckets, notices };
  }

  async facets(query: Query, range: TimeRange, fields: FieldRef[], limit: number): Promise<{ facets: Map<string, FacetValue[]>; notices: Notice[] }> {
    const notices: Notice[] = [];
    const facets = new Map<string, FacetValue[]>();
    for (const f of fields) {
      // A facet is `| top limit field` over the query (non-null values, same order).
      const q: Query = { ...query, pipes: [{ kind: 'top', n: Math.max(1, Math.min(limit, 10_000)), field: f }] };
      const r = await this.aggregate(q, range);
      notices.push(...r.notices);
      const name = fieldName(f);
      facets.set(name, r.rows.map((row) => ({ value: row[name] ?? null, count: row.count })));
    }
    return { facets, notices };
  }

  async fields(range: TimeRange): Promise<{ name: string; count: number }[]> {
    checkRange(range);
    const p = new Params();
    const bounds = `time >= ${p.add(new Date(range.from), 'timestamptz')} AND time < ${p.add(new Date(range.to), 'timestamptz')}`;
    const builtin = ['message', 'host', 'app', 'procid', 'msgid', 'facility', 'severity', 'source', 'transport'];
    const sql = `WITH r AS (SELECT ${builtin.join(', ')}, event FROM ${this.table} WHERE ${bounds})
      SELECT * FROM (SELECT unnest(ARRAY[${builtin.map((b) => `'${b}'`).join(', ')}]) AS name,
                            unnest(ARRAY[${builtin.map((b) => `count(${b})`).join(', ')}])::bigint AS n FROM r) b WHERE n > 0
      UNION ALL SELECT 'sd.' || s.key || '.' || q.key, count(*) FROM r, jsonb_each(CASE WHEN jsonb_typeof(r.event->'structured_data') = 'object' THEN r.event->'structured_data' ELSE '{}' END) s,
        jsonb_object_keys(CASE WHEN jsonb_typeof(s.value) = 'object' THEN s.value ELSE '{}' END) q(key) GROUP BY 1
      UNION ALL SELECT 'fields.' || k, count(*) FROM r, jsonb_object_keys(CASE WHEN jsonb_typeof(r.event->'fields') = 'object' THEN r.event->'fields' ELSE '{}' END) k GROUP BY 1`;
    try {
      const rows = await this.run<{ name: string; n: string }>(sql, p.values, this.statementTimeoutMs);
      return rows.map((r) => ({ name: r.name, count: Number(r.n) })).sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));
    } catch (e) { throw this.wrap(e); }
  }

  async context(seq: number, before: number, after: number, by: 'host' | 'source'): Promise<StoredEvent[]> {
    try {
      const at = await this.run<EventRow>(`SELECT ${SELECT_EVENT} FROM ${this.table} WHERE seq = $1::bigint LIMIT 1`, [seq], this.statementTimeoutMs);
      if (at.length === 0) return [];
      const e = at[0]!;
      const col = by === 'host' ? 'host' : 'source';
      const key = by === 'host' ? e.host : e.source;
      const older = await this.run<EventRow>(`SELECT ${SELECT_EVENT} FROM ${this.table} WHERE ${col} IS NOT DISTINCT FROM $1 AND (time, seq) < ($2::timestamptz, $3::bigint) ORDER BY time DESC, seq DESC LIMIT $4::int`, [key, e.time, seq, Math.max(0, before)], this.statementTimeoutMs);
      const newer = await this.run<EventRow>(`SELECT ${SELECT_EVENT} FROM ${this.table} WHERE ${col} IS NOT DISTINCT FROM $1 AND (time, seq) > ($2::timestamptz, $3::bigint) ORDER BY time, seq LIMIT $4::int`, [key, e.time, seq, Math.max(0, after)], this.statementTimeoutMs);
      return [...older.reverse(), e, ...newer].map(toStored);
    } catch (err) { throw this.wrap(err); }
  }

  async since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const p = new Params();
    const sql = `SELECT ${SELECT_EVENT} FROM ${this.table} WHERE seq > ${p.add(afterSeq, 'bigint')} AND ${compileNode(query.filter, p)} ORDER BY seq LIMIT ${p.add(Math.max(0, limit), 'int')}`;
    try {
      return (await this.run<EventRow>(sql, p.values, this.budget(query))).map(toStored);
    } catch (e) {
      if (isTimeout(e)) return [];
      throw this.wrap(e);
    }
  }

  async lastSeq(): Promise<number> {
    try {
      const r = await this.run<{ m: string | null }>(`SELECT max(seq)::text AS m FROM ${this.table}`, [], this.statementTimeoutMs);
      return r.length === 0 || r[0]!.m === null ? 0 : Number(r[0]!.m);
    } catch (e) { throw this.wrap(e); }
  }

  async close(): Promise<void> {
    if (this.poolP) await (await this.poolP).end();
  }
}
