// The in-memory evaluator of a Query's filter: archives, live tail, and the oracle the SQL
// backends are tested against. Its semantics are the parser's (the comment at the top of
// parse.ts); every value rule lives here once (fieldValue, equalsValue, compareValue) so the
// backends can read what they must reproduce.

import type { EventJson } from '../../event/log-event.js';
import type { FieldRef, Node, Query, Scalar } from './ast.js';
import { checkRegex, compileRegex } from './regex.js';
import { words } from './words.js';

/**
 * The raw value a field names in an event, undefined when absent: host = hostname,
 * app = appname, source = source.name, transport = source.transport, sd.ID.PARAM =
 * structured_data[ID][PARAM] (a string, or an array when the param repeats), fields.NAME =
 * fields[NAME] when that key exists, else the dotted path walked into nested objects.
 */
export function fieldValue(ev: EventJson, ref: FieldRef): unknown {
  switch (ref.kind) {
    case 'builtin':
      switch (ref.name) {
        case 'message': return ev.message ?? undefined;
        case 'host': return ev.hostname ?? undefined;
        case 'app': return ev.appname ?? undefined;
        case 'procid': return ev.procid ?? undefined;
        case 'msgid': return ev.msgid ?? undefined;
        case 'facility': return ev.facility ?? undefined;
        case 'severity': return ev.severity ?? undefined;
        case 'source': return ev.source?.name ?? undefined;
        case 'transport': return ev.source?.transport ?? undefined;
      }
      return undefined;
    case 'sd': {
      const el = ev.structured_data?.[ref.id];
      return el === undefined || !Object.prototype.hasOwnProperty.call(el, ref.param) ? undefined : el[ref.param];
    }
    case 'fields': {
      const f = ev.fields;
      if (f === null || typeof f !== 'object') return undefined;
      if (Object.prototype.hasOwnProperty.call(f, ref.name)) return nullToUndefined(f[ref.name]);
      let v: unknown = f;
      for (const part of ref.name.split('.')) {
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
        v = (v as Record<string, unknown>)[part];
      }
      return nullToUndefined(v);
    }
  }
}

function nullToUndefined(v: unknown): unknown {
  return v === null ? undefined : v;
}

/**
 * A field's value as one row key of `| stats` / `| top`: strings and numbers as they are,
 * booleans as "true"/"false", arrays and objects as their JSON text, absent as null.
 */
export function groupValue(ev: EventJson, ref: FieldRef): string | number | null {
  const v = fieldValue(ev, ref);
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v);
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** One scalar of an event (an array's element, or the value itself) as a number, when it is one. */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && DECIMAL.test(v)) return Number(v);
  return undefined;
}

/** One scalar of an event as the lower-cased text equals/prefix/wildcard/compare use. */
function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.toLowerCase();
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

/** Calls `test` on the value, or on each element of an array value; true when any passes. */
function any(v: unknown, test: (x: unknown) => boolean): boolean {
  if (Array.isArray(v)) {
    for (const x of v) if (test(x)) return true;
    return false;
  }
  return v !== undefined && test(v);
}

/**
 * `equals`: a number (severity, facility codes) equals a number or decimal string of the same
 * value; a string equals the lower-cased text of the value, or, when both read as decimal
 * numbers, the same number (fields.status:500 matches 500 and "500"; fields.v:5.0 matches 5).
 */
export function equalsValue(v: unknown, want: Scalar): boolean {
  if (typeof want === 'number') return asNumber(v) === want;
  const t = asText(v);
  if (t === undefined) return false;
  if (t === want) return true;
  if (typeof v === 'number' && DECIMAL.test(want)) return v === Number(want);
  return false;
}

/** `compare`/`range`: numbers with numbers (or decimal strings), text with lower-cased text. */
export function compareValue(v: unknown, op: '<' | '<=' | '>' | '>=', bound: Scalar): boolean {
  let a: number | string | undefined;
  if (typeof bound === 'number') a = asNumber(v);
  else a = typeof v === 'string' ? v.toLowerCase() : undefined;
  if (a === undefined) return false;
  const c = typeof a === 'number' ? (a < (bound as number) ? -1 : a > (bound as number) ? 1 : 0) : compareCodePoints(a, bound as string);
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

/** Code point order (= UTF-8 byte order, as SQLite's BINARY and PostgreSQL's "C" collation). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (astral code point) sorts above every BMP unit.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000; else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000; else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Matches a wildcard pattern (* any run, ? one code point, \ escapes) against the whole text. */
export function matchWildcard(pattern: string, text: string): boolean {
  const p = parseWildcard(pattern);
  return globMatch(p, Array.from(text));
}

type GlobPart = { lit: string } | '*' | '?';

function parseWildcard(pattern: string): GlobPart[] {
  const out: GlobPart[] = [];
  const cps = Array.from(pattern);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === '\\' && i + 1 < cps.length) out.push({ lit: cps[++i]! });
    else if (c === '*') { if (out[out.length - 1] !== '*') out.push('*'); }
    else if (c === '?') out.push('?');
    else out.push({ lit: c });
  }
  return out;
}

