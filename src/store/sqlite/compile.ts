// The query syntax tree as SQLite SQL over one partition: bound parameters only, the text
// index read as token occurrences.
//
// A compiled filter is either exact (the SQL alone decides) or a candidate filter: the SQL
// selects a superset and compileMatcher (the one evaluator every backend shares) decides per
// row. Terms SQL cannot answer as the matcher would (wildcards, regexes, sd.* and fields.*,
// comparisons on text, non-ASCII keyword values) become candidates; under NOT a candidate
// term cannot narrow anything, so it becomes TRUE there and the matcher does the work.
//
// Message text goes through events_terms(term, seq, offset) (schema.ts: the index's fts5vocab
// instances with the seq worked out for either layout), not MATCH, since a 64-column document
// holds 64 events. Words, prefixes and phrases are exact: words() is FTS5's own tokenizer, so
// a folded word is a term as FTS5 stored it, and its offset the word's place in the message.
//
// Every value reaches SQLite as a bound parameter; no text of the query is read as SQL or FTS5.

import type { BuiltinField, FieldRef, Node } from '../query/ast.js';
import { words } from '../query/words.js';

export interface CompiledFilter {
  sql: string;
  params: unknown[];
  /** True when the SQL alone gives the answer (no per-row matcher needed). */
  exact: boolean;
}

/** Builtin fields held in their own column (message is in the FTS index). */
const COLUMN: Partial<Record<BuiltinField, string>> = {
  host: 'host', app: 'app', procid: 'procid', msgid: 'msgid', facility: 'facility', severity: 'severity', source: 'source', transport: 'transport',
};
const NUMERIC = new Set<BuiltinField>(['facility', 'severity']);
const ASCII = /^[\x00-\x7f]*$/;

const TRUE: CompiledFilter = { sql: '1', params: [], exact: true };
const CANDIDATE: CompiledFilter = { sql: '1', params: [], exact: false };

/** A condition on events_terms.term, with its parameters. */
interface TermWhere { where: string; params: unknown[] }

const exactTerm = (word: string): TermWhere => ({ where: 'term = ?', params: [word] });

/**
 * The terms starting with `prefix`: a range, so fts5vocab scans only that part of the index
 * (it takes both bounds, and SQLite checks them again).
 */
function prefixTerms(prefix: string): TermWhere {
  const upper = prefixEnd(prefix);
  return upper === null ? { where: 'term >= ?', params: [prefix] } : { where: 'term >= ? AND term < ?', params: [prefix, upper] };
}

/** Events whose message has one of the terms. */
function withTerm(t: TermWhere): CompiledFilter {
  return { sql: `seq IN (SELECT seq FROM events_terms WHERE ${t.where})`, params: t.params, exact: true };
}

/**
 * The least string above every string that starts with `prefix`, in the order FTS5 keeps
 * its terms (memcmp of UTF-8, which is code point order): the prefix with its last code point
 * replaced by the next one (past the surrogates, which UTF-8 has not), dropping trailing
 * U+10FFFF first; null when there is none (the prefix is all U+10FFFF, a token character for
 * unicode61). Incrementing the last UTF-8 byte instead can give bytes that are not UTF-8
 * (…BF becomes …C0), which SQLite would neither bind as text nor compare as the index does;
 * appending U+10FFFF misses words that continue with U+10FFFF.
 */
export function prefixEnd(prefix: string): string | null {
  const cps = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (cps.length > 0) {
    const last = cps.pop()!;
    if (last < 0x10ffff) {
      cps.push(last === 0xd7ff ? 0xe000 : last + 1);
      return String.fromCodePoint(...cps);
    }
  }
  return null;
}

/** The column of a builtin field other than message, or null. */
export function columnOf(f: FieldRef): string | null {
  return f.kind === 'builtin' ? COLUMN[f.name] ?? null : null;
}

