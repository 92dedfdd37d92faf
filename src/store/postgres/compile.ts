// The query syntax tree as a PostgreSQL WHERE clause over the events: bound parameters only, never NULL.
//
// A compiled filter is exact (the SQL alone decides) or a candidate filter: the SQL selects a
// superset and compileMatcher (the evaluator every backend shares) decides per row. Words,
// phrases, prefixes and wildcards on the message are candidates: the rows carry no word index
// (the text index is per block of events, blocks.ts), so they are TRUE here, and under NOT a
// candidate term cannot narrow anything, so the NOT is TRUE too. Everything else is exact.
// Semantics are parse.ts's (its header): keyword fields compare their whole value lower-cased;
// on sd.* and fields.* an array matches when any element does, booleans read as "true"/"false",
// null is absent. A leaf may be NULL where a value is absent; that reads as false under AND, OR
// and WHERE, and NOT wraps its operand in COALESCE(…, false) so it keeps two-valued logic (NOT
// host:x matches an event without a host).

import { SluiceError } from '../../errors.js';
import type { FieldRef, Node, Scalar } from '../query/ast.js';
import { fieldName } from '../query/parse.js';
import type { Params } from './sql.js';

export { fieldName } from '../query/parse.js';

const TEXT_COLUMNS: Record<string, string> = {
  message: 'message', host: 'host', app: 'app', procid: 'procid', msgid: 'msgid', source: 'source', transport: 'transport',
};

/** The decimal strings that compare as numbers (parse.ts NUMBER). */
const DECIMAL = `'^-?[0-9]+(\\.[0-9]+)?$'`;

function isCode(f: FieldRef): f is { kind: 'builtin'; name: 'facility' | 'severity' } {
  return f.kind === 'builtin' && (f.name === 'facility' || f.name === 'severity');
}

function isMessage(f: FieldRef): boolean {
  return f.kind === 'builtin' && f.name === 'message';
}

/** jsonb of an sd or fields value (NULL when absent). */
export function fieldJson(f: FieldRef, p: Params): string {
  if (f.kind === 'sd') return `(event #> ${p.add(['structured_data', f.id, f.param], 'text[]')})`;
  // match.ts fieldValue: the key as written when it exists, else the dotted path.
  if (f.kind === 'fields') {
    const direct = `(event->'fields'->${p.add(f.name, 'text')})`;
    return f.name.includes('.') ? `COALESCE(${direct}, event #> ${p.add(['fields', ...f.name.split('.')], 'text[]')})` : direct;
  }
  throw new Error(`${fieldName(f)} is a column`);
}

/**
 * The field's value as a group key (pipes.ts: absent = null; booleans group with their text,
 * as groupValue makes them "true"/"false"), and the ORDER BY terms for a key column `alias`:
 * numbers ascending, then strings in code point order, null last (compareGroupValue).
 */
export function fieldGroupKey(f: FieldRef, p: Params): { expr: string; order: (alias: string) => string } {
  if (isCode(f)) return { expr: f.name, order: (a) => `${a} NULLS LAST` };
  if (f.kind === 'builtin') return { expr: TEXT_COLUMNS[f.name]!, order: (a) => `${a} COLLATE "C" NULLS LAST` };
  const j = fieldJson(f, p);
  return {
    expr: `(CASE jsonb_typeof(${j}) WHEN 'null' THEN NULL WHEN 'boolean' THEN to_jsonb(${j} #>> '{}') ELSE ${j} END)`,
    order: (a) => `(${a} IS NULL), (jsonb_typeof(${a}) <> 'number'), (CASE WHEN jsonb_typeof(${a}) = 'number' THEN (${a} #>> '{}')::numeric END), (CASE WHEN jsonb_typeof(${a}) = 'string' THEN ${a} #>> '{}' ELSE ${a}::text END) COLLATE "C"`,
  };
}

