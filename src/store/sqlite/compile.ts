// The query syntax tree as SQLite SQL over one partition: bound parameters only, FTS5 for the text.
//
// A compiled filter is either exact (the SQL alone decides) or a candidate filter: the SQL
// selects a superset and compileMatcher (the one evaluator every backend shares) decides per
// row. Terms SQL cannot answer as the matcher would (wildcards, regexes, sd.* and fields.*,
// comparisons on text, non-ASCII keyword values) become candidates; under NOT a candidate
// term cannot narrow anything, so it becomes TRUE there and the matcher does the work.
// Words, phrases and prefixes on the message are exact: words() is FTS5's own tokenizer.
//
// Every value reaches SQLite as a bound parameter. FTS5 query strings are built from tokens
// quoted as FTS5 strings ("…" with " doubled), so no value is ever read as FTS5 syntax.

import type { BuiltinField, FieldRef, Node } from '../query/ast.js';
import { ftsMatch } from '../query/fts.js';

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

/** Quotes one string as an FTS5 string literal. */
export function ftsString(s: string): string {
  return '"' + s.replace(/"/g, '""') + '"';
}

function fts(match: string, exact: boolean): CompiledFilter {
  return { sql: 'seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)', params: [match], exact };
}

/** The column of a builtin field other than message, or null. */
export function columnOf(f: FieldRef): string | null {
  return f.kind === 'builtin' ? COLUMN[f.name] ?? null : null;
}

export function compileFilter(node: Node): CompiledFilter {
  // A subtree of message text only (words, phrases, prefixes with AND, OR, NOT): one MATCH.
  if (node.kind === 'and' || node.kind === 'or') {
    const m = ftsMatch(node);
    if (m !== null) return fts(m, true);
  }
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
    case 'phrase':
      // The parser gives folded words joined by one space: exactly FTS5's tokens, in order.
      if (isMessage(node.field)) return fts(ftsString(node.value), true);
      return CANDIDATE;
    case 'prefix':
      // message: the last word is a prefix ("web 0"*); keyword fields: the whole value.
      if (isMessage(node.field)) return node.value.length > 0 ? fts(ftsString(node.value) + '*', true) : CANDIDATE;
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

function isMessage(f: FieldRef): boolean {
  return f.kind === 'builtin' && f.name === 'message';
}