// Iterative glob matching with one backtrack point per star: O(pattern × text), never exponential.
function globMatch(p: GlobPart[], t: string[]): boolean {
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    const part = p[pi];
    if (part !== undefined && part !== '*' && (part === '?' || part.lit === t[ti])) {
      pi++;
      ti++;
    } else if (part === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else return false;
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** Per-event state: the message's words are split once however many terms read them. */
interface Ctx {
  ev: EventJson;
  msgWords: string[] | null;
}

type Test = (c: Ctx) => boolean;

function isMessage(f: FieldRef): boolean {
  return f.kind === 'builtin' && f.name === 'message';
}

/** Compiles the filter once; regexes are checked and compiled here, not per event. */
export function compileMatcher(query: Query | Node): (ev: EventJson) => boolean {
  const node = 'filter' in query ? query.filter : query;
  const test = compile(node, 0);
  return (ev) => test({ ev, msgWords: null });
}

/** The events that match, in the order given. */
export function matchAll(query: Query, events: Iterable<EventJson>): EventJson[] {
  const m = compileMatcher(query);
  const out: EventJson[] = [];
  for (const ev of events) if (m(ev)) out.push(ev);
  return out;
}

function textWords(c: Ctx, field: FieldRef): string[][] {
  if (isMessage(field)) {
    if (c.msgWords === null) c.msgWords = c.ev.message === null || c.ev.message === undefined ? [] : words(c.ev.message);
    return c.ev.message === null || c.ev.message === undefined ? [] : [c.msgWords];
  }
  const v = fieldValue(c.ev, field);
  const vals = Array.isArray(v) ? v : v === undefined ? [] : [v];
  const out: string[][] = [];
  for (const x of vals) {
    const s = typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined;
    if (s !== undefined) out.push(words(s));
  }
  return out;
}

/** True when `seq` occurs in `ws` at some position; with `lastIsPrefix` its last word only has to start there. */
function hasSequence(ws: string[], seq: string[], lastIsPrefix: boolean): boolean {
  const n = seq.length;
  outer: for (let i = 0; i + n <= ws.length; i++) {
    for (let k = 0; k < n; k++) {
      const w = ws[i + k]!;
      const want = seq[k]!;
      if (k === n - 1 && lastIsPrefix ? !w.startsWith(want) : w !== want) continue outer;
    }
    return true;
  }
  return false;
}

function compile(n: Node, depth: number): Test {
  // The parser bounds nesting; trees built by hand get the same bound rather than a stack overflow.
  if (depth > 256) throw new RangeError('query tree nests deeper than 256');
  switch (n.kind) {
    case 'all':
      return () => true;
    case 'and': {
      const parts = n.nodes.map((x) => compile(x, depth + 1));
      return (c) => {
        for (const p of parts) if (!p(c)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = n.nodes.map((x) => compile(x, depth + 1));
      return (c) => {
        for (const p of parts) if (p(c)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compile(n.node, depth + 1);
      return (c) => !inner(c);
    }
    case 'word': {
      const w = words(n.value);
      if (w.length !== 1) return compile({ kind: 'phrase', field: n.field, value: n.value }, depth);
      const want = w[0]!;
      return (c) => textWords(c, n.field).some((ws) => ws.includes(want));
    }
    case 'phrase': {
      const seq = words(n.value);
      if (seq.length === 0) return () => false;
      return (c) => textWords(c, n.field).some((ws) => hasSequence(ws, seq, false));
    }
    case 'prefix': {
      if (isMessage(n.field)) {
        const seq = words(n.value);
        if (seq.length === 0) return (c) => c.ev.message !== null && c.ev.message !== undefined;
        return (c) => textWords(c, n.field).some((ws) => hasSequence(ws, seq, true));
      }
      const want = n.value.toLowerCase();
      return (c) => any(fieldValue(c.ev, n.field), (x) => asText(x)?.startsWith(want) === true);
    }
    case 'wildcard': {
      const p = parseWildcard(isMessage(n.field) ? n.pattern : n.pattern.toLowerCase());
      if (isMessage(n.field)) return (c) => textWords(c, n.field).some((ws) => ws.some((w) => globMatch(p, Array.from(w))));
      return (c) => any(fieldValue(c.ev, n.field), (x) => {
        const t = asText(x);
        return t !== undefined && globMatch(p, Array.from(t));
      });
    }
    case 'regex': {
      const problem = checkRegex(n.pattern, n.flags);
      if (problem !== null) throw new RangeError(`regular expression /${n.pattern}/: ${problem.message}`);
      const re = compileRegex(n.pattern, n.flags);
      return (c) => any(fieldValue(c.ev, n.field), (x) => {
        const s = typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined;
        return s !== undefined && re(s);
      });
    }
    case 'exists':
      return (c) => fieldValue(c.ev, n.field) !== undefined;
    case 'equals': {
      const want = n.value;
      return (c) => any(fieldValue(c.ev, n.field), (x) => equalsValue(x, want));
    }
    case 'compare': {
      const { op, value } = n;
      return (c) => any(fieldValue(c.ev, n.field), (x) => compareValue(x, op, value));
    }
    case 'range': {
      const { low, high } = n;
      return (c) => any(fieldValue(c.ev, n.field), (x) => compareValue(x, '>=', low) && compareValue(x, '<=', high));
    }
  }
}
