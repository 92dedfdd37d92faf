// Reading the text index (destinations/postgres/blocks.ts): from a filter to the blocks that
// may hold matches, and within each block to the rows that may.
//
// Message words, phrases (their words, in any order: the matcher checks adjacency) and prefixes,
// and host/app values, become lexemes; AND and OR of them a tsquery the GIN index answers. A
// term the index cannot narrow (NOT, a wildcard, a regular expression, any other field) makes
// its AND operand true and its OR null (every block). Within a block the positions of the
// exact lexemes name the rows (a lexeme with ALL_ROWS, or a prefix, names every row); AND
// intersects, OR unites. The rows are candidates: compileMatcher decides.

import type { Node } from '../query/ast.js';
import { ALL_ROWS, keyLexeme, queryLexeme, tsqueryLexeme } from './words.js';

type Term =
  | { kind: 'lexeme'; lexeme: string; prefix: boolean }
  | { kind: 'and' | 'or'; terms: Term[] };

/** A set of row positions in a block (1-based), or every row. */
export type Rows = Set<number> | 'all';

export interface BlockPlan {
  /** tsquery text over the blocks' words. */
  tsquery: string;
  /** The exact lexemes whose positions rows() reads. */
  lexemes: string[];
  /** The candidate rows of a block, given the positions of `lexemes` in it (absent: not there). */
  rows(positions: Map<string, number[]>): Rows;
}

function lexemeTerm(lexeme: string, prefix: boolean): Term {
  const q = queryLexeme(lexeme, prefix);
  return { kind: 'lexeme', lexeme: q.lexeme, prefix: q.prefix };
}

function and(terms: Term[]): Term | null {
  return terms.length === 0 ? null : terms.length === 1 ? terms[0]! : { kind: 'and', terms };
}

function term(n: Node): Term | null {
  switch (n.kind) {
    case 'word':
    case 'phrase':
    case 'prefix': {
      if (n.field.kind !== 'builtin') return null;
      if (n.field.name === 'message') {
        const ws = n.value.split(' ').filter((w) => w.length > 0);
        return and(ws.map((w, i) => lexemeTerm(w, n.kind === 'prefix' && i === ws.length - 1)));
      }
      if (n.field.name === 'host' || n.field.name === 'app') return lexemeTerm(keyLexeme(n.field.name, n.value), n.kind === 'prefix');
      return null;
    }
    case 'equals':
      if (n.field.kind === 'builtin' && (n.field.name === 'host' || n.field.name === 'app') && typeof n.value === 'string') return lexemeTerm(keyLexeme(n.field.name, n.value), false);
      return null;
    case 'and':
      return and(n.nodes.map(term).filter((t): t is Term => t !== null));
    case 'or': {
      const ts = n.nodes.map(term);
      return ts.length > 0 && ts.every((t) => t !== null) ? { kind: 'or', terms: ts as Term[] } : null;
    }
    default:
      return null;
  }
}

function tsquery(t: Term): string {
  if (t.kind === 'lexeme') return tsqueryLexeme(t.lexeme, t.prefix);
  return `(${t.terms.map(tsquery).join(t.kind === 'and' ? ' & ' : ' | ')})`;
}

function exactLexemes(t: Term, out: Set<string>): void {
  if (t.kind === 'lexeme') { if (!t.prefix) out.add(t.lexeme); return; }
  for (const x of t.terms) exactLexemes(x, out);
}

function rowsOf(t: Term, positions: Map<string, number[]>): Rows {
  if (t.kind === 'lexeme') {
    if (t.prefix) return 'all';
    const p = positions.get(t.lexeme);
    if (p === undefined) return new Set();
    return p.includes(ALL_ROWS) ? 'all' : new Set(p);
  }
  const parts = t.terms.map((x) => rowsOf(x, positions));
  if (t.kind === 'or') {
    if (parts.includes('all')) return 'all';
    const u = new Set<number>();
    for (const s of parts as Set<number>[]) for (const r of s) u.add(r);
    return u;
  }
  const sets = parts.filter((s): s is Set<number> => s !== 'all').sort((a, b) => a.size - b.size);
  if (sets.length === 0) return 'all';
  const [first, ...rest] = sets;
  const out = new Set<number>();
  for (const r of first!) if (rest.every((s) => s.has(r))) out.add(r);
  return out;
}

/** The block plan of a filter, or null when the text index cannot narrow it. */
export function blockPlan(filter: Node): BlockPlan | null {
  const t = term(filter);
  if (t === null) return null;
  const lexemes = new Set<string>();
  exactLexemes(t, lexemes);
  return { tsquery: tsquery(t), lexemes: [...lexemes], rows: (positions) => rowsOf(t, positions) };
}
