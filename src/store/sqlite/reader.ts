// The StoreReader over the embedded store's day partitions; works beside a running daemon.
//
// Each request touches only partitions that exist and overlap its range (a 100-year range
// reads what is there, nothing else), newest first, so `newest 100 with a rare word` stops
// at the first partitions that have enough. Terms SQL cannot decide are checked by the
// shared matcher over the SQL's candidates, within a time budget; when the budget runs out
// the answer says so (scan_bounded) instead of running on. Counts without a filter (or with
// field:value on the counted field) sum the partitions' per-hour and per-minute rollup
// (rollup.ts) instead of counting rows.

import type Database from 'better-sqlite3';
import type { EventJson } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { compileMatcher, groupValue } from '../query/match.js';
import { fieldName } from '../query/parse.js';
import { compareGroupValue } from '../query/pipes.js';
import type { FieldRef, Query } from '../query/ast.js';
import type {
  AggregateResult, AggregateRow, CountOptions, FacetValue, HitBucket, Notice, SearchRequest, SearchResult, StoredEvent, StoreReader, TimeRange,
} from '../types.js';
import { columnOf, compileFilter, type CompiledFilter } from './compile.js';
import { dayStart, listPartitions, openPartitionForQuery, type PartitionInfo } from './schema.js';
import { COLUMNS, decodeRecord, type ColumnValue } from './record.js';
import { EVENT_COLUMNS, eventJson, type EventRow } from './event-form.js';
import { readArchive } from '../archive/archive.js';
import { hasRollup, LEVELS, rolledTerms, rollupPlan, splitRange, sumAll, sumByBucket, sumByValue, TOTAL, windowsWith, type RollupLevel, type RollupPlan, type RollupSlots } from './rollup.js';
import fs from 'node:fs';
import path from 'node:path';

const DAY_MS = 86_400_000;

export const DEFAULT_SCAN_BUDGET_MS = 2000;
/** Buckets filled with zeros up to this many; beyond, only buckets with events are returned. */
const MAX_FILLED_BUCKETS = 10_000;
/** fields() reads at most this many of the newest events of the range for sd.* and fields.* names. */
const FIELD_SAMPLE = 10_000;
/** A search reads at most this many time windows of a field:value's minutes, else it scans the range in time order. */
const MAX_WINDOWS = 256;

type Row = EventRow;

type Matcher = (ev: EventJson) => boolean;

/** How a request filters: SQL (with its parameters) and, for candidates, the matcher. */
interface Plan {
  where: string;
  params: unknown[];
  matcher: Matcher | null;
}

export interface ReaderOptions {
  /** Budget for candidate scans when a request does not give one (ms). */
  scanBudgetMs?: number;
  /** Where archived days are (default <dir>/archive). */
  archiveDir?: string;
  /** false: count rows even where the partitions' rollup could answer (tests and benches compare both). */
  rollup?: boolean;
}

const ARCHIVE_FILE = /^(\d{4}-\d{2}-\d{2})\.sla$/;

export class SqliteStoreReader implements StoreReader {
  private readonly handles = new Map<string, Database.Database>();
  private readonly budgetMs: number;
  private readonly archiveDir: string;
  private readonly useRollup: boolean;
  /** Partition files known to have a rollup table (it is never removed once there). */
  private readonly rolledUp = new Set<string>();

  constructor(readonly dir: string, opts: ReaderOptions = {}) {
    this.budgetMs = opts.scanBudgetMs ?? DEFAULT_SCAN_BUDGET_MS;
    this.useRollup = opts.rollup ?? true;
    this.archiveDir = opts.archiveDir ?? path.join(dir, 'archive');
  }

