// Per-hour and per-minute counts kept in each day partition, so facets, `| top`/`| stats` by
// one field and histograms sum a few thousand counters instead of counting every row.
//
// rollup_hour and rollup_minute(field, value, slot, n): n events of that hour or minute
// (slot = time / 3600000 or / 60000) hold `value` in the column `field` (host, app, facility,
// severity, source; absent values are not kept, the reader derives them from the total);
// field '' (value '') counts every event of the slot. Values are exact (BINARY): 'web-01' and
// 'WEB-01' are two rows, as GROUP BY … COLLATE BINARY. A range is read as whole hours, then
// whole minutes at their edges, then rows for the partial minutes (splitRange): with 300 hosts
// a day is 7,200 hour rows where minutes alone would be 432,000. Keyed (field, slot, value), so
// the minutes at a range's edges are a seek, not a pass over the field's day.
//
// RollupBatch.write runs inside the transaction that inserts the batch's rows (partition-writer.ts), so
// the counts are exactly those of the committed rows, after kill -9 too. A partition written
// before the rollup existed gets it built from its rows the first time it is opened for
// writing (ensureRollup); until then readers find no table and count rows.

import type Database from 'better-sqlite3';
import type { FieldRef, Node, Query, Scalar } from '../query/ast.js';
import { compileFilter } from './compile.js';
import { COLUMNS } from './record.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
export interface RollupLevel { table: 'rollup_hour' | 'rollup_minute'; ms: number }
/** Coarsest first. */
export const LEVELS: readonly RollupLevel[] = [{ table: 'rollup_hour', ms: HOUR_MS }, { table: 'rollup_minute', ms: MINUTE_MS }];
export const ROLLUP_FIELDS = ['host', 'app', 'facility', 'severity', 'source'] as const;
export type RollupField = (typeof ROLLUP_FIELDS)[number];
/** The field of the totals per slot. */
export const TOTAL = '';

const TIME = COLUMNS.indexOf('time');
/** Where each rolled-up field is in the record's column order. */
const FIELD_COLUMNS = ROLLUP_FIELDS.map((f) => COLUMNS.indexOf(f));

const ddl = (table: string): string => `CREATE TABLE ${table} (
  field TEXT NOT NULL,
  value NOT NULL,
  slot INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (field, slot, value)
) WITHOUT ROWID`;

/**
 * Creates the rollup of a partition that has none, from the rows it already holds, in one
 * transaction (a reader sees either no table or the complete one).
 */
export function ensureRollup(db: Database.Database): void {
  if (hasRollup(db)) return;
  db.transaction(() => {
    for (const { table, ms } of LEVELS) {
      db.exec(ddl(table));
      db.exec(`INSERT INTO ${table} (field, value, slot, n) SELECT '${TOTAL}', '', time / ${ms} AS s, count(*) FROM events GROUP BY s`);
      for (const f of ROLLUP_FIELDS) {
        db.exec(`INSERT INTO ${table} (field, value, slot, n) SELECT '${f}', ${f} COLLATE BINARY AS v, time / ${ms} AS s, count(*) FROM events WHERE ${f} IS NOT NULL GROUP BY v, s`);
      }
    }
  })();
}

/** True when the partition has its rollup (both levels are made in one transaction). */
export function hasRollup(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollup_minute'").get() !== undefined;
}

const upserts = new WeakMap<Database.Database, Database.Statement[]>();

type SlotCounts = { n: number; values: Map<string | number, number>[] };

/**
 * One write job's counts: the writer adds each row it decoded (add), then writes them inside
 * the transaction that inserts the rows (write). Reused from job to job.
 */
export class RollupBatch {
  private readonly minutes = new Map<number, SlotCounts>();

