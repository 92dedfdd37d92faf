// Text terms as an SQLite FTS5 MATCH expression, for the embedded store's index. The contract
// test (test/store/query/fts-contract.test.ts) holds this translation and compileMatcher to the
// same answers on a real FTS5 table with tokenize='unicode61 remove_diacritics 0'.

import type { Node } from './ast.js';

function isMessageText(n: Node): boolean {
  return (n.kind === 'word' || n.kind === 'phrase' || n.kind === 'prefix') && n.field.kind === 'builtin' && n.field.name === 'message';
}

function quote(s: string): string {
  return '"' + s.replace(/"/g, '""') + '"';
}

/**
 * The MATCH text for a tree made only of message words, phrases and prefixes joined by AND,
 * OR and NOT (a NOT needs a positive term beside it in its AND, as FTS5's NOT is binary);
 * null when some part is not answerable by the index (fields, wildcards, regexes, a lone NOT).
 * Values are already folded words (parse.ts), so FTS5 sees them exactly as it indexed them.
 */
export function ftsMatch(n: Node): string | null {
  switch (n.kind) {
    case 'word':
    case 'phrase':
      return isMessageText(n) ? quote(n.value) : null;
    case 'prefix':
      return isMessageText(n) && n.value.length > 0 ? quote(n.value) + '*' : null;
    case 'or': {
      const parts = n.nodes.map(ftsMatch);
      return parts.every((p) => p !== null) ? '(' + parts.join(' OR ') + ')' : null;
    }
    case 'and': {
      const pos: string[] = [];
      const neg: string[] = [];
      for (const c of n.nodes) {
        const p = c.kind === 'not' ? ftsMatch(c.node) : ftsMatch(c);
        if (p === null) return null;
        (c.kind === 'not' ? neg : pos).push(p);
      }
      if (pos.length === 0) return null;
      return '(' + pos.join(' AND ') + neg.map((x) => ' NOT ' + x).join('') + ')';
    }
    default:
      return null;
  }
}
