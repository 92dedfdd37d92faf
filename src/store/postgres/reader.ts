// StoreReader over the PostgreSQL store: the query tree compiled to SQL (compile.ts), bound parameters only.
//
// Every statement runs in a read-only transaction with a statement_timeout. A filter SQL
// answers alone (compile.ts isExact) runs as SQL. One with message text terms reads candidate
// rows and lets compileMatcher decide: from the blocks the text index names (blocks.ts), newest
// block first, or, when the index cannot narrow the filter (NOT word, a lone wildcard), from
// the range's rows newest first; both bounded by the query's budget, with a notice when it
// runs out. Counts without a filter, or with field:value on a rolled-up field, come from the
// per-minute rollup (rollup.ts) unless the reader is made with rollup: false.
// Plans that can only scan (wildcards, regular expressions) get the request's scan budget, and
// search reads them one daily partition at a time, newest first, so a budget that runs out
// still answers with what it found and a scan_bounded notice instead of nothing or a hang.

import type pg from 'pg';
import { blocksTable, checkLayout, countsTable, eventsTable, listPartitions, DAY_MS, type StoreTables } from '../../destinations/postgres/schema.js';
import type { RollupField } from '../../destinations/postgres/blocks.js';
import type { EventJson } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import type { FieldRef, Query } from '../query/ast.js';
import type { AggregateResult, AggregateRow, FacetValue, HitBucket, Notice, SearchRequest, SearchResult, StoredEvent, StoreReader, TimeRange } from '../types.js';
import { compileMatcher, groupValue as eventGroupValue } from '../query/match.js';
import { compareRowValues } from '../query/pipes.js';
import { blockPlan, type BlockPlan } from './blocks.js';
import { compileFilter, fieldGroupKey, fieldName, groupValue, isExact } from './compile.js';
import { countsWhere, MINUTE_MS, rolledValue, rollupPlan, splitRange, type RollupPlan } from './rollup.js';
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
  /** false: count rows even where the rollup could answer (tests and benches compare both). */
  rollup?: boolean;
}

/** Rows one page of a scan reads. */
const SCAN_PAGE = 2000;
/** Blocks one page of a block search reads at most (pages start smaller and double). */
const MAX_BLOCK_PAGE = 64;

type Groups = Map<string, { values: (string | number | null)[]; count: number }>;

function addGroup(groups: Groups, values: (string | number | null)[], n: number): void {
  // Type-tagged: 5 and "5" are different groups, as in SQL.
  const key = JSON.stringify(values.map((v) => (typeof v === 'number' ? [v] : v)));
  const g = groups.get(key);
  if (g) g.count += n;
  else groups.set(key, { values, count: n });
}

