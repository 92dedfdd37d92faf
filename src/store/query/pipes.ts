// `| stats`, `| top` and `| limit` over events in memory: archives, and the oracle that the SQL
// backends' aggregate() is tested against.
//
// Rules the backends reproduce:
// - stats: one row per distinct combination of the `by` values (groupValue: absent = null, a
//   group of its own, as SQL's GROUP BY), keyed by fieldName() (`host`, `fields.user`,
//   `sd.origin.ip`) plus `count`. Without `by`: one row { count } (count 0 when nothing matched).
// - top N field: the N most frequent non-null values of the field, rows { [field]: value, count }.
// - Both sort by count descending, then by the values in order: numbers ascending, then
//   strings in code point order (UTF-8 byte order), null last.
// - limit N after stats/top keeps the first N rows; alone it keeps the first N events in the
//   order given (newest first, as the stores search).

import type { EventJson } from '../../event/log-event.js';
import type { AggregateRow } from '../types.js';
import type { FieldRef, Query } from './ast.js';
import { compileMatcher, compareCodePoints, groupValue } from './match.js';
import { fieldName } from './parse.js';

export type PipeResult =
  | { kind: 'rows'; rows: AggregateRow[] }
  | { kind: 'events'; events: EventJson[] };

/** True when the query ends in rows (stats or top) rather than events. */
export function aggregates(query: Query): boolean {
  return query.pipes.some((p) => p.kind === 'stats' || p.kind === 'top');
}

/** Applies the pipes to events that already matched the filter. */
export function applyPipes(query: Query, events: Iterable<EventJson>): PipeResult {
  let rows: AggregateRow[] | null = null;
  let evs: EventJson[] | null = null;
  let source: Iterable<EventJson> = events;
  for (const p of query.pipes) {
    if (p.kind === 'stats') rows = stats(source, p.by);
    else if (p.kind === 'top') rows = top(source, p.field, p.n);
    else if (rows !== null) rows = rows.slice(0, p.n);
    else {
      evs = take(source, p.n);
      source = evs;
    }
  }
  if (rows !== null) return { kind: 'rows', rows };
  return { kind: 'events', events: evs ?? Array.from(source) };
}

/** Filter, then pipes: what a store answers for the query over these events. */
export function runQuery(query: Query, events: Iterable<EventJson>): PipeResult {
  const m = compileMatcher(query);
  function* matching(): Iterable<EventJson> {
    for (const ev of events) if (m(ev)) yield ev;
  }
  return applyPipes(query, matching());
}

function take(events: Iterable<EventJson>, n: number): EventJson[] {
  const out: EventJson[] = [];
  if (n <= 0) return out;
  for (const ev of events) {
    out.push(ev);
    if (out.length >= n) break;
  }
  return out;
}

function stats(events: Iterable<EventJson>, by: FieldRef[]): AggregateRow[] {
  if (by.length === 0) {
    let count = 0;
    for (const _ of events) count++;
    return [{ count } as AggregateRow];
  }
  const names = by.map(fieldName);
  const groups = new Map<string, { values: (string | number | null)[]; count: number }>();
  for (const ev of events) {
    const values = by.map((f) => groupValue(ev, f));
    // Type-tagged key: 5 and "5" are different groups, as in SQL.
    const key = JSON.stringify(values.map((v) => (typeof v === 'number' ? [v] : v)));
    const g = groups.get(key);
    if (g) g.count++; else groups.set(key, { values, count: 1 });
  }
  const list = [...groups.values()].sort((a, b) => b.count - a.count || compareRowValues(a.values, b.values));
  return list.map((g) => {
    const row: Record<string, string | number | null> = {};
    names.forEach((n, i) => { row[n] = g.values[i]!; });
    row.count = g.count;
    return row as AggregateRow;
  });
}

function top(events: Iterable<EventJson>, field: FieldRef, n: number): AggregateRow[] {
  const name = fieldName(field);
  const counts = new Map<string | number, number>();
  for (const ev of events) {
    const v = groupValue(ev, field);
    if (v === null) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || compareGroupValue(a[0], b[0]))
    .slice(0, n)
    .map(([value, count]) => ({ [name]: value, count }) as AggregateRow);
}

export function compareRowValues(a: (string | number | null)[], b: (string | number | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareGroupValue(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/** Numbers ascending, then strings in code point order, null last. */
export function compareGroupValue(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return compareCodePoints(a, b);
}
