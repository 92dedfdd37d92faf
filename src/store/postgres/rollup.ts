// Counting from the rollup (<prefix>counts, destinations/postgres/blocks.ts): events per minute
// in all and by host, app, facility, severity and source, written with the events.
//
// A query the rollup answers: no filter, or `field:value` on a rolled-up field (the counts of
// that field's values equal to it, as lower(host) = value compares), grouped by nothing or by
// that same field (any rolled field when the filter is empty). A range is read as its whole
// minutes from the counts and the partial minutes at its edges from the rows, in one
// statement (one snapshot).

import { ROLLUP_FIELDS, type RollupField } from '../../destinations/postgres/blocks.js';
import type { FieldRef, Node, Query, Scalar } from '../query/ast.js';
import type { TimeRange } from '../types.js';
import type { Params } from './sql.js';

export const MINUTE_MS = 60_000;

export interface RollupPlan {
  /** '' = every event. */
  field: RollupField | '';
  /** Only the counts of values equal to this (null: all values). */
  value: Scalar | null;
}

function rolled(f: FieldRef): RollupField | null {
  return f.kind === 'builtin' && (ROLLUP_FIELDS as readonly string[]).includes(f.name) ? f.name as RollupField : null;
}

function isCode(f: RollupField): boolean {
  return f === 'facility' || f === 'severity';
}

/** `field:value` the rollup counts exactly: a string on a text field, a number on a code. */
function rolledEquals(n: Node): { field: RollupField; value: Scalar } | null {
  if (n.kind !== 'equals') return null;
  const f = rolled(n.field);
  if (f === null || isCode(f) !== (typeof n.value === 'number')) return null;
  return { field: f, value: n.value };
}

/** The plan for counting the query's events grouped by `by`, or null when only rows can answer. */
export function rollupPlan(query: Query, by: FieldRef[]): RollupPlan | null {
  if (by.length > 1) return null;
  const group = by.length === 1 ? rolled(by[0]!) : null;
  if (by.length === 1 && group === null) return null;
  if (query.filter.kind === 'all') return { field: group ?? '', value: null };
  const eq = rolledEquals(query.filter);
  if (eq === null || (group !== null && group !== eq.field)) return null;
  return { field: eq.field, value: eq.value };
}

/** The whole minutes of a range and its partial edges. */
export interface RollupSplit {
  m0: Date; m1: Date;
  /** SQL over events.time for the edges (false when none). */
  edges: string;
}

export function splitRange(range: TimeRange, p: Params): RollupSplit | null {
  const m0 = Math.ceil(range.from / MINUTE_MS) * MINUTE_MS;
  const m1 = Math.floor(range.to / MINUTE_MS) * MINUTE_MS;
  if (m0 >= m1) return null;
  const parts: string[] = [];
  if (range.from < m0) parts.push(`(time >= ${p.add(new Date(range.from), 'timestamptz')} AND time < ${p.add(new Date(m0), 'timestamptz')})`);
  if (m1 < range.to) parts.push(`(time >= ${p.add(new Date(m1), 'timestamptz')} AND time < ${p.add(new Date(range.to), 'timestamptz')})`);
  return { m0: new Date(m0), m1: new Date(m1), edges: parts.length > 0 ? `(${parts.join(' OR ')})` : 'false' };
}

/** WHERE over the counts table for a plan's slots [m0, m1). */
export function countsWhere(plan: RollupPlan, split: RollupSplit, p: Params): string {
  let w = `field = ${p.add(plan.field, 'text')} AND minute >= ${p.add(split.m0, 'timestamptz')} AND minute < ${p.add(split.m1, 'timestamptz')}`;
  if (plan.value !== null) {
    w += typeof plan.value === 'number' ? ` AND value = ${p.add(String(plan.value), 'text')}` : ` AND lower(value) = ${p.add(plan.value, 'text')}`;
  }
  return w;
}

/** A rolled field's counted value (text in the table) as the rows give it. */
export function rolledValue(field: RollupField, value: string): string | number {
  return isCode(field) ? Number(value) : value;
}
