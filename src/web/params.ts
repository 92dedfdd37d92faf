// Query-string parameters of the API: time ranges, durations, limits and field names.

import type { FieldRef } from '../store/query/ast.js';
import { BUILTINS } from '../store/query/parse.js';
import type { TimeRange } from '../store/types.js';

/** A bad parameter: answered 400 with the parameter's name. */
export class ParamError extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86400_000, w: 7 * 86400_000 };
export const DEFAULT_SINCE = '1h';

/** `15m`, `1h`, `24h`, `7d`, `2w`. */
export function parseDuration(text: string, param = 'since'): number {
  const m = /^(\d{1,9})(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new ParamError(param, `${param} must be a duration such as 15m, 1h, 24h or 7d, not ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Milliseconds since the epoch, or an ISO 8601 time. */
export function parseTime(text: string, param: string): number {
  const t = /^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(t)) throw new ParamError(param, `${param} must be an ISO 8601 time or milliseconds since the epoch, not ${JSON.stringify(text)}`);
  return t;
}

/** `from` (+ `to`, default now) or `since` (default 1h); `to` is exclusive. */
export function parseRange(p: URLSearchParams, now = Date.now()): TimeRange {
  const from = p.get('from');
  const to = p.get('to');
  const since = p.get('since');
  if (from !== null && since !== null) throw new ParamError('since', 'give either since or from/to, not both');
  let range: TimeRange;
  if (from !== null) range = { from: parseTime(from, 'from'), to: to !== null ? parseTime(to, 'to') : now + 1 };
  else {
    const end = to !== null ? parseTime(to, 'to') : now + 1;
    range = { from: end - parseDuration(since ?? DEFAULT_SINCE), to: end };
  }
  if (range.to <= range.from) throw new ParamError('to', 'to must be after from');
  return range;
}

export function parseInteger(p: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = p.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new ParamError(name, `${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return Number(v);
}

/** A field name as the query language writes it: host, app, sd.ID.PARAM, fields.NAME. */
export function parseFieldRef(name: string, param = 'fields'): FieldRef {
  const b = BUILTINS[name];
  if (b) return { kind: 'builtin', name: b };
  if (name.startsWith('fields.') && name.length > 7) return { kind: 'fields', name: name.slice(7) };
  if (name.startsWith('sd.')) {
    const rest = name.slice(3);
    const dot = rest.lastIndexOf('.');
    if (dot > 0 && dot < rest.length - 1) return { kind: 'sd', id: rest.slice(0, dot), param: rest.slice(dot + 1) };
  }
  throw new ParamError(param, `unknown field ${JSON.stringify(name)}: use host, app, procid, msgid, facility, severity, source, transport, sd.ID.PARAM or fields.NAME`);
}