  /** Archived days overlapping the range that are no longer in the database, newest first. */
  private archives(range: TimeRange): { day: string; file: string; from: number; to: number }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.archiveDir);
    } catch {
      return [];
    }
    const inDb = new Set(listPartitions(this.dir).map((p) => p.day));
    const out: { day: string; file: string; from: number; to: number }[] = [];
    for (const n of names) {
      const m = ARCHIVE_FILE.exec(n);
      if (!m || inDb.has(m[1]!)) continue;
      const from = dayStart(m[1]!);
      if (Number.isNaN(from) || from >= range.to || from + DAY_MS <= range.from) continue;
      out.push({ day: m[1]!, file: path.join(this.archiveDir, n), from, to: from + DAY_MS });
    }
    return out.sort((a, b) => b.from - a.from);
  }

  /**
   * Matching events of archived days (newest first, after the cursor), read from the archive
   * files: slower than the database (each file is decompressed and scanned).
   */
  private searchArchives(req: SearchRequest, after: { time: number; seq: number } | null, want: number, deadline: number, events: StoredEvent[]): { last: { time: number; seq: number } | null; read: number; bounded: boolean } {
    let last: { time: number; seq: number } | null = null;
    let read = 0;
    for (const a of this.archives(req.range)) {
      if (after && a.from > after.time) continue;
      read++;
      const found: StoredEvent[] = [];
      const bounded = archivedMatches(a.file, req.query, req.range, deadline, (e) => {
        if (!after || e.time < after.time || (e.time === after.time && e.seq < after.seq)) found.push(e);
      });
      if (bounded) return { last, read, bounded: true };
      found.sort((x, y) => y.time - x.time || y.seq - x.seq);
      for (const e of found) {
        if (events.length >= want) break;
        events.push(e);
        last = e;
      }
      if (events.length >= want) break;
    }
    return { last, read, bounded: false };
  }

  /**
   * Adds the matching events of archived days in the range to a count (aggregate, hits,
   * facets); the notices say that archives were read, or that the budget stopped it.
   */
  private countArchives(query: Query, range: TimeRange, notices: Notice[], what: string, add: (e: StoredEvent) => void): void {
    const deadline = performance.now() + this.budgetMs;
    let read = 0;
    for (const a of this.archives(range)) {
      read++;
      if (archivedMatches(a.file, query, range, deadline, add)) {
        notices.push(scanBounded(this.budgetMs, `${what} over archived day ${a.day}`, null));
        break;
      }
    }
    if (read > 0) notices.push(archiveRead(read, this.archiveDir));
  }

  private db(p: PartitionInfo): Database.Database {
    let db = this.handles.get(p.file);
    if (!db) {
      try {
        db = openPartitionForQuery(p.file);
      } catch (e) {
        throw new SluiceError('SLUICE_ERR_STORE', `store ${this.dir}: cannot open partition ${p.day}: ${(e as Error).message}`, { cause: e });
      }
      this.handles.set(p.file, db);
    }
    return db;
  }

  /** The partition's database when the rollup can answer `plan` there (else null: count rows). */
  private rollupDb(p: PartitionInfo, plan: RollupPlan | null): Database.Database | null {
    return plan === null ? null : this.rolledDb(p);
  }

  /** The partition's database when it has a rollup and the reader may use it (else null). */
  private rolledDb(p: PartitionInfo): Database.Database | null {
    if (!this.useRollup) return null;
    const db = this.db(p);
    if (this.rolledUp.has(p.file)) return db;
    if (!hasRollup(db)) return null;
    this.rolledUp.add(p.file);
    return db;
  }

  /**
   * Counts the part of the range in partition p: from the rollup (`rolled`) for whole hours and
   * minutes and from rows (`rows`) for the partial minutes at the edges, in one read
   * transaction so both see the same commit; or from rows for all of it when the rollup cannot
   * answer.
   */
  private bySlots(p: PartitionInfo, range: TimeRange, plan: RollupPlan | null, levels: readonly RollupLevel[], rolled: (db: Database.Database, at: RollupSlots) => void, rows: (r: TimeRange) => void): void {
    const db = levels.length > 0 ? this.rollupDb(p, plan) : null;
    if (db === null) { rows(range); return; }
    db.transaction(() => {
      const { slots, edges } = splitRange(Math.max(range.from, p.from), Math.min(range.to, p.to), levels);
      for (const at of slots) rolled(db, at);
      for (const [from, to] of edges) rows({ from, to });
    })();
  }

  /** Partitions overlapping the range, newest first. */
  private partitions(range: TimeRange | null): PartitionInfo[] {
    const all = listPartitions(this.dir);
    if (range === null) return all;
    return all.filter((p) => p.to > range.from && p.from < range.to);
  }

  private plan(query: Query): Plan {
    const c: CompiledFilter = compileFilter(query.filter);
    return { where: c.sql, params: c.params, matcher: c.exact ? null : compileMatcher(query.filter) };
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const plan = this.plan(req.query);
    const pipeLimit = req.query.pipes.find((p) => p.kind === 'limit');
    const limit = Math.max(0, Math.min(req.limit, pipeLimit?.kind === 'limit' ? pipeLimit.n : Infinity));
    const after = decodeCursor(req.cursor ?? null);
    const deadline = performance.now() + (req.scanBudgetMs ?? this.budgetMs);
    const events: StoredEvent[] = [];
    const notices: Notice[] = [];
    let last: { time: number; seq: number } | null = null;
    let bounded = false;
    if (limit === 0) return { events, cursor: null, notices };
    const terms = rolledTerms(req.query.filter);
    for (const p of this.partitions(req.range)) {
      if (after && p.from > after.time) continue;
      const db = this.db(p);
      const rest: unknown[] = [...plan.params];
      let sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE time >= ? AND time < ? AND (${plan.where})`;
      if (after) {
        sql += ' AND (time < ? OR (time = ? AND seq < ?))';
        rest.push(after.time, after.time, after.seq);
      }
      sql += ' ORDER BY time DESC, seq DESC';
      const select = db.prepare(plan.matcher === null ? sql + ' LIMIT ?' : sql);
      // Newest first within [from, to), into events (bounded is set when the budget runs out).
      const searchRange = (from: number, to: number): void => {
        const params: unknown[] = [from, to, ...rest];
        if (plan.matcher === null) {
          const rows = select.all(...params, limit - events.length) as Row[];
          for (const r of rows) events.push(stored(r, eventJson(r)));
          if (rows.length) last = rows[rows.length - 1]!;
        } else {
          let n = 0;
          for (const r of select.iterate(...params) as IterableIterator<Row>) {
            const ev = eventJson(r);
            last = r;
            if (plan.matcher(ev)) {
              events.push(stored(r, ev));
              if (events.length >= limit) break;
            }
            if ((++n & 63) === 0 && performance.now() > deadline) { bounded = true; break; }
          }
        }
      };
      const from = Math.max(req.range.from, p.from);
      const to = Math.min(req.range.to, p.to);
      // field:value terms the rollup places in time: only the minutes that hold them are read
      // (partitions have no index per field); one read transaction, so both see one commit.
      if (terms.length > 0 && this.rolledDb(p) !== null) {
        db.transaction(() => {
          const windows = windowsWith(db, terms, from, to, MAX_WINDOWS);
          if (windows === null) { searchRange(from, to); return; }
          for (const [w0, w1] of windows) {
            searchRange(w0, w1);
            if (events.length >= limit || bounded) break;
          }
        })();
      } else searchRange(from, to);
      if (events.length >= limit || bounded) break;
    }
    if (req.archives && !bounded && events.length < limit) {
      const a = this.searchArchives(req, after, limit, deadline, events);
      if (a.last) last = a.last;
      if (a.bounded) bounded = true;
      if (a.read > 0) notices.push(archiveRead(a.read, this.archiveDir));
    }
    if (bounded) notices.push(scanBounded(req.scanBudgetMs ?? this.budgetMs, 'search', last));
    const more = (events.length >= limit || bounded) && last !== null;
    return { events, cursor: more ? encodeCursor(last!) : null, notices };
  }

  /**
   * Counts by the given fields over the range: SQL GROUP BY when the filter is exact and the
   * fields are columns, else the matcher and fieldValue over the candidates (bounded).
   */
  private countBy(query: Query, range: TimeRange, by: FieldRef[], notices: Notice[], opts: CountOptions): Map<string, { values: (string | number | null)[]; count: number }> {
    const plan = this.plan(query);
    const cols = by.map(columnOf);
    const counts = new Map<string, { values: (string | number | null)[]; count: number }>();
    const add = (values: (string | number | null)[], n: number) => {
      // Type-tagged: 5 and "5" are different groups, as in SQL.
      const key = JSON.stringify(values.map((v) => (typeof v === 'number' ? [v] : v)));
      const e = counts.get(key);
      if (e) e.count += n;
      else counts.set(key, { values, count: n });
    };
    if (plan.matcher === null && cols.every((c) => c !== null)) {
      // BINARY: groups are exact values (the columns compare NOCASE for filters).
      const sel = cols.map((c, i) => `${c} COLLATE BINARY AS k${i}`);
      const group = cols.length ? ` GROUP BY ${cols.map((_, i) => `k${i}`).join(', ')}` : '';
      const rp = rollupPlan(query, by);
      for (const p of this.partitions(range)) {
        const fromRows = (r: TimeRange) => {
          const [within, times] = timeClause(p, r);
          const sql = `SELECT ${[...sel, 'count(*) AS n'].join(', ')} FROM events WHERE ${within} AND (${plan.where})${group}`;
          const rows = this.db(p).prepare(sql).all(...times, ...plan.params) as Record<string, string | number | null>[];
          for (const r of rows) {
            if (r.n === 0) continue;
            add(cols.map((_, i) => r[`k${i}`] ?? null), r.n as number);
          }
        };
        const fromRollup = (db: Database.Database, at: RollupSlots) => {
          if (by.length === 0) {
            const n = sumAll(db, rp!, at);
            if (n > 0) add([], n);
            return;
          }
          let valued = 0;
          for (const r of sumByValue(db, rp!, at)) { add([r.value], r.n); valued += r.n; }
          // Events without the field are the rest of the total (only when nothing filters).
          if (rp!.value === null) {
            const absent = sumAll(db, { field: TOTAL, value: null }, at) - valued;
            if (absent > 0) add([null], absent);
          }
        };
        this.bySlots(p, range, rp, LEVELS, fromRollup, fromRows);
      }
      if (opts.archives) this.countArchives(query, range, notices, 'counts', (e) => add(by.map((f) => groupValue(e.event, f)), 1));
      return counts;
    }
    const deadline = performance.now() + this.budgetMs;
    let n = 0;
    let last: { time: number; seq: number } | null = null;
    outer: for (const p of this.partitions(range)) {
      const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE time >= ? AND time < ? AND (${plan.where}) ORDER BY time DESC, seq DESC`;
      for (const r of this.db(p).prepare(sql).iterate(range.from, range.to, ...plan.params) as IterableIterator<Row>) {
        last = r;
        const ev = eventJson(r);
        if (plan.matcher === null || plan.matcher(ev)) add(by.map((f) => groupValue(ev, f)), 1);
        if ((++n & 63) === 0 && performance.now() > deadline) {
          notices.push(scanBounded(this.budgetMs, 'counts', last));
          break outer;
        }
      }
    }
    if (opts.archives && !notices.some((x) => x.code === 'scan_bounded')) this.countArchives(query, range, notices, 'counts', (e) => add(by.map((f) => groupValue(e.event, f)), 1));
    return counts;
  }

  /**
   * `| stats` and `| top` as pipes.ts defines them: rows keyed by fieldName plus count, by
   * count descending then the values (numbers, then strings by code point, null last); top
   * leaves out null; a limit after them keeps the first rows.
   */
  async aggregate(query: Query, range: TimeRange, opts: CountOptions = {}): Promise<AggregateResult> {
    const notices: Notice[] = [];
    const pipe = query.pipes.find((p) => p.kind === 'stats' || p.kind === 'top');
    const by = pipe === undefined ? [] : pipe.kind === 'stats' ? pipe.by : pipe.kind === 'top' ? [pipe.field] : [];
    const names = by.map(fieldName);
    let groups = [...this.countBy(query, range, by, notices, opts).values()];
    if (pipe?.kind === 'top') groups = groups.filter((g) => g.values[0] !== null);
    groups.sort((a, b) => b.count - a.count || compareValues(a.values, b.values));
    if (pipe?.kind === 'top') groups = groups.slice(0, pipe.n);
    let rows = groups.map((g) => {
      const row = {} as AggregateRow;
      names.forEach((n, i) => { row[n] = g.values[i] ?? null; });
      row.count = g.count;
      return row;
    });
    if (by.length === 0 && rows.length === 0) rows.push({ count: 0 } as AggregateRow);
    const at = pipe === undefined ? -1 : query.pipes.indexOf(pipe);
    for (const p of query.pipes.slice(at + 1)) if (p.kind === 'limit') rows = rows.slice(0, p.n);
    return { rows, notices };
  }

  async hits(query: Query, range: TimeRange, stepMs: number, opts: CountOptions = {}): Promise<{ buckets: HitBucket[]; notices: Notice[] }> {
    if (!(stepMs >= 1) || !Number.isFinite(stepMs)) throw new SluiceError('SLUICE_ERR_USAGE', `hits: step must be a positive number of milliseconds, got ${stepMs}`);
    const step = Math.floor(stepMs);
    const plan = this.plan(query);
    const notices: Notice[] = [];
    const counts = new Map<number, number>();
    const add = (b: number, n: number) => counts.set(b, (counts.get(b) ?? 0) + n);
    if (plan.matcher === null) {
      // A bucket holds whole slots of the levels whose slot divides the step.
      const rp = rollupPlan(query, []);
      const levels = LEVELS.filter((l) => step % l.ms === 0);
      for (const p of this.partitions(range)) {
        const fromRows = (r: TimeRange) => {
          const [within, times] = timeClause(p, r);
          const sql = `SELECT (time / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS b, count(*) AS n FROM events WHERE ${within} AND (${plan.where}) GROUP BY b`;
          for (const x of this.db(p).prepare(sql).all(step, step, ...times, ...plan.params) as { b: number; n: number }[]) add(x.b, x.n);
        };
        const fromRollup = (db: Database.Database, at: RollupSlots) => {
          for (const x of sumByBucket(db, rp!, at, step)) add(x.b, x.n);
        };
        this.bySlots(p, range, rp, levels, fromRollup, fromRows);
      }
    } else {
      const deadline = performance.now() + this.budgetMs;
      let n = 0;
      outer: for (const p of this.partitions(range)) {
        const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE time >= ? AND time < ? AND (${plan.where}) ORDER BY time DESC, seq DESC`;
        for (const r of this.db(p).prepare(sql).iterate(range.from, range.to, ...plan.params) as IterableIterator<Row>) {
          if (plan.matcher(eventJson(r))) add(Math.floor(r.time / step) * step, 1);
          if ((++n & 63) === 0 && performance.now() > deadline) {
            notices.push(scanBounded(this.budgetMs, 'histogram', r));
            break outer;
          }
        }
      }
    }
    if (opts.archives && notices.length === 0) this.countArchives(query, range, notices, 'histogram', (e) => add(Math.floor(e.time / step) * step, 1));
    const first = Math.floor(range.from / step) * step;
    const buckets: HitBucket[] = [];
    if ((range.to - first) / step <= MAX_FILLED_BUCKETS) {
      for (let t = first; t < range.to; t += step) buckets.push({ time: t, count: counts.get(t) ?? 0 });
    } else {
      for (const [time, count] of [...counts].sort((a, b) => a[0] - b[0])) buckets.push({ time, count });
    }
    return { buckets, notices };
  }

  async facets(query: Query, range: TimeRange, fields: FieldRef[], limit: number, opts: CountOptions = {}): Promise<{ facets: Map<string, FacetValue[]>; notices: Notice[] }> {
    const notices: Notice[] = [];
    const facets = new Map<string, FacetValue[]>();
    for (const f of fields) {
      // As `| top limit field`: the most frequent values, null left out.
      const counts = this.countBy(query, range, [f], notices, opts);
      const values = [...counts.values()].filter((c) => c.values[0] !== null).map((c) => ({ value: c.values[0]!, count: c.count }));
      values.sort((a, b) => b.count - a.count || compareGroupValue(a.value, b.value));
      facets.set(fieldName(f), values.slice(0, limit));
    }
    return { facets, notices };
  }

  async fields(range: TimeRange): Promise<{ name: string; count: number }[]> {
    const builtins: [string, string][] = [['host', 'host'], ['app', 'app'], ['procid', 'procid'], ['msgid', 'msgid'], ['facility', 'facility'], ['severity', 'severity'], ['source', 'source'], ['transport', 'transport']];
    const totals = new Map<string, number>();
    const add = (name: string, n: number) => { if (n > 0) totals.set(name, (totals.get(name) ?? 0) + n); };
    let sampled = 0;
    for (const p of this.partitions(range)) {
      const db = this.db(p);
      const [within, times] = timeClause(p, range);
      const r = db.prepare(`SELECT ${builtins.map(([n, c]) => `count(${c}) AS ${n}`).join(', ')} FROM events WHERE ${within}`).get(...times) as Record<string, number>;
      for (const [k, v] of Object.entries(r)) add(k, v);
      if (sampled >= FIELD_SAMPLE) continue;
      const rows = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE time >= ? AND time < ? ORDER BY time DESC LIMIT ?`).all(range.from, range.to, FIELD_SAMPLE - sampled) as Row[];
      sampled += rows.length;
      for (const r of rows) {
        const ev = eventJson(r);
        if (ev.structured_data) for (const [id, params] of Object.entries(ev.structured_data)) for (const param of Object.keys(params)) add(`sd.${id}.${param}`, 1);
        for (const name of Object.keys(ev.fields ?? {})) add(`fields.${name}`, 1);
      }
    }
    return [...totals].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  }

  async context(seq: number, before: number, after: number, by: 'host' | 'source'): Promise<StoredEvent[]> {
    const parts = this.partitions(null);
    let at = -1;
    let row: Row | undefined;
    for (let i = 0; i < parts.length && row === undefined; i++) {
      row = this.db(parts[i]!).prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq = ?`).get(seq) as typeof row;
      if (row !== undefined) at = i;
    }
    if (row === undefined) return [];
    const key = row[by];
    const col = by === 'host' ? 'host' : 'source';
    const older: Row[] = [];
    for (let i = at; i < parts.length && older.length < before; i++) {
      older.push(...this.db(parts[i]!).prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE ${col} IS ? AND (time < ? OR (time = ? AND seq < ?)) ORDER BY time DESC, seq DESC LIMIT ?`)
        .all(key, row.time, row.time, row.seq, before - older.length) as Row[]);
    }
    const newer: Row[] = [];
    for (let i = at; i >= 0 && newer.length < after; i--) {
      newer.push(...this.db(parts[i]!).prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE ${col} IS ? AND (time > ? OR (time = ? AND seq > ?)) ORDER BY time ASC, seq ASC LIMIT ?`)
        .all(key, row.time, row.time, row.seq, after - newer.length) as Row[]);
    }
    return [...older.reverse(), row, ...newer].map((r) => stored(r, eventJson(r)));
  }

  async since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const plan = this.plan(query);
    if (limit <= 0) return [];
    const found: StoredEvent[] = [];
    const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? AND (${plan.where}) ORDER BY seq`;
    for (const p of this.partitions(null)) {
      const db = this.db(p);
      if (plan.matcher === null) {
        for (const r of db.prepare(sql + ' LIMIT ?').all(afterSeq, ...plan.params, limit) as Row[]) found.push(stored(r, eventJson(r)));
        continue;
      }
      let taken = 0;
      for (const r of db.prepare(sql).iterate(afterSeq, ...plan.params) as IterableIterator<Row>) {
        const ev = eventJson(r);
        if (!plan.matcher(ev)) continue;
        found.push(stored(r, ev));
        if (++taken >= limit) break;
      }
    }
    found.sort((a, b) => a.seq - b.seq);
    return found.slice(0, limit);
  }

  async lastSeq(): Promise<number> {
    let max = 0;
    for (const p of this.partitions(null)) {
      const r = this.db(p).prepare('SELECT max(seq) AS m FROM events').get() as { m: number | null };
      if (r.m !== null && r.m > max) max = r.m;
    }
    return max;
  }

  async close(): Promise<void> {
    for (const db of this.handles.values()) db.close();
    this.handles.clear();
  }
}