/** A grouped value as rows and facets carry it: strings and numbers as they are, booleans as text, arrays and objects as JSON. */
export function groupValue(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * `pred(text, number, isString)` over each value of the field (an array's elements, or the value):
 * `text` is SQL for the value as text, `number` for it as a number when it is one (a number or
 * a decimal string, else NULL), `isString` whether it is a string (match.ts asText/asNumber).
 */
function anyValue(f: FieldRef, p: Params, pred: (text: string, num: string, isString: string, isNumber: string) => string): string {
  if (isCode(f)) return `(${pred(`${f.name}::text`, f.name, 'false', 'true')})`;
  if (f.kind === 'builtin') {
    const c = TEXT_COLUMNS[f.name]!;
    return `(${pred(c, `(CASE WHEN ${c} ~ ${DECIMAL} THEN ${c}::numeric END)`, 'true', 'false')})`;
  }
  const j = fieldJson(f, p);
  const t = `(x #>> '{}')`;
  const num = `(CASE WHEN jsonb_typeof(x) = 'number' THEN ${t}::numeric WHEN jsonb_typeof(x) = 'string' AND ${t} ~ ${DECIMAL} THEN ${t}::numeric END)`;
  return `COALESCE(EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${j}) = 'array' THEN ${j} ELSE jsonb_build_array(${j}) END) AS e(x)
    WHERE jsonb_typeof(x) IN ('string', 'number', 'boolean') AND ${pred(t, num, `jsonb_typeof(x) = 'string'`, `jsonb_typeof(x) = 'number'`)}), false)`;
}

/** JS RegExp source and flags (as parse.ts admits them) → a PostgreSQL ARE with the same meaning. */
export function translateRegex(pattern: string, flags: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      const n = pattern[i + 1]!;
      i++;
      if (n === 'b') out += '\\y';
      else if (n === 'B') out += '\\Y';
      else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(pattern.slice(i + 1, i + 3))) { out += '\\u00' + pattern.slice(i + 1, i + 3); i += 2; }
      else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(pattern.slice(i + 1, i + 5))) { out += '\\u' + pattern.slice(i + 1, i + 5); i += 4; }
      else if (/[dDwWsStnrfv0-9]/.test(n)) out += '\\' + n;
      else if (/[A-Za-z]/.test(n)) throw new SluiceError('SLUICE_ERR_QUERY', `the regular expression /${pattern}/ uses \\${n}, which the PostgreSQL store cannot run`);
      else out += '\\' + n;
      continue;
    }
    if (c === '(' && pattern.startsWith('(?<', i) && !pattern.startsWith('(?<=', i) && !pattern.startsWith('(?<!', i)) {
      const close = pattern.indexOf('>', i);
      if (close > 0) { out += '('; i = close; continue; }
    }
    out += c;
  }
  // JS: without s, . stops at line ends; without m, ^ and $ hold only at the ends. ARE's
  // embedded options: p = the former only, n = both, w = the latter only, none = neither.
  const m = flags.includes('m');
  const s = flags.includes('s');
  const opt = !m && !s ? 'p' : m && !s ? 'n' : m && s ? 'w' : '';
  return (opt ? `(?${opt})` : '') + out;
}

/** A keyword wildcard (* any run, ? one character, \ escapes) as an anchored ARE. */
function wildcardRegex(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) { out += reEscape(pattern[++i]!); continue; }
    out += c === '*' ? '.*' : c === '?' ? '.' : reEscape(c);
  }
  return `^${out}$`;
}

/** `s` as a literal inside an ARE (a backslash before a non-alphanumeric is literal). */
function reEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9\u0080-\uffff]/g, (c) => '\\' + c);
}

/** A word, phrase, prefix or wildcard on the message: only the blocks and the matcher answer it. */
export function isMessageText(n: Node): boolean {
  return (n.kind === 'word' || n.kind === 'phrase' || n.kind === 'prefix' || n.kind === 'wildcard') && isMessage(n.field);
}

/** True when the SQL of the node decides alone (no message text term anywhere in it). */
export function isExact(n: Node): boolean {
  if (isMessageText(n)) return false;
  if (n.kind === 'and' || n.kind === 'or') return n.nodes.every(isExact);
  if (n.kind === 'not') return isExact(n.node);
  return true;
}

