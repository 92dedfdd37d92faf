// Sigma correlation rules evaluated on the stream: event_count, value_count, temporal and
// temporal_ordered, grouped by field values, in a timespan that slides on event time.
//
// State is bounded: at most `maxGroups` groups per rule (the oldest is forgotten, counted)
// and at most `maxValues` distinct values per value_count group. Conditions with only a lower
// bound (gt, gte) fire as soon as they hold, once per group and window; conditions with an
// upper bound (lt, lte, eq) can only be decided when a window closes, which happens when an
// event of the group arrives after it, or when event time has moved past it (checked at most
// once a second of event time).

import type { FieldReader } from '../../event/field-access.js';
import type { LogEvent } from '../../event/log-event.js';
import { alertSource, makeAlert, type RuleInfo } from '../alert.js';
import { valueText } from '../../event/field-access.js';

export type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';
export interface CountCondition { gt?: number; gte?: number; lt?: number; lte?: number; eq?: number }

export interface CorrelationSpec {
  info: RuleInfo;
  type: CorrelationType;
  /** Referenced rules, in order (temporal_ordered). */
  refs: string[];
  groupBy: string[];
  spanMs: number;
  condition: CountCondition | null;
  /** value_count: the field whose distinct values are counted. */
  field: string | null;
}

export interface CorrelationLimits { maxGroups: number; maxValues: number }

export function conditionHolds(c: CountCondition, n: number): boolean {
  return (c.gt === undefined || n > c.gt) && (c.gte === undefined || n >= c.gte) && (c.lt === undefined || n < c.lt)
    && (c.lte === undefined || n <= c.lte) && (c.eq === undefined || n === c.eq);
}

interface CountState { times: number[]; head: number; suppressUntil: number; start: number; count: number; firstEv: LogEvent | null; lastEv: LogEvent | null; values: Map<string, number> | null }
interface TemporalState { last: (number | undefined)[]; start: (number | undefined)[] }

export class Correlation {
  private readonly groups = new Map<string, CountState | TemporalState>();
  private readonly upperBounded: boolean;
  private watermark = 0;
  private lastSweep = 0;
  /** Correlations that refer to this one (chains). */
  readonly dependents: { corr: Correlation; position: number[] }[] = [];
  /** Emits its own alerts (false when only a chain uses it and generate is not set). */
  standalone = true;

  constructor(
    readonly spec: CorrelationSpec,
    /** Per referenced rule (by position): a reader for each group-by name, aliases applied. */
    private readonly groupReaders: FieldReader[][],
    private readonly valueReaders: (FieldReader | null)[],
    private readonly limits: CorrelationLimits,
    private readonly ruleSet: string,
    private readonly onEvict: () => void,
  ) {
    const c = spec.condition;
    this.upperBounded = spec.type !== 'temporal' && spec.type !== 'temporal_ordered' && c !== null && (c.lt !== undefined || c.lte !== undefined || c.eq !== undefined);
  }

  get groupCount(): number { return this.groups.size; }

  private key(position: number, ev: LogEvent): { key: string; group: Record<string, unknown> } {
    const readers = this.groupReaders[position]!;
    const group: Record<string, unknown> = {};
    let key = '';
    for (let i = 0; i < readers.length; i++) {
      const v = readers[i]!(ev);
      group[this.spec.groupBy[i]!] = v ?? null;
      key += valueText(v) + '\u0000';
    }
    return { key, group };
  }

  private state<T extends CountState | TemporalState>(key: string, make: () => T): T {
    let s = this.groups.get(key) as T | undefined;
    if (s === undefined) {
      if (this.groups.size >= this.limits.maxGroups) {
        this.groups.delete(this.groups.keys().next().value!);
        this.onEvict();
      }
      this.groups.set(key, (s = make()));
    }
    return s;
  }

  private alert(group: Record<string, unknown>, count: number, first: number, last: number, ev: LogEvent | null, extra?: Record<string, unknown>): LogEvent {
    return makeAlert(alertSource(this.ruleSet), this.spec.info, { group, count, first, last, event: ev, ...(extra ? { extra } : {}) });
  }

  /** A match of the referenced rule at `position` (event time t); alerts go to `out`. */
  feed(position: number, ev: LogEvent, t: number, out: LogEvent[]): void {
    if (t > this.watermark) this.watermark = t;
    const { key, group } = this.key(position, ev);
    switch (this.spec.type) {
      case 'event_count': case 'value_count': this.count(position, key, group, ev, t, out); break;
      case 'temporal': this.temporal(position, key, group, ev, t, out); break;
      case 'temporal_ordered': this.ordered(position, key, group, ev, t, out); break;
    }
    if (this.upperBounded && this.watermark - this.lastSweep >= 1000) this.sweep(out);
  }

