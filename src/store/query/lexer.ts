// Tokens of the query language. A term is lexed whole (`field:op value`), because what follows
// a colon decides how the value reads: a quoted string, a [range], a /regex/ or a bare value.
// Positions are UTF-16 offsets into the text; QueryError turns them into columns.

import { QueryError } from './error.js';

export type Comparator = '<' | '<=' | '>' | '>=';

/** A bare value with its unescaped text and where the unescaped wildcards (* ?) are. */
export interface BareValue {
  kind: 'bare';
  text: string;
  /** Offsets into `text` of wildcard characters that were not escaped. */
  wild: number[];
  pos: number;
}

export interface QuotedValue {
  kind: 'quoted';
  text: string;
  /** Written "…"* : a prefix (of the last word on the message, of the whole value elsewhere). */
  prefix: boolean;
  pos: number;
}

export interface RegexValue {
  kind: 'regex';
  pattern: string;
  flags: string;
  pos: number;
}

export type RangeEnd = BareValue | QuotedValue;

export interface RangeValue {
  kind: 'range';
  low: RangeEnd;
  high: RangeEnd;
  pos: number;
}

export type TermValue = BareValue | QuotedValue | RegexValue | RangeValue;

export type Token =
  | { kind: '(' | ')' | '|' | '-' | 'AND' | 'OR' | 'NOT' | 'eof'; pos: number }
  | { kind: 'term'; pos: number; field: { name: string; pos: number } | null; op: Comparator | null; value: TermValue }
  /** After the first `|`: a word, number or punctuation of a pipe stage. */
  | { kind: 'pipeword'; pos: number; text: string };

export const MAX_REGEX_LENGTH = 512;

// A field name before a colon: letters first, then letters, digits and _ . @ -
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_.@-]*$/;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** Characters that end a bare value (outside escapes). */
function endsBare(c: string): boolean {
  return isSpace(c) || c === '(' || c === ')' || c === '"' || c === '|';
}

export class Lexer {
  private i = 0;
  private inPipes = false;
  constructor(readonly src: string) {}

  fail(pos: number, message: string): never {
    throw new QueryError(this.src, columnOf(this.src, pos), message);
  }