/** The filter's SQL: exact, or a superset of the matches that compileMatcher then checks. */
export function compileFilter(n: Node, p: Params): { sql: string; exact: boolean } {
  return { sql: superset(n, p), exact: isExact(n) };
}

function superset(n: Node, p: Params): string {
  if (isExact(n)) return compileNode(n, p);
  if (n.kind === 'and') return `(${n.nodes.map((x) => superset(x, p)).join(' AND ')})`;
  if (n.kind === 'or') return `(${n.nodes.map((x) => superset(x, p)).join(' OR ')})`;
  return 'true';
}

/** SQL of a node that isExact. */
function compileNode(n: Node, p: Params): string {
  switch (n.kind) {
    case 'all': return 'true';
    case 'and': return n.nodes.length === 0 ? 'true' : `(${n.nodes.map((x) => compileNode(x, p)).join(' AND ')})`;
    case 'or': return n.nodes.length === 0 ? 'false' : `(${n.nodes.map((x) => compileNode(x, p)).join(' OR ')})`;
    case 'not': return `(NOT COALESCE(${compileNode(n.node, p)}, false))`;
    case 'word':
    case 'phrase':
      if (isMessage(n.field)) throw new Error('message words have no SQL of their own (superset)');
      return anyValue(n.field, p, (t) => `lower(${t}) = ${p.add(n.value.toLowerCase(), 'text')}`);
    case 'prefix':
      if (isMessage(n.field)) throw new Error('message prefixes have no SQL of their own (superset)');
      return anyValue(n.field, p, (t) => `starts_with(lower(${t}), ${p.add(n.value, 'text')})`);
    case 'wildcard':
      if (isMessage(n.field)) throw new Error('message wildcards have no SQL of their own (superset)');
      return anyValue(n.field, p, (t) => `lower(${t}) ~ ${p.add(wildcardRegex(n.pattern), 'text')}`);
    case 'regex': {
      const op = n.flags.includes('i') ? '~*' : '~';
      const re = p.add(translateRegex(n.pattern, n.flags), 'text');
      if (isMessage(n.field)) return `(message ${op} ${re})`;
      return anyValue(n.field, p, (t) => `${t} ${op} ${re}`);
    }
    case 'exists':
      if (n.field.kind === 'builtin') return `(${isCode(n.field) ? n.field.name : TEXT_COLUMNS[n.field.name]} IS NOT NULL)`;
      return `(jsonb_typeof(${fieldJson(n.field, p)}) <> 'null')`;
    case 'equals': return compare(n.field, '=', n.value, p);
    case 'compare': return compare(n.field, n.op, n.value, p);
    case 'range': return `(${compare(n.field, '>=', n.low, p)} AND ${compare(n.field, '<=', n.high, p)})`;
  }
}

const DECIMAL_JS = /^-?\d+(\.\d+)?$/;

/** match.ts equalsValue / compareValue. */
function compare(f: FieldRef, op: '=' | '<' | '<=' | '>' | '>=', v: Scalar, p: Params): string {
  if (typeof v === 'number') {
    const x = p.add(v, 'numeric');
    return anyValue(f, p, (_t, num) => `${num} ${op} ${x}`);
  }
  const x = p.add(v, 'text');
  if (op === '=') {
    if (f.kind === 'builtin' && !isCode(f)) return `(lower(${TEXT_COLUMNS[f.name]}) = ${x})`;
    // A number in the event also equals a decimal text of the same value (5 = "5.0").
    const n = DECIMAL_JS.test(v) ? p.add(v, 'numeric') : null;
    return anyValue(f, p, (t, num, _isString, isNumber) => `(lower(${t}) = ${x}${n !== null ? ` OR (${isNumber} AND ${num} = ${n})` : ''})`);
  }
  // Text order holds between strings only.
  return anyValue(f, p, (t, _num, isString) => `(${isString} AND lower(${t}) COLLATE "C" ${op} ${x})`);
}