/**
 * The time condition for one partition: none when the range covers the whole day (every row
 * of a day file is within it), so GROUP BY can use the field's own index.
 */
function timeClause(p: PartitionInfo, range: TimeRange): [string, number[]] {
  if (range.from <= p.from && range.to >= p.to) return ['1', []];
  return ['time >= ? AND time < ?', [range.from, range.to]];
}

/** A decoded record's values (COLUMNS order) as a row. */
function rowOf(values: ColumnValue[]): EventRow {
  const r: Record<string, ColumnValue> = {};
  for (let i = 0; i < COLUMNS.length; i++) r[COLUMNS[i]!] = values[i]!;
  return r as unknown as EventRow;
}

function stored(r: Row, event: EventJson): StoredEvent {
  return { seq: r.seq, time: r.time, event, raw: r.raw };
}

function encodeCursor(at: { time: number; seq: number }): string {
  return Buffer.from(JSON.stringify([at.time, at.seq])).toString('base64url');
}

function decodeCursor(c: string | null): { time: number; seq: number } | null {
  if (c === null || c === '') return null;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && Number.isSafeInteger(v[1])) return { time: v[0] as number, seq: v[1] as number };
  } catch { /* fall through */ }
  throw new SluiceError('SLUICE_ERR_USAGE', `not a cursor from this store: ${JSON.stringify(c.slice(0, 80))}`);
}