  tokenize(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const t = this.next();
      out.push(t);
      if (t.kind === 'eof') return out;
    }
  }

  private next(): Token {
    const s = this.src;
    while (this.i < s.length && isSpace(s[this.i]!)) this.i++;
    const pos = this.i;
    if (pos >= s.length) return { kind: 'eof', pos };
    const c = s[pos]!;
    if (c === '|') {
      this.i++;
      this.inPipes = true;
      return { kind: '|', pos };
    }
    if (this.inPipes) return this.pipeWord();
    if (c === '(' || c === ')') {
      this.i++;
      return { kind: c, pos };
    }
    if (c === '-') {
      const n = s[pos + 1];
      // "-x" excludes x; "-" alone or "--" is text (punctuation, which searches nothing).
      if (n !== undefined && !isSpace(n) && n !== ')' && n !== '|' && n !== '-') {
        this.i++;
        return { kind: '-', pos };
      }
    }
    return this.term();
  }

  private pipeWord(): Token {
    const s = this.src;
    const pos = this.i;
    const c = s[pos]!;
    if (c === '(' || c === ')' || c === ',') {
      this.i++;
      return { kind: 'pipeword', pos, text: c };
    }
    if (c === '"') {
      const q = this.quoted();
      return { kind: 'pipeword', pos, text: q.text };
    }
    while (this.i < s.length && !isSpace(s[this.i]!) && !'(),|"'.includes(s[this.i]!)) this.i++;
    return { kind: 'pipeword', pos, text: s.slice(pos, this.i) };
  }

  private term(): Token {
    const s = this.src;
    const pos = this.i;
    if (s[pos] === '"') return { kind: 'term', pos, field: null, op: null, value: this.quoted() };
    if (s[pos] === '/') return { kind: 'term', pos, field: null, op: null, value: this.regex() };
    // Look for `name:` before the value; a colon elsewhere is part of a bare word (10:30, ::1).
    let j = pos;
    while (j < s.length && /[A-Za-z0-9_.@-]/.test(s[j]!)) j++;
    if (s[j] === ':' && FIELD_NAME.test(s.slice(pos, j))) {
      const field = { name: s.slice(pos, j), pos };
      this.i = j + 1;
      return this.fieldValue(pos, field);
    }
    const bare = this.bare();
    if (bare.wild.length === 0 && (bare.text === 'AND' || bare.text === 'OR' || bare.text === 'NOT')) {
      return { kind: bare.text, pos };
    }
    return { kind: 'term', pos, field: null, op: null, value: bare };
  }

  private fieldValue(pos: number, field: { name: string; pos: number }): Token {
    const s = this.src;
    let op: Comparator | null = null;
    const c = s[this.i];
    if (c === '<' || c === '>') {
      op = s[this.i + 1] === '=' ? (c + '=') as Comparator : c;
      this.i += op.length;
    }
    const v = s[this.i];
    const here = this.i;
    if (v === undefined || isSpace(v) || v === ')' || v === '|') {
      this.fail(here, `expected a value after "${s.slice(field.pos, here)}"`);
    }
    if (v === '(') this.fail(here, `"${field.name}:" takes one value, not a group in parentheses (write ${field.name}:a OR ${field.name}:b)`);
    let value: TermValue;
    if (v === '"') value = this.quoted();
    else if (v === '/') value = this.regex();
    else if (v === '[') value = this.range();
    else value = this.bare();
    return { kind: 'term', pos, field, op, value };
  }

  /** A bare value: up to a space, parenthesis, quote or pipe; backslash escapes one character. */
  private bare(): BareValue {
    const s = this.src;
    const pos = this.i;
    let text = '';
    const wild: number[] = [];
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (endsBare(c)) break;
      if (c === '\\') {
        const n = s[this.i + 1];
        if (n === undefined) this.fail(this.i, 'a backslash at the end of the query escapes nothing');
        text += n;
        this.i += 2;
        continue;
      }
      if (c === '*' || c === '?') wild.push(text.length);
      text += c;
      this.i++;
    }
    return { kind: 'bare', text, wild, pos };
  }

  /** "…" with \" and \\ escapes (any other backslash stays as written). */
  private quoted(): QuotedValue {
    const s = this.src;
    const pos = this.i;
    let text = '';
    let i = pos + 1;
    while (i < s.length) {
      const c = s[i]!;
      if (c === '"') {
        const prefix = s[i + 1] === '*' && (i + 2 >= s.length || endsBare(s[i + 2]!));
        this.i = i + (prefix ? 2 : 1);
        return { kind: 'quoted', text, prefix, pos };
      }
      if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) {
        text += s[i + 1];
        i += 2;
      } else {
        text += c;
        i++;
      }
    }
    return this.fail(pos, 'unbalanced quote: this " is never closed');
  }

  /** /pattern/flags; \/ is a slash inside the pattern. */
  private regex(): RegexValue {
    const s = this.src;
    const pos = this.i;
    let i = pos + 1;
    let pattern = '';
    let inClass = false;
    while (i < s.length) {
      const c = s[i]!;
      if (c === '\\' && i + 1 < s.length) {
        // Keep the escape for RegExp, except \/ which only served to hide the slash.
        pattern += s[i + 1] === '/' ? '/' : c + s[i + 1];
        i += 2;
        continue;
      }
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      pattern += c;
      i++;
    }
    if (i >= s.length) this.fail(pos, 'unbalanced regular expression: this / is never closed (quote a value that starts with a slash: "/var/log")');
    if (pattern.length === 0) this.fail(pos, 'empty regular expression //');
    if (pattern.length > MAX_REGEX_LENGTH) this.fail(pos, `regular expression of ${pattern.length} characters; the most is ${MAX_REGEX_LENGTH}`);
    i++;
    const flagsAt = i;
    while (i < s.length && /[A-Za-z]/.test(s[i]!)) i++;
    const flags = s.slice(flagsAt, i);
    for (let k = 0; k < flags.length; k++) {
      const f = flags[k]!;
      if (!'ims'.includes(f)) this.fail(flagsAt + k, `unknown regular expression flag "${f}" (i, m and s are allowed)`);
      if (flags.indexOf(f) !== k) this.fail(flagsAt + k, `regular expression flag "${f}" given twice`);
    }
    if (i < s.length && !endsBare(s[i]!)) this.fail(i, 'expected a space or ")" after the regular expression');
    this.i = i;
    return { kind: 'regex', pattern, flags, pos };
  }

  /** [low TO high], inclusive; either end may be quoted or *. */
  private range(): RangeValue {
    const s = this.src;
    const pos = this.i;
    this.i++;
    const ends: RangeEnd[] = [];
    let sawTo = false;
    for (;;) {
      while (this.i < s.length && isSpace(s[this.i]!)) this.i++;
      const c = s[this.i];
      if (c === undefined || c === '|' || c === ')') this.fail(pos, 'unbalanced range: this [ is never closed (write [low TO high])');
      if (c === ']') break;
      let v: RangeEnd;
      if (c === '"') v = this.quoted();
      else {
        const start = this.i;
        let text = '';
        const wild: number[] = [];
        while (this.i < s.length && !isSpace(s[this.i]!) && s[this.i] !== ']' && !endsBare(s[this.i]!)) {
          if (s[this.i] === '*') wild.push(text.length);
          text += s[this.i];
          this.i++;
        }
        if (this.i === start) this.fail(this.i, `unexpected "${s[this.i]}" in a range (write [low TO high])`);
        v = { kind: 'bare', text, wild, pos: start };
        if (text === 'TO' || text === 'to') {
          if (sawTo || ends.length !== 1) this.fail(start, 'a range is written [low TO high]');
          sawTo = true;
          continue;
        }
      }
      if (ends.length === 2) this.fail(v.pos, 'a range is written [low TO high]: too many values');
      if (ends.length === 1 && !sawTo) this.fail(v.pos, 'expected TO between the two ends of the range');
      ends.push(v);
    }
    if (ends.length !== 2) this.fail(pos, 'a range is written [low TO high]');
    this.i++;
    const after = s[this.i];
    if (after !== undefined && !endsBare(after)) this.fail(this.i, 'expected a space or ")" after the range');
    return { kind: 'range', low: ends[0]!, high: ends[1]!, pos };
  }
}

/** 1-based column in code points of a UTF-16 offset. */
export function columnOf(src: string, pos: number): number {
  let col = 1;
  for (let i = 0; i < pos && i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < pos) {
      const d = src.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    col++;
  }
  return col + Math.max(0, pos - src.length);
}
