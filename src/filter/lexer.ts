// Tokens of the filter expression language, each with the 1-based column where it starts.

import { SluiceError } from '../errors.js';

export type TokenKind = 'word' | 'string' | '(' | ')' | ',' | '..' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** A word as written, or a string's value with escapes resolved. */
  readonly text: string;
  /** 1-based column of the token's first character. */
  readonly col: number;
}

/** Throws the one error type every filter syntax problem uses, prefixed with its column. */
export function syntaxError(col: number, message: string): never {
  throw new SluiceError('SLUICE_ERR_FILTER_SYNTAX', `column ${col}: ${message}`);
}

/** How a token reads in an error message. */
export function describeToken(t: Token): string {
  if (t.kind === 'eof') return 'end of expression';
  if (t.kind === 'string') return JSON.stringify(t.text);
  return `"${t.text}"`;
}

const PUNCT = new Set(['(', ')', ',']);

// Bare words stop at these so that `level(info..emerg)` and `netmask(10.0.0.0/8)` both lex
// without quotes: a word may hold single dots, slashes and colons, but ".." separates.
function endsWord(src: string, i: number): boolean {
  const c = src[i]!;
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || PUNCT.has(c) || c === '"' || c === "'" ||
    (c === '.' && src[i + 1] === '.');
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: c as TokenKind, text: c, col: i + 1 });
      i++;
    } else if (c === '.' && src[i + 1] === '.') {
      tokens.push({ kind: '..', text: '..', col: i + 1 });
      i += 2;
    } else if (c === '"' || c === "'") {
      i = readString(src, i, tokens);
    } else {
      const start = i;
      while (i < src.length && !endsWord(src, i)) i++;
      tokens.push({ kind: 'word', text: src.slice(start, i), col: start + 1 });
    }
  }
  tokens.push({ kind: 'eof', text: '', col: src.length + 1 });
  return tokens;
}

// Double quotes take \" and \\ escapes; any other backslash stays, so regexes like "\d+"
// need no doubling. Single quotes (as in syslog-ng) take no escapes at all.
function readString(src: string, open: number, tokens: Token[]): number {
  const quote = src[open]!;
  let value = '';
  let i = open + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === quote) {
      tokens.push({ kind: 'string', text: value, col: open + 1 });
      return i + 1;
    }
    if (c === '\\' && quote === '"' && (src[i + 1] === '"' || src[i + 1] === '\\')) {
      value += src[i + 1];
      i += 2;
    } else {
      value += c;
      i++;
    }
  }
  return syntaxError(open + 1, `unterminated string, expected a closing ${quote}`);
}