  private newCount = (): CountState => ({ times: [], head: 0, suppressUntil: -Infinity, start: NaN, count: 0, firstEv: null, lastEv: null, values: this.spec.type === 'value_count' ? new Map() : null });

  private count(position: number, key: string, group: Record<string, unknown>, ev: LogEvent, t: number, out: LogEvent[]): void {
    const s = this.state(key, this.newCount);
    const span = this.spec.spanMs;
    const cond = this.spec.condition!;
    if (this.upperBounded) {
      // Tumbling windows from a group's first event: decided when they close.
      if (!Number.isNaN(s.start) && t > s.start + span) this.close(key, s, out);
      if (Number.isNaN(s.start)) { s.start = t; s.count = 0; s.firstEv = ev; s.values?.clear(); }
      if (s.values !== null) this.addValue(s, position, ev, t); else s.count++;
      s.lastEv = ev;
      (s as CountState & { group?: Record<string, unknown> }).group = group;
      return;
    }
    if (t < s.suppressUntil) return;
    let n: number;
    let first: number;
    if (s.values !== null) {
      this.addValue(s, position, ev, t);
      // Values are kept in order of their last sighting: the front is the oldest.
      for (const [v, at] of s.values) { if (at >= t - span) break; s.values.delete(v); }
      n = s.values.size;
      first = s.values.values().next().value ?? t;
    } else {
      const times = s.times;
      while (s.head < times.length && times[s.head]! < t - span) s.head++;
      if (s.head > 64 && s.head * 2 > times.length) { times.splice(0, s.head); s.head = 0; }
      times.push(t);
      n = times.length - s.head;
      first = times[s.head]!;
    }
    if (conditionHolds(cond, n)) {
      const extra = s.values !== null ? { field: this.spec.field, values: [...s.values.keys()].slice(0, 20) } : undefined;
      out.push(this.alert(group, n, first, t, ev, extra));
      s.suppressUntil = first + span;
      s.times.length = 0; s.head = 0; s.values?.clear();
    }
  }

  private addValue(s: CountState, position: number, ev: LogEvent, t: number): void {
    const v = this.valueReaders[position]!(ev);
    if (v === null || v === undefined) return;
    const text = valueText(v);
    const m = s.values!;
    m.delete(text);
    if (m.size >= this.limits.maxValues) { m.delete(m.keys().next().value!); this.onEvict(); }
    m.set(text, t);
  }

  private close(key: string, s: CountState, out: LogEvent[]): void {
    const n = s.values !== null ? s.values.size : s.count;
    const group = (s as CountState & { group?: Record<string, unknown> }).group ?? {};
    if (conditionHolds(this.spec.condition!, n)) out.push(this.alert(group, n, s.start, s.start + this.spec.spanMs, s.lastEv));
    this.groups.delete(key);
  }

  /** Closes every window that event time has passed. */
  private sweep(out: LogEvent[]): void {
    this.lastSweep = this.watermark;
    for (const [key, s] of this.groups) {
      const c = s as CountState;
      if (!Number.isNaN(c.start) && c.start + this.spec.spanMs < this.watermark) this.close(key, c, out);
    }
  }

  /** Closes open windows at shutdown or in tests (upper-bounded conditions). */
  flush(out: LogEvent[]): void {
    if (!this.upperBounded) return;
    this.watermark = Infinity;
    this.sweep(out);
  }

  private temporal(position: number, key: string, group: Record<string, unknown>, ev: LogEvent, t: number, out: LogEvent[]): void {
    const refs = this.spec.refs.length;
    const s = this.state(key, (): TemporalState => ({ last: new Array(refs).fill(undefined), start: [] }));
    s.last[position] = t;
    let distinct = 0;
    let first = t;
    for (const at of s.last) if (at !== undefined && at >= t - this.spec.spanMs) { distinct++; if (at < first) first = at; }
    const met = this.spec.condition ? conditionHolds(this.spec.condition, distinct) : distinct === refs;
    if (met) {
      out.push(this.alert(group, distinct, first, t, ev));
      this.groups.delete(key);
    }
  }

  private ordered(position: number, key: string, group: Record<string, unknown>, ev: LogEvent, t: number, out: LogEvent[]): void {
    const refs = this.spec.refs.length;
    const s = this.state(key, (): TemporalState => ({ last: new Array(refs).fill(undefined), start: new Array(refs).fill(undefined) }));
    const span = this.spec.spanMs;
    if (position === 0) { s.last[0] = t; s.start[0] = t; }
    else {
      const prev = s.last[position - 1];
      const start = s.start[position - 1];
      if (prev === undefined || start === undefined || t < prev || t - start > span) return;
      s.last[position] = t;
      s.start[position] = start;
    }
    if (s.last[refs - 1] !== undefined) {
      out.push(this.alert(group, refs, s.start[refs - 1]!, t, ev));
      this.groups.delete(key);
    }
  }
}
