// The one word rule of the query language, shared by the parser, the in-memory evaluator and
// every store: lower-cased runs of letters and digits, exactly as SQLite FTS5 tokenizes with
// tokenize='unicode61 remove_diacritics 0' (so the embedded store's index and the evaluator
// agree on what a word is). The code point table is generated from SQLite itself
// (fts-table.ts); test/store/query/words.test.ts holds the two to each other.
//
// Note what unicode61 counts as a token character besides letters and digits: the private use
// area, unassigned code points and a few combining marks (U+0300..). Lone surrogates are
// separators (SQLite sees them as U+FFFD).

import { FOLD_EXCEPTIONS, TOKEN_RANGES } from './fts-table.js';

// ASCII: 1 = token character.
const ASCII = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) ASCII[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) ASCII[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) ASCII[c] = 1;

const FOLDS = new Map<number, number>();
for (let i = 0; i < FOLD_EXCEPTIONS.length; i += 2) FOLDS.set(FOLD_EXCEPTIONS[i]!, FOLD_EXCEPTIONS[i + 1]!);

/** True when the code point is part of a word (FTS5 unicode61 token character). */
export function isWordCodePoint(cp: number): boolean {
  if (cp < 128) return ASCII[cp] === 1;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  // Binary search over [first, last] pairs.
  let lo = 0;
  let hi = (TOKEN_RANGES.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < TOKEN_RANGES[mid * 2]!) hi = mid - 1;
    else if (cp > TOKEN_RANGES[mid * 2 + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The folded (lower-case) form of one word code point, as FTS5 stores it. */
export function foldCodePoint(cp: number): string {
  if (cp < 128) return String.fromCharCode(cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp);
  const f = FOLDS.get(cp);
  return f !== undefined ? String.fromCodePoint(f) : String.fromCodePoint(cp).toLowerCase();
}

/** Lower-cased runs of letters and digits; everything else separates. */
export function words(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Skip separators.
    let c = text.charCodeAt(i);
    if (c < 128 ? ASCII[c] !== 1 : !isWordCodePoint(codePointAt(text, i))) {
      i += c >= 0xd800 && c <= 0xdbff && isLow(text, i + 1) ? 2 : 1;
      continue;
    }
    const start = i;
    let ascii = true;
    let upper = false;
    while (i < n) {
      c = text.charCodeAt(i);
      if (c < 128) {
        if (ASCII[c] !== 1) break;
        if (c <= 0x5a && c >= 0x41) upper = true;
        i++;
      } else {
        const cp = codePointAt(text, i);
        if (!isWordCodePoint(cp)) break;
        ascii = false;
        i += cp > 0xffff ? 2 : 1;
      }
    }
    out.push(ascii ? (upper ? text.slice(start, i).toLowerCase() : text.slice(start, i)) : foldRun(text, start, i));
  }
  return out;
}

/** Folds a piece of text code point by code point (no context rules such as final sigma). */
export function foldText(text: string): string {
  return foldRun(text, 0, text.length);
}

function foldRun(text: string, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end;) {
    const cp = codePointAt(text, i);
    s += foldCodePoint(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return s;
}

function isLow(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
}

// A lone surrogate reads as itself (then counts as a separator).
function codePointAt(text: string, i: number): number {
  return text.codePointAt(i)!;
}
