// The text index of the PostgreSQL store: per block of events, a tsvector of its distinct words.
//
// The lexemes are exactly the words the in-memory evaluator sees (query/words.ts: lower-cased
// runs of letters and digits, FTS5 unicode61), not PostgreSQL's text-search parser's tokens:
// that parser keeps "/usr/bin/sshd" or "a@b.org" as one token, so the bare word `sshd` would
// miss rows. Host and app values are lexemes too, as h=VALUE and a=VALUE (lower-cased; a word
// never holds '='). A lexeme's positions are the rows of the block that hold it (1-based);
// one in more rows than a tsvector keeps positions for has the single position ALL_ROWS.
// Lexemes longer than MAX_LEXEME are cut there, and a query for such a word asks for the cut
// word as a prefix, so the index stays a superset of the matches.

import { words } from '../query/words.js';

/** tsvector bounds (PostgreSQL): 2,047 bytes per lexeme, positions up to 16383, 256 per lexeme. */
export const MAX_LEXEME = 500;
export const ALL_ROWS = 16383;
export const MAX_POSITIONS = 255;
/** Words of one message indexed at most (as many as a per-event tsvector held before). */
const MAX_WORDS = 16383;
const MAX_CHARS = 256 * 1024;

export type KeyField = 'host' | 'app';
const KEY_PREFIX: Record<KeyField, string> = { host: 'h=', app: 'a=' };

function cut(s: string): string {
  if (s.length <= MAX_LEXEME) return s;
  const c = s.charCodeAt(MAX_LEXEME - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? MAX_LEXEME - 1 : MAX_LEXEME);
}

/** The lexemes of a message: its words, within the bounds. */
export function messageLexemes(message: string): string[] {
  const ws = words(message);
  if (ws.length > MAX_WORDS) ws.length = MAX_WORDS;
  let chars = 0;
  for (let i = 0; i < ws.length; i++) {
    chars += ws[i]!.length;
    if (chars > MAX_CHARS) { ws.length = i; break; }
    if (ws[i]!.length > MAX_LEXEME) ws[i] = cut(ws[i]!);
  }
  return ws;
}

/** The lexeme of a host or app value (the whole value, lower-cased, as `host:value` compares). */
export function keyLexeme(field: KeyField, value: string): string {
  return cut(KEY_PREFIX[field] + value.toLowerCase());
}

/** A lexeme as a tsvector/tsquery literal (quoted; ' doubled, \ escaped). */
export function quoteLexeme(lexeme: string): string {
  if (!lexeme.includes("'") && !lexeme.includes('\\')) return "'" + lexeme + "'";
  return "'" + lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

/** What a query asks the index for, for one word or key value: the lexeme, and whether only as a prefix. */
export function queryLexeme(lexeme: string, prefix: boolean): { lexeme: string; prefix: boolean } {
  return lexeme.length > MAX_LEXEME ? { lexeme: cut(lexeme), prefix: true } : { lexeme, prefix };
}

/** A tsquery operand for one lexeme, optionally as a prefix. */
export function tsqueryLexeme(lexeme: string, prefix: boolean): string {
  return quoteLexeme(lexeme) + (prefix ? ':*' : '');
}