function newestFirst(a: StoredEvent, b: StoredEvent): number {
  return b.time - a.time || b.seq - a.seq;
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
  private readonly blocks: string;
  private readonly counts: string;
  private readonly statementTimeoutMs: number;
  private readonly scanBudgetMs: number;
  private readonly useRollup: boolean;
  private layoutChecked = false;

  constructor(opts: PgStoreReaderOptions) {
    this.url = opts.url;
    this.poolSize = opts.poolSize ?? 4;
    this.tables = { prefix: opts.table ?? 'sluice_' };
    this.table = eventsTable(this.tables);
    this.blocks = blocksTable(this.tables);
    this.counts = countsTable(this.tables);
    this.statementTimeoutMs = opts.statementTimeoutMs ?? 30_000;
    this.scanBudgetMs = opts.scanBudgetMs ?? 5_000;
    this.useRollup = opts.rollup ?? true;
  }

  private pool(): Promise<pg.Pool> {
    return (this.poolP ??= import('pg').then(({ default: pgLib }) => {
      const pool = new pgLib.Pool({ connectionString: this.url, max: this.poolSize, connectionTimeoutMillis: 10_000 });
      pool.on('error', () => { /* an idle client lost; the next query reconnects */ });
      return pool;
    }));
  }

  /** Runs one statement read-only under a timeout. */
  private async run<R extends pg.QueryResultRow>(sql: string, params: unknown[], timeoutMs: number, settings = ''): Promise<R[]> {
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
      if (!this.layoutChecked) {
        await checkLayout(client, this.tables);
        this.layoutChecked = true;
      }
      await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}${settings}`);
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

  private bounds(range: TimeRange, p: Params): string {
    checkRange(range);
    return `time >= ${p.add(new Date(range.from), 'timestamptz')} AND time < ${p.add(new Date(range.to), 'timestamptz')}`;
  }

  /** The range and the filter's SQL (exact, or the superset the matcher checks). */
  private where(query: Query, range: TimeRange, p: Params): string {
    return `${this.bounds(range, p)} AND ${compileFilter(query.filter, p).sql}`;
  }

  private budget(query: Query, req?: { scanBudgetMs?: number }): number {
    return query.scans ? req?.scanBudgetMs ?? this.scanBudgetMs : this.statementTimeoutMs;
  }

  private scanNotice(query: Query, ms: number, what: string): Notice {
    return { code: 'scan_bounded', message: `"${query.text}" can only be answered by scanning; the scan stopped after ${ms} ms, so ${what}` };
  }

  /** What a candidate read that ran out of time says. */
  private boundedNotice(query: Query, ms: number, what: string): Notice {
    return query.scans ? this.scanNotice(query, ms, what) : { code: 'partial', message: `"${query.text}" stopped after ${ms} ms, so ${what}; narrow the time range` };
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const limit = Math.max(0, Math.min(req.limit, 100_000));
    const after = req.cursor ? decodeCursor(req.cursor) : null;
    const budget = this.budget(req.query, req);
    const notices: Notice[] = [];
    if (req.archives) notices.push({ code: 'partial', message: 'the PostgreSQL store keeps no archives: only the database was searched' });
    checkRange(req.range);
    let events: StoredEvent[];
    if (limit === 0) events = [];
    else if (isExact(req.query.filter)) events = await this.searchExact(req, limit, after, budget, notices);
    else {
      const found: StoredEvent[] = [];
      const deadline = Date.now() + budget;
      const bp = blockPlan(req.query.filter);
      let bounded: boolean;
      try {
        if (bp !== null) {
          bounded = await this.blockPages(req.query, req.range, bp, after, deadline,
            (tMax) => found.length >= limit && found[limit - 1]!.time > tMax,
            () => Math.max(1, limit - found.length),
            (evs) => { found.push(...evs); found.sort(newestFirst); if (found.length > limit) found.length = limit; });
        } else {
          bounded = await this.scanPages(req.query, req.range, after, deadline, (evs) => { found.push(...evs); return found.length < limit; });
          if (found.length > limit) found.length = limit;
        }
      } catch (e) {
        if (!isTimeout(e)) throw this.wrap(e);
        bounded = true;
      }
      if (bounded) notices.push(this.boundedNotice(req.query, budget, 'older matches may be missing'));
      events = found;
    }
    const cursor = events.length > 0 && events.length >= limit ? encodeCursor(events[events.length - 1]!) : null;
    return { events, cursor, notices };
  }

  private async searchExact(req: SearchRequest, limit: number, after: [number, number] | null, budget: number, notices: Notice[]): Promise<StoredEvent[]> {
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
    return events;
  }

  /**
   * Candidate blocks newest first (by their newest event), in pages that grow from 8 to
   * MAX_BLOCK_PAGE; before each block `stop(its newest time)` may end the read; the matching
   * events of each page go to `visit`. A page's rows are read once they are `want()` × 4
   * candidates (at least 500), so a common word reads a block or two, not a page of them.
   * True when the deadline ended it.
   */
  private async blockPages(query: Query, range: TimeRange, bp: BlockPlan, after: [number, number] | null, deadline: number,
    stop: (tMax: number) => boolean, want: () => number, visit: (evs: StoredEvent[]) => void): Promise<boolean> {
    const matcher = compileMatcher(query.filter);
    let page = 8;
    let bound: { t: Date; s: string } | null = null;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return true;
      const p = new Params();
      let sql = `SELECT first_seq::text AS f, last_seq::text AS l, t_max,
          ARRAY(SELECT u.lexeme || ' ' || array_to_string(u.positions, ',') FROM unnest(ts_filter(setweight(words, 'A', ${p.add(bp.lexemes, 'text[]')}), '{a}')) u) AS hits
        FROM ${this.blocks} WHERE t_max >= ${p.add(new Date(range.from), 'timestamptz')} AND t_min < ${p.add(new Date(range.to), 'timestamptz')} AND words @@ ${p.add(bp.tsquery, 'tsquery')}`;
      if (after) sql += ` AND t_min <= ${p.add(new Date(after[0]), 'timestamptz')}`;
      if (bound) sql += ` AND (t_max, last_seq) < (${p.add(bound.t, 'timestamptz')}, ${p.add(bound.s, 'bigint')})`;
      sql += ` ORDER BY t_max DESC, last_seq DESC LIMIT ${page}`;
      // The blocks' words are large (toasted) values: a seq scan that reads every one costs far
      // more than the planner thinks (28 ms against 0.1 ms through the GIN index, 1M events).
      const blocks = await this.run<{ f: string; l: string; t_max: Date; hits: string[] }>(sql, p.values, left, '; SET LOCAL enable_seqscan = off');
      const seqs: string[] = [];
      let stopped = false;
      let used = 0;
      for (const b of blocks) {
        if (seqs.length >= Math.max(500, want() * 4)) break;
        used++;
        if (stop(b.t_max.getTime())) { stopped = true; break; }
        const positions = new Map<string, number[]>();
        for (const h of b.hits) {
          const i = h.lastIndexOf(' ');
          positions.set(h.slice(0, i), h.slice(i + 1).split(',').map(Number));
        }
        const rows = bp.rows(positions);
        const first = Number(b.f);
        const last = Number(b.l);
        if (rows === 'all') for (let s = first; s <= last; s++) seqs.push(String(s));
        else for (const r of rows) if (first + r - 1 <= last) seqs.push(String(first + r - 1));
      }
      if (seqs.length > 0) {
        const p2 = new Params();
        let rowSql = `SELECT ${SELECT_EVENT} FROM ${this.table} WHERE seq = ANY(${p2.add(seqs, 'bigint[]')}) AND ${this.where(query, range, p2)}`;
        if (after) rowSql += ` AND (time, seq) < (${p2.add(new Date(after[0]), 'timestamptz')}, ${p2.add(after[1], 'bigint')})`;
        const left2 = deadline - Date.now();
        if (left2 <= 0) return true;
        visit((await this.run<EventRow>(rowSql, p2.values, left2)).map(toStored).filter((e) => matcher(e.event)));
      }
      if (stopped || (blocks.length < page && used === blocks.length)) return false;
      const lastBlock = blocks[used - 1]!;
      bound = { t: lastBlock.t_max, s: lastBlock.l };
      page = Math.min(page * 2, MAX_BLOCK_PAGE);
    }
  }

  /** The range's rows newest first in pages, the matching ones to `visit` until it says stop; true when the deadline ended it. */
  private async scanPages(query: Query, range: TimeRange, after: [number, number] | null, deadline: number, visit: (evs: StoredEvent[]) => boolean): Promise<boolean> {
    const matcher = compileMatcher(query.filter);
    let cur = after;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return true;
      const p = new Params();
      let sql = `SELECT ${SELECT_EVENT} FROM ${this.table} WHERE ${this.where(query, range, p)}`;
      if (cur) sql += ` AND (time, seq) < (${p.add(new Date(cur[0]), 'timestamptz')}, ${p.add(cur[1], 'bigint')})`;
      sql += ` ORDER BY time DESC, seq DESC LIMIT ${SCAN_PAGE}`;
      const rows = (await this.run<EventRow>(sql, p.values, left)).map(toStored);
      if (rows.length === 0) return false;
      if (!visit(rows.filter((e) => matcher(e.event)))) return false;
      if (rows.length < SCAN_PAGE) return false;
      const last = rows[rows.length - 1]!;
      cur = [last.time, last.seq];
    }
  }

  /** Every matching event of the range to `add` (candidates and the matcher); true when the budget ran out first. */
  private async eachMatch(query: Query, range: TimeRange, add: (e: StoredEvent) => void): Promise<boolean> {
    const deadline = Date.now() + this.budget(query);
    const bp = blockPlan(query.filter);
    try {
      if (bp !== null) return await this.blockPages(query, range, bp, null, deadline, () => false, () => Infinity, (evs) => { for (const e of evs) add(e); });
      return await this.scanPages(query, range, null, deadline, (evs) => { for (const e of evs) add(e); return true; });
    } catch (e) {
      if (!isTimeout(e)) throw this.wrap(e);
      return true;
    }
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

  /** The rollup's plan for counting the query by `by` over the range, or null (count rows). */
  private rollupFor(query: Query, by: FieldRef[]): RollupPlan | null {
    return this.useRollup && isExact(query.filter) ? rollupPlan(query, by) : null;
  }

  /** Counts by `by` (at most one rolled field) from the rollup's whole minutes and the rows at the edges; null when the range has no whole minute. */
  private async rollupGroups(query: Query, range: TimeRange, by: FieldRef[], plan: RollupPlan, notices: Notice[]): Promise<Groups | null> {
    const p = new Params();
    checkRange(range);
    const split = splitRange(range, p);
    if (split === null) return null;
    const edgeWhere = `${split.edges} AND ${compileFilter(query.filter, p).sql}`;
    const groups: Groups = new Map();
    if (by.length === 0) {
      const sql = `SELECT COALESCE(sum(n), 0)::bigint AS count FROM ${this.counts} WHERE ${countsWhere(plan, split, p)}
        UNION ALL SELECT count(*) FROM ${this.table} WHERE ${edgeWhere}`;
      const rows = await this.grouped<{ count: string }>(query, sql, p, notices);
      const n = rows.reduce((a, r) => a + Number(r.count), 0);
      if (n > 0) addGroup(groups, [], n);
      return groups;
    }
    const field = plan.field as RollupField;
    const total = plan.value === null ? `UNION ALL SELECT 't', NULL, sum(n) FROM ${this.counts} WHERE ${countsWhere({ field: '', value: null }, split, p)}` : '';
    const sql = `SELECT 'r' AS src, value AS k, sum(n)::bigint AS count FROM ${this.counts} WHERE ${countsWhere(plan, split, p)} GROUP BY value
      ${total}
      UNION ALL SELECT 'e', ${field}::text, count(*) FROM ${this.table} WHERE ${edgeWhere} GROUP BY 2`;
    const rows = await this.grouped<{ src: string; k: string | null; count: string | null }>(query, sql, p, notices);
    let valued = 0;
    let totalN = 0;
    for (const r of rows) {
      const n = Number(r.count ?? 0);
      if (r.src === 't') { totalN += n; continue; }
      if (r.src === 'r') valued += n;
      addGroup(groups, [r.k === null ? null : rolledValue(field, r.k)], n);
    }
    // Events without the field: the rest of the minutes' totals.
    if (plan.value === null && totalN > valued) addGroup(groups, [null], totalN - valued);
    return groups;
  }

  /**
   * `| stats` and `| top` as pipes.ts defines them: SQL GROUP BY for an exact filter, the
   * rollup where it answers, the matcher over the candidates otherwise.
   */
  async aggregate(query: Query, range: TimeRange): Promise<AggregateResult> {
    const notices: Notice[] = [];
    let by: FieldRef[] = [];
    let top: number | null = null;
    let limit: number | null = null;
    for (const pipe of query.pipes) {
      if (pipe.kind === 'stats') by = pipe.by;
      else if (pipe.kind === 'top') { by = [pipe.field]; top = pipe.n; }
      else if (pipe.kind === 'limit' && (top !== null || by.length > 0 || query.pipes.some((x) => x.kind === 'stats'))) limit = pipe.n;
    }
    const n = top !== null && limit !== null ? Math.min(top, limit) : top ?? limit;
    let groups: Groups | null = null;
    const plan = this.rollupFor(query, by);
    if (plan !== null) groups = await this.rollupGroups(query, range, by, plan, notices);
    if (groups === null && !isExact(query.filter)) {
      groups = new Map();
      const g = groups;
      if (await this.eachMatch(query, range, (e) => addGroup(g, by.map((f) => eventGroupValue(e.event, f)), 1))) {
        notices.push(this.boundedNotice(query, this.budget(query), 'the counts are of the newest matches only'));
      }
    }
    if (groups === null) return { rows: await this.aggregateSql(query, range, by, top, n, notices), notices };
    let list = [...groups.values()];
    if (top !== null) list = list.filter((g) => g.values[0] !== null);
    list.sort((a, b) => b.count - a.count || compareRowValues(a.values, b.values));
    if (n !== null) list = list.slice(0, n);
    const rows = list.map((g) => {
      const row: Record<string, string | number | null> = {};
      by.forEach((f, i) => { row[fieldName(f)] = g.values[i] ?? null; });
      row.count = g.count;
      return row as AggregateRow;
    });
    if (by.length === 0 && rows.length === 0 && n !== 0) rows.push({ count: 0 } as AggregateRow);
    return { rows, notices };
  }

  private async aggregateSql(query: Query, range: TimeRange, by: FieldRef[], top: number | null, n: number | null, notices: Notice[]): Promise<AggregateRow[]> {
    const p = new Params();
    let where = this.where(query, range, p);
    const keys = by.map((f) => fieldGroupKey(f, p));
    // top counts only events that have the field (pipes.ts).
    if (top !== null) where += ` AND ${keys[0]!.expr} IS NOT NULL`;
    const cols = keys.map((k, i) => `${k.expr} AS k${i}`);
    const group = by.length > 0 ? ` GROUP BY ${by.map((_, i) => `k${i}`).join(', ')}` : '';
    const order = by.length > 0 ? ` ORDER BY count DESC, ${keys.map((k, i) => k.order(`k${i}`)).join(', ')}` : '';
    // Grouped in a subquery so that ORDER BY can use the keys inside expressions.
    const sql = `SELECT * FROM (SELECT ${[...cols, 'count(*)::bigint AS count'].join(', ')} FROM ${this.table} WHERE ${where}${group}) g${order}${n !== null ? ` LIMIT ${p.add(n, 'int')}` : ''}`;
    const rows = await this.grouped<Record<string, unknown>>(query, sql, p, notices);
    return rows.map((r) => {
      const row: Record<string, string | number | null> = {};
      by.forEach((f, i) => { row[fieldName(f)] = groupValue(r[`k${i}`]); });
      row.count = Number(r.count);
      return row as AggregateRow;
    });
  }

  async hits(query: Query, range: TimeRange, stepMs: number): Promise<{ buckets: HitBucket[]; notices: Notice[] }> {
    checkRange(range);
    if (!Number.isSafeInteger(stepMs) || stepMs <= 0) throw new SluiceError('SLUICE_ERR_PG', `the histogram step must be a positive number of milliseconds, got ${stepMs}`);
    const first = Math.floor(range.from / stepMs) * stepMs;
    const count = Math.ceil((range.to - first) / stepMs);
    if (count > MAX_BUCKETS) throw new SluiceError('SLUICE_ERR_PG', `a histogram of ${count} buckets is too many (at most ${MAX_BUCKETS}); use a larger step or a shorter range`);
    const notices: Notice[] = [];
    const counts = new Map<number, number>();
    const add = (b: number, n: number): void => { counts.set(b, (counts.get(b) ?? 0) + n); };
    const plan = stepMs % MINUTE_MS === 0 ? this.rollupFor(query, []) : null;
    const p = new Params();
    const split = plan !== null ? splitRange(range, p) : null;
    if (!isExact(query.filter)) {
      if (await this.eachMatch(query, range, (e) => add(Math.floor(e.time / stepMs) * stepMs, 1))) {
        notices.push(this.boundedNotice(query, this.budget(query), 'the histogram counts the newest matches only'));
      }
    } else {
      // date_bin on timestamps: numeric epoch arithmetic per row was most of a histogram's time.
      const step = p.add(`${stepMs} milliseconds`, 'interval');
      const bin = (col: string): string => `date_bin(${step}, ${col}, TIMESTAMPTZ 'epoch')`;
      const sql = plan !== null && split !== null
        // A bucket of whole minutes: the rollup's minutes, and rows for the partial minutes at the range's edges.
        ? `SELECT b, sum(n)::bigint AS n FROM (
             SELECT ${bin('minute')} AS b, sum(n) AS n FROM ${this.counts} WHERE ${countsWhere(plan, split, p)} GROUP BY 1
             UNION ALL SELECT ${bin('time')}, count(*) FROM ${this.table} WHERE ${split.edges} AND ${compileFilter(query.filter, p).sql} GROUP BY 1) x GROUP BY b`
        : `SELECT ${bin('time')} AS b, count(*)::bigint AS n FROM ${this.table} WHERE ${this.where(query, range, p)} GROUP BY b`;
      for (const r of await this.grouped<{ b: Date; n: string }>(query, sql, p, notices)) add(r.b.getTime(), Number(r.n));
    }
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

  /** Matching events after `afterSeq` in seq order, at most `limit`: candidates in pages, the matcher deciding when the SQL alone cannot. */
  async since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const n = Math.max(0, limit);
    const exact = isExact(query.filter);
    const matcher = exact ? null : compileMatcher(query.filter);
    const deadline = Date.now() + this.budget(query);
    const out: StoredEvent[] = [];
    let cur = afterSeq;
    try {
      while (out.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const p = new Params();
        const page = exact ? n - out.length : SCAN_PAGE;
        const sql = `SELECT ${SELECT_EVENT} FROM ${this.table} WHERE seq > ${p.add(cur, 'bigint')} AND ${compileFilter(query.filter, p).sql} ORDER BY seq LIMIT ${p.add(page, 'int')}`;
        const rows = (await this.run<EventRow>(sql, p.values, left)).map(toStored);
        for (const e of rows) if (out.length < n && (matcher === null || matcher(e.event))) out.push(e);
        if (rows.length < page) break;
        cur = rows[rows.length - 1]!.seq;
      }
    } catch (e) {
      if (!isTimeout(e)) throw this.wrap(e);
    }
    return out;
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