/**
 * Calls `found` with each event of one archive file in the range that the query's filter
 * matches; true when the deadline stopped it first.
 */
function archivedMatches(file: string, query: Query, range: TimeRange, deadline: number, found: (e: StoredEvent) => void): boolean {
  const matcher = compileMatcher(query.filter);
  const values: ColumnValue[] = new Array(COLUMNS.length).fill(null);
  let n = 0;
  for (const r of readArchive(file)) {
    if ((++n & 255) === 0 && performance.now() > deadline) return true;
    decodeRecord(r.bytes, 0, r.bytes.length, values);
    const time = values[1] as number;
    if (time < range.from || time >= range.to) continue;
    const ev = eventJson(rowOf(values));
    if (!matcher(ev)) continue;
    found({ seq: values[0] as number, time, event: ev, raw: values[12] === null ? null : Buffer.from(values[12] as Buffer), archived: true });
  }
  return false;
}

function archiveRead(days: number, dir: string): Notice {
  return { code: 'archive_read', message: `read ${days} archived day${days === 1 ? '' : 's'} (${dir}): slower than the database` };
}

function scanBounded(budgetMs: number, what: string, last: { time: number } | null): Notice {
  const upTo = last ? ` (covered events back to ${new Date(last.time).toISOString()})` : '';
  return { code: 'scan_bounded', message: `the query needs a scan (wildcard, regular expression or a field without an index); the ${what} stopped after ${budgetMs} ms${upTo}: narrow the time range or the query for a complete answer` };
}

function compareValues(a: (string | number | null)[], b: (string | number | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareGroupValue(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return c;
  }
  return 0;
}
