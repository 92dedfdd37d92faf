// The word index of the PostgreSQL store: the query language's own words (query/words.ts), with positions.
//
// The `words` column holds exactly the words the in-memory evaluator sees (lower-cased runs of
// letters and digits, FTS5 unicode61), not PostgreSQL's text-search parser's tokens: that parser
// keeps "/usr/bin/sshd" or "a@b.org" as one token, so the bare word `sshd` would miss rows.
// Positions (the word's index in the message, 1-based) make phrases exact with `<->`.

import { words } from '../query/words.js';

/** tsvector bounds (PostgreSQL): positions up to 16383, 256 per lexeme, 1 MB per value. */
const MAX_POS = 16383;
const MAX_POSITIONS = 256;
const MAX_LEXEME_CHARS = 256 * 1024;

/**
 * A tsvector literal of the message's words with positions. Past the bounds above words are
 * left out of the index (the message itself is stored whole): a phrase that starts after the
 * 16,383rd word, or a word first seen after 256 KiB of distinct words, is not found.
 */
export function messageTsvector(message: string): string {
  const ws = words(message);
  const at = new Map<string, number[]>();
  let chars = 0;
  for (let i = 0; i < ws.length && i < MAX_POS; i++) {
    const w = ws[i]!;
    const list = at.get(w);
    if (list !== undefined) { if (list.length < MAX_POSITIONS) list.push(i + 1); continue; }
    if (chars + w.length > MAX_LEXEME_CHARS) continue;
    chars += w.length;
    at.set(w, [i + 1]);
  }
  let out = '';
  for (const [w, pos] of at) {
    if (out.length > 0) out += ' ';
    // Words hold no quote or backslash (they are letters and digits), so no escaping.
    out += "'" + w + "':" + pos.join(',');
  }
  return out;
}

/** A tsquery lexeme for one folded word, optionally as a prefix. */
export function tsqueryLexeme(word: string, prefix: boolean): string {
  return "'" + word.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'" + (prefix ? ':*' : '');
}
