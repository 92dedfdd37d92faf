// The query syntax tree as a PostgreSQL WHERE clause: bound parameters only, never NULL.
//
// Each leaf is COALESCE(…, false) so that NOT keeps the in-memory evaluator's two-valued logic
// (NOT host:x matches an event without a host). Bare words and prefixes on the message use the
// word index (words, see words.ts); everything else reads columns or the event jsonb.

import { SluiceError } from '../../errors.js';
import type { FieldRef, Node, Scalar } from '../query/ast.js';
import type { Params } from './sql.js';
import { messageWords, tsqueryLexeme } from './words.js';

/** Characters of a word, as PostgreSQL regular expressions spell them. */
const W = '[[:alnum:]_]';
const NW = '[^[:alnum:]_]';

/** `s` as a literal inside a PostgreSQL ARE (a backslash before a non-alphanumeric is literal). */
export function reEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9_\u0080-\uffff]/g, (c) => (c === ' ' ? ' ' : '\\' + c));
}

/** The name a field has in rows and facets: host, sd.ID.PARAM, fields.NAME. */
export function fieldName(f: FieldRef): string {
  return f.kind === 'builtin' ? f.name : f.kind === 'sd' ? `sd.${f.id}.${f.param}` : `fields.${f.name}`;
}

const COLUMNS: Record<string, string> = {
  message: 'message', host: 'host', app: 'app', procid: 'procid', msgid: 'msgid',
  facility: 'facility', severity: 'severity', source: 'source', transport: 'transport',
};

const NUMERIC = new Set(['facility', 'severity']);

/** SQL for the field's value as text (NULL when absent). */
export function fieldText(f: FieldRef, p: Params): string {
  if (f.kind === 'builtin') return NUMERIC.has(f.name) ? `${COLUMNS[f.name]}::text` : COLUMNS[f.name]!;
  return `(${fieldJson(f, p)} #>> '{}')`;
}

/** SQL for the field's jsonb value (sd and fields only). */
function fieldJson(f: FieldRef, p: Params): string {
  if (f.kind === 'sd') return `(event->'structured_data'->${p.add(f.id, 'text')}->${p.add(f.param, 'text')})`;
  if (f.kind === 'fields') return `(event->'fields'->${p.add(f.name, 'text')})`;
  throw new Error('builtin field has no json value');
}

/** SQL for the field's value as a number (NULL when absent or not numeric). */
function fieldNumber(f: FieldRef, p: Params): string {
  if (f.kind === 'builtin' && NUMERIC.has(f.name)) return COLUMNS[f.name]!;
  const t = fieldText(f, p);
  return `(CASE WHEN ${t} ~ '^\\s*-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?\\s*$' THEN (${t})::numeric END)`;
}

function coalesce(sql: string): string {
  return `COALESCE(${sql}, false)`;
}

/** A whole-word match of `value` (case-insensitive) inside the text `t`. */
function wordRegex(value: string): string {
  return `(^|${NW})${reEscape(value)}($|${NW})`;
}

function isMessage(f: FieldRef): boolean {
  return f.kind === 'builtin' && f.name === 'message';
}

