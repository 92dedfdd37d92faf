// The words of a message as the query language sees them, for the PostgreSQL word index.
//
// The index column holds exactly these words (lower-cased), not PostgreSQL's own text parser's
// tokens: its parser keeps "/usr/bin/sshd" or "a@b.org" as one token, so a search for the
// bare word `sshd` would miss rows the in-memory matcher finds.

const WORD = /[\p{L}\p{N}_]+/gu;

/** The lower-cased words of `text` (repeats kept: the tsvector input folds them). */
export function messageWords(text: string): string[] {
  const lower = text.toLowerCase();
  // ASCII fast path (most syslog): then \p{L}\p{N} are just letters and digits.
  if (!NON_ASCII.test(lower)) return lower.match(ASCII_WORD) ?? [];
  return lower.match(WORD) ?? [];
}

const NON_ASCII = /[^\x00-\x7f]/;
const ASCII_WORD = /[a-z0-9_]+/g;
/** A tsvector literal of messageWords() output (which holds no quote or backslash to escape). */
export function tsvectorLiteral(words: string[]): string {
  return words.length === 0 ? '' : "'" + words.join("' '") + "'";
}

/** A tsquery lexeme for one word, optionally as a prefix. */
export function tsqueryLexeme(word: string, prefix: boolean): string {
  return "'" + word.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'" + (prefix ? ':*' : '');
}