export function compileFilter(node: Node): CompiledFilter {
  switch (node.kind) {
    case 'all':
      return TRUE;
    case 'and':
    case 'or': {
      const parts = node.nodes.map(compileFilter);
      if (parts.length === 0) return node.kind === 'and' ? TRUE : { sql: '0', params: [], exact: true };
      if (parts.length === 1) return parts[0]!;
      // A candidate TRUE inside OR makes the whole OR a candidate TRUE.
      if (node.kind === 'or' && parts.some((p) => p.sql === '1')) return { sql: '1', params: [], exact: parts.every((p) => p.exact) };
      const kept = node.kind === 'and' ? parts.filter((p) => p.sql !== '1') : parts;
      const exact = parts.every((p) => p.exact);
      if (kept.length === 0) return { sql: '1', params: [], exact };
      return {
        sql: kept.map((p) => `(${p.sql})`).join(node.kind === 'and' ? ' AND ' : ' OR '),
        params: kept.flatMap((p) => p.params),
        exact,
      };
    }
    case 'not': {
      const inner = compileFilter(node.node);
      if (!inner.exact) return CANDIDATE;
      if (inner.sql === '1') return { sql: '0', params: [], exact: true };
      // NULL (an absent field) is "not matching", so its negation matches.
      return { sql: `NOT ifnull((${inner.sql}), 0)`, params: inner.params, exact: true };
    }
    case 'word':
    case 'phrase': {
      if (!isMessage(node.field)) return CANDIDATE;
      // The words as the matcher takes them: exactly FTS5's tokens, in order.
      const ws = words(node.value);
      if (ws.length === 0) return { sql: '0', params: [], exact: true };
      return ws.length === 1 ? withTerm(exactTerm(ws[0]!)) : phrase(ws.map(exactTerm));
    }
    case 'prefix':
      // message: the last word is a prefix ("web 0"*); keyword fields: the whole value.
      if (isMessage(node.field)) {
        const ws = words(node.value);
        if (ws.length === 0) return CANDIDATE;
        const last = prefixTerms(ws.pop()!);
        return ws.length === 0 ? withTerm(last) : phrase([...ws.map(exactTerm), last]);
      }
      {
        const col = columnOf(node.field);
        if (col === null || NUMERIC.has((node.field as { name: BuiltinField }).name) || !ASCII.test(node.value)) return CANDIDATE;
        return { sql: `${col} LIKE ? ESCAPE '\\'`, params: [node.value.replace(/[\\%_]/g, '\\$&') + '%'], exact: true };
      }
    case 'wildcard':
    case 'regex':
      return CANDIDATE;
    case 'exists': {
      const col = columnOf(node.field);
      if (col === null) return CANDIDATE;
      return { sql: `${col} IS NOT NULL`, params: [], exact: true };
    }
    case 'equals': {
      const col = columnOf(node.field);
      if (col === null || node.field.kind !== 'builtin') return CANDIDATE;
      const numeric = NUMERIC.has(node.field.name);
      if (numeric !== (typeof node.value === 'number')) return CANDIDATE;
      // Text columns compare NOCASE, which folds ASCII only: exact for ASCII values.
      if (typeof node.value === 'string' && !ASCII.test(node.value)) return CANDIDATE;
      return { sql: `${col} = ?`, params: [node.value], exact: true };
    }
    case 'compare': {
      if (node.field.kind !== 'builtin' || !NUMERIC.has(node.field.name) || typeof node.value !== 'number') return CANDIDATE;
      return { sql: `${columnOf(node.field)} ${node.op} ?`, params: [node.value], exact: true };
    }
    case 'range': {
      if (node.field.kind !== 'builtin' || !NUMERIC.has(node.field.name) || typeof node.low !== 'number' || typeof node.high !== 'number') return CANDIDATE;
      return { sql: `${columnOf(node.field)} BETWEEN ? AND ?`, params: [node.low, node.high], exact: true };
    }
  }
}

/**
 * A phrase (its words in order, the last perhaps a prefix's range): the occurrences
 * (seq, offset) of each word whose event has the one before at offset - 1. Each IN list is
 * made once (none refers to the row outside it), so every word's occurrences are read once.
 * Exact, since offsets count FTS5 tokens within one message, which words() gives too. On
 * 300k events, "connection closed" (6.6k events; the two words in ~100k each) counted in
 * 110 ms against 422 ms as a candidate (the events with both words, checked by the matcher);
 * a MATCH of one document per event took 18 ms, the price of the 64-column layout's ingest.
 */
function phrase(words: TermWhere[]): CompiledFilter {
  let sql = `SELECT seq, offset FROM events_terms WHERE ${words[0]!.where}`;
  let params = words[0]!.params;
  for (let i = 1; i < words.length; i++) {
    sql = `SELECT seq, offset FROM events_terms WHERE ${words[i]!.where} AND (seq, offset - 1) IN (${sql})`;
    params = [...words[i]!.params, ...params];
  }
  return { sql: `seq IN (SELECT seq FROM (${sql}))`, params, exact: true };
}

function isMessage(f: FieldRef): boolean {
  return f.kind === 'builtin' && f.name === 'message';
}