/** JS RegExp source → PostgreSQL ARE, refusing what ARE spells differently and cannot be mapped. */
export function translateRegex(pattern: string): string {
  if (/\(\?<[^=!]|\\k<|\\[pPu]\{|\\u[0-9a-fA-F]{4}|\(\?[a-z]/.test(pattern)) {
    throw new SluiceError('SLUICE_ERR_PG', `the regular expression /${pattern}/ uses a construct PostgreSQL does not support (named groups, \\p{…}, \\u escapes, inline flags)`);
  }
  // \b (word boundary in JS) is a backspace in ARE; ARE's word boundary is \y.
  return pattern.replace(/\\\\|\\b|\\B/g, (m) => (m === '\\b' ? '\\y' : m === '\\B' ? '\\Y' : m));
}

/** A wildcard pattern (* any run, ? one character) as an ARE for a whole word or a whole value. */
function wildcardRegex(pattern: string, word: boolean): string {
  let out = '';
  for (const c of pattern) out += c === '*' ? (word ? `${W}*` : '.*') : c === '?' ? (word ? W : '.') : reEscape(c);
  return word ? `(^|${NW})${out}($|${NW})` : `^${out}$`;
}

export function compileNode(n: Node, p: Params): string {
  switch (n.kind) {
    case 'all': return 'true';
    case 'and': return n.nodes.length === 0 ? 'true' : `(${n.nodes.map((x) => compileNode(x, p)).join(' AND ')})`;
    case 'or': return n.nodes.length === 0 ? 'false' : `(${n.nodes.map((x) => compileNode(x, p)).join(' OR ')})`;
    case 'not': return `(NOT ${compileNode(n.node, p)})`;
    case 'word': return compileWord(n.field, n.value, p);
    case 'phrase': return compilePhrase(n.field, n.value, p);
    case 'prefix': return compilePrefix(n.field, n.value, p);
    case 'wildcard': return coalesce(`${fieldText(n.field, p)} ~* ${p.add(wildcardRegex(n.pattern, isMessage(n.field)), 'text')}`);
    case 'regex': return coalesce(`${fieldText(n.field, p)} ${n.flags.includes('i') ? '~*' : '~'} ${p.add(translateRegex(n.pattern), 'text')}`);
    case 'exists': return compileExists(n.field, p);
    case 'equals': return compileEquals(n.field, n.value, p);
    case 'compare': return compileCompare(n.field, n.op, n.value, p);
    case 'range': return `(${compileCompare(n.field, '>=', n.low, p)} AND ${compileCompare(n.field, '<=', n.high, p)})`;
  }
}

function compileWord(f: FieldRef, value: string, p: Params): string {
  const words = messageWords(value);
  if (isMessage(f) && words.length === 1 && words[0] === value.toLowerCase()) {
    return coalesce(`words @@ ${p.add(tsqueryLexeme(words[0], false), 'tsquery')}`);
  }
  if (isMessage(f)) return compilePhrase(f, value, p);
  return coalesce(`${fieldText(f, p)} ~* ${p.add(wordRegex(value), 'text')}`);
}

function compilePhrase(f: FieldRef, value: string, p: Params): string {
  const words = messageWords(value);
  const re = words.length === 0 ? reEscape(value) : `(^|${NW})${words.map(reEscape).join(`${NW}+`)}($|${NW})`;
  const check = `${fieldText(f, p)} ~* ${p.add(re, 'text')}`;
  if (!isMessage(f) || words.length === 0) return coalesce(check);
  // The word index narrows the rows; the regex checks order and adjacency.
  const tsq = words.map((w) => tsqueryLexeme(w, false)).join(' & ');
  return coalesce(`(words @@ ${p.add(tsq, 'tsquery')} AND ${check})`);
}

function compilePrefix(f: FieldRef, value: string, p: Params): string {
  if (isMessage(f)) {
    const lower = value.toLowerCase();
    const words = messageWords(lower);
    if (words.length === 1 && words[0] === lower) return coalesce(`words @@ ${p.add(tsqueryLexeme(lower, true), 'tsquery')}`);
    return coalesce(`message ~* ${p.add(`(^|${NW})${reEscape(value)}`, 'text')}`);
  }
  return coalesce(`starts_with(lower(${fieldText(f, p)}), ${p.add(value.toLowerCase(), 'text')})`);
}

function compileExists(f: FieldRef, p: Params): string {
  if (f.kind === 'builtin') return `(${COLUMNS[f.name]} IS NOT NULL)`;
  if (f.kind === 'sd') return coalesce(`(event->'structured_data'->${p.add(f.id, 'text')}) ? ${p.add(f.param, 'text')}`);
  return coalesce(`(event->'fields') ? ${p.add(f.name, 'text')}`);
}

function compileEquals(f: FieldRef, v: Scalar, p: Params): string {
  if (f.kind === 'builtin' && NUMERIC.has(f.name)) {
    return typeof v === 'number' ? coalesce(`${COLUMNS[f.name]} = ${p.add(v, 'int')}`) : 'false';
  }
  if (f.kind === 'builtin' && (f.name === 'host' || f.name === 'app')) {
    // lower(host)/lower(app) are indexed.
    return coalesce(`lower(${COLUMNS[f.name]}) = ${p.add(String(v).toLowerCase(), 'text')}`);
  }
  const text = `lower(${fieldText(f, p)}) = ${p.add(String(v).toLowerCase(), 'text')}`;
  if (typeof v === 'number') return coalesce(`(${fieldNumber(f, p)} = ${p.add(v, 'numeric')} OR ${text})`);
  return coalesce(text);
}

function compileCompare(f: FieldRef, op: '<' | '<=' | '>' | '>=', v: Scalar, p: Params): string {
  if (typeof v === 'number') return coalesce(`${fieldNumber(f, p)} ${op} ${p.add(v, 'numeric')}`);
  return coalesce(`${fieldText(f, p)} COLLATE "C" ${op} ${p.add(v, 'text')}`);
}
