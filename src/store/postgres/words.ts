// The word index of the PostgreSQL store: the query language's own words (query/words.ts), with positions.
//
// The `words` column holds exactly the words the in-memory evaluator sees (lower-cased runs of
// letters and digits, FTS5 unicode61), not PostgreSQL's text-search parser's tokens: that parser
// keeps "/usr/bin/sshd" or "a@b.org" as one token, so the bare word `sshd` would miss rows.
// Positions (the word's index in the message, 1-based) make phrases exact with `<->`.

import { words } from '../query/words.js';

/** tsvector bounds (PostgreSQL): positions up to 16383 (and 256 per lexeme, which its input enforces), 1 MB per value. */
const MAX_POS = 16383;
const MAX_CHARS = 256 * 1024;

/**
 * A tsvector literal of the message's words with positions ('disk':1 'full':2 'disk':3; the
 * tsvector input sorts them and merges repeats). Past the bounds words are left out of the
 * index (the message itself is stored whole): a phrase that starts after the 16,383rd word or
 * after 256 KiB of words is not found.
 */
export function messageTsvector(message: string): string {
  const ws = words(message);
  let out = '';
  let chars = 0;
  for (let i = 0; i < ws.length && i < MAX_POS; i++) {
    const w = ws[i]!;
    chars += w.length;
    if (chars > MAX_CHARS) break;
    // Words hold no quote or backslash (they are letters and digits), so no escaping.
    out += (i === 0 ? "'" : " '") + w + "':" + (i + 1);
  }
  return out;
}

/** A tsquery lexeme for one folded word, optionally as a prefix. */
export function tsqueryLexeme(word: string, prefix: boolean): string {
  return "'" + word.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'" + (prefix ? ':*' : '');
}