  /** One row, its columns in record order (COLUMNS). */
  add(row: readonly unknown[]): void {
    const minute = Math.floor((row[TIME] as number) / MINUTE_MS);
    let m = this.minutes.get(minute);
    if (m === undefined) {
      m = { n: 0, values: ROLLUP_FIELDS.map(() => new Map()) };
      this.minutes.set(minute, m);
    }
    m.n++;
    for (let f = 0; f < FIELD_COLUMNS.length; f++) {
      const v = row[FIELD_COLUMNS[f]!] as string | number | null;
      if (v === null) continue;
      const counts = m.values[f]!;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }

  clear(): void {
    this.minutes.clear();
  }

  /** Upserts the counts added since the last write; call inside the rows' transaction. */
  write(db: Database.Database): void {
    let stmts = upserts.get(db);
    if (stmts === undefined) {
      stmts = LEVELS.map((l) => db.prepare(`INSERT INTO ${l.table} (field, value, slot, n) VALUES (?, ?, ?, ?) ON CONFLICT (field, slot, value) DO UPDATE SET n = n + excluded.n`));
      upserts.set(db, stmts);
    }
    const [hourly, perMinute] = stmts as [Database.Statement, Database.Statement];
    // The hours' counts are the sums of their minutes'.
    const hours = new Map<number, SlotCounts>();
    for (const [minute, m] of this.minutes) {
      perMinute.run(TOTAL, '', minute, m.n);
      const hour = Math.floor((minute * MINUTE_MS) / HOUR_MS);
      let h = hours.get(hour);
      if (h === undefined) {
        h = { n: 0, values: ROLLUP_FIELDS.map(() => new Map()) };
        hours.set(hour, h);
      }
      h.n += m.n;
      for (let f = 0; f < ROLLUP_FIELDS.length; f++) {
        const into = h.values[f]!;
        for (const [v, n] of m.values[f]!) {
          perMinute.run(ROLLUP_FIELDS[f], v, minute, n);
          into.set(v, (into.get(v) ?? 0) + n);
        }
      }
    }
    for (const [hour, h] of hours) {
      hourly.run(TOTAL, '', hour, h.n);
      for (let f = 0; f < ROLLUP_FIELDS.length; f++) for (const [v, n] of h.values[f]!) hourly.run(ROLLUP_FIELDS[f], v, hour, n);
    }
    this.minutes.clear();
  }
}

/**
 * What a query asks the rollup for: the counters of one field (or the totals), optionally
 * only the values equal (case-insensitively, as the column compares) to one value.
 */
export interface RollupPlan {
  field: RollupField | typeof TOTAL;
  value: Scalar | null;
}

function isRolled(name: string): name is RollupField {
  return (ROLLUP_FIELDS as readonly string[]).includes(name);
}

/** `field:value` on a rolled-up field that SQL answers exactly (the rollup then answers it too). */
function rolledEquals(node: Node): { field: RollupField; value: Scalar } | null {
  if (node.kind !== 'equals' || node.field.kind !== 'builtin' || !isRolled(node.field.name)) return null;
  return compileFilter(node).exact ? { field: node.field.name, value: node.value } : null;
}

/**
 * The rollup plan for counting the query's events grouped by `by` (at most one field), or
 * null when only the rows can answer: the filter must be empty, or `field:value` on the
 * grouped field itself (or on any rolled field when nothing is grouped).
 */
export function rollupPlan(query: Query, by: FieldRef[]): RollupPlan | null {
  if (by.length > 1) return null;
  const group = by[0];
  if (group !== undefined && (group.kind !== 'builtin' || !isRolled(group.name))) return null;
  const groupField = group?.name as RollupField | undefined;
  if (query.filter.kind === 'all') return { field: groupField ?? TOTAL, value: null };
  const eq = rolledEquals(query.filter);
  if (eq === null || (groupField !== undefined && groupField !== eq.field)) return null;
  return { field: eq.field, value: eq.value };
}

/** Slots [s0, s1) of one level's table. */
export interface RollupSlots { level: RollupLevel; s0: number; s1: number }

/**
 * [from, to) as whole slots of the coarsest level that fits, finer levels at its edges, and
 * the partial minutes left at the very edges, which only rows can count.
 */
export function splitRange(from: number, to: number, levels: readonly RollupLevel[] = LEVELS): { slots: RollupSlots[]; edges: [number, number][] } {
  const [level, ...finer] = levels;
  if (level === undefined) return { slots: [], edges: from < to ? [[from, to]] : [] };
  const lo = Math.ceil(from / level.ms);
  const hi = Math.floor(to / level.ms);
  if (lo >= hi) return splitRange(from, to, finer);
  const left = splitRange(from, lo * level.ms, finer);
  const right = splitRange(hi * level.ms, to, finer);
  return { slots: [{ level, s0: lo, s1: hi }, ...left.slots, ...right.slots], edges: [...left.edges, ...right.edges] };
}

function where(plan: RollupPlan): [string, unknown[]] {
  // NOCASE as the events' text columns compare (the query's value is ASCII here: compile.ts).
  return plan.value === null ? ['field = ? AND slot >= ? AND slot < ?', []] : ['field = ? AND slot >= ? AND slot < ? AND value = ? COLLATE NOCASE', [plan.value]];
}

/** Sums per value over the slots. */
export function sumByValue(db: Database.Database, plan: RollupPlan, at: RollupSlots): { value: string | number; n: number }[] {
  const [w, extra] = where(plan);
  return db.prepare(`SELECT value, sum(n) AS n FROM ${at.level.table} WHERE ${w} GROUP BY value`).all(plan.field, at.s0, at.s1, ...extra) as { value: string | number; n: number }[];
}

/** The sum over the slots. */
export function sumAll(db: Database.Database, plan: RollupPlan, at: RollupSlots): number {
  const [w, extra] = where(plan);
  return (db.prepare(`SELECT ifnull(sum(n), 0) AS n FROM ${at.level.table} WHERE ${w}`).get(plan.field, at.s0, at.s1, ...extra) as { n: number }).n;
}

/** Sums per bucket of `stepMs` (a whole number of the level's slots) over the slots; bucket times in ms. */
export function sumByBucket(db: Database.Database, plan: RollupPlan, at: RollupSlots, stepMs: number): { b: number; n: number }[] {
  const [w, extra] = where(plan);
  const per = stepMs / at.level.ms;
  return db.prepare(`SELECT (slot / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS b, sum(n) AS n FROM ${at.level.table} WHERE ${w} GROUP BY 1`).all(per, stepMs, plan.field, at.s0, at.s1, ...extra) as { b: number; n: number }[];
}

/** The `field:value` terms of a filter's top-level AND that the rollup can place in time (rolledEquals). */
export function rolledTerms(filter: Node): { field: RollupField; value: Scalar }[] {
  const parts = filter.kind === 'and' ? filter.nodes : [filter];
  const out: { field: RollupField; value: Scalar }[] = [];
  for (const n of parts) {
    const eq = rolledEquals(n);
    if (eq !== null) out.push(eq);
  }
  return out;
}

/**
 * The minutes of [from, to) that hold every term, as time windows [from, to) merged where
 * they touch, newest first; null when there are more than `max` (the terms are common: a
 * scan in time order finds matches soon). The rows' own filter still decides: a window
 * only says where matching rows can be, so partitions keep no index per field.
 */
export function windowsWith(db: Database.Database, terms: readonly { field: RollupField; value: Scalar }[], from: number, to: number, max: number): [number, number][] | null {
  const s0 = Math.floor(from / MINUTE_MS);
  const s1 = Math.ceil(to / MINUTE_MS);
  const one = 'SELECT slot FROM rollup_minute WHERE field = ? AND slot >= ? AND slot < ? AND value = ? COLLATE NOCASE';
  const sql = `${terms.map(() => one).join(' INTERSECT ')} ORDER BY slot DESC LIMIT ?`;
  const slots = db.prepare(sql).pluck().all(...terms.flatMap((t) => [t.field, s0, s1, t.value]), max * 8 + 1) as number[];
  const out: [number, number][] = [];
  for (const s of slots) {
    const w0 = Math.max(from, s * MINUTE_MS);
    const w1 = Math.min(to, (s + 1) * MINUTE_MS);
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === w1) last[0] = w0;
    else {
      if (out.length === max) return null;
      out.push([w0, w1]);
    }
  }
  if (slots.length > max * 8) return null;
  return out;
}
