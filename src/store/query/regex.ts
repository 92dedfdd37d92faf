// Regular expressions of queries: refused statically when they could take exponential time,
// and run by V8's linear-time engine where it is available.
//
// Static refusals (each a QueryError naming the column): a quantified group that holds another
// quantifier, either of them unbounded ((a+)+, (.*)*, (\d+){2,}, (a{1,3})+; (\.\d{1,3}){3} is fine), a quantified group whose alternatives can start with the
// same character ((a|a)*, (a|ab)+, (.|x)*), backreferences and lookarounds (no bounded engine runs
// them), and patterns longer than MAX_REGEX_LENGTH. Even without nesting, a backtracking engine is
// polynomial on patterns such as .*.*x (seconds on a 4 KB message); V8's experimental linear engine
// (the RegExp `l` flag, enabled once here) removes that, so matching is linear in the text.
// It cannot run the `i` flag, so /re/i runs as the pattern's letters lower-cased against the
// lower-cased text.

import v8 from 'node:v8';

let linear = false;
try {
  v8.setFlagsFromString('--enable-experimental-regexp-engine');
  new RegExp('a', 'l');
  linear = true;
} catch {
  linear = false;
}

/** True when regexes run on V8's linear-time engine (bounded by the text's length). */
export function linearRegexEngine(): boolean {
  return linear;
}

/** A problem with a pattern: `offset` is into the pattern text. */
export interface RegexProblem {
  offset: number;
  message: string;
}

interface Group {
  /** Offset of the '('. */
  open: number;
  /** Some quantifier with a maximum above 1 inside (at any depth). */
  innerRepeat: number;
  /** The repeated piece found inside, for the message. */
  innerText: string;
  /** The largest maximum count of those inner quantifiers. */
  innerMax: number;
  /** First-character sets of each alternative so far; null = could be anything. */
  firsts: (Set<string> | null)[];
  /** The current alternative has not seen its first atom yet. */
  atStart: boolean;
  alternation: boolean;
}

/** Finds what makes a pattern unsafe or invalid; null when it is fine. */
export function checkRegex(pattern: string, flags: string): RegexProblem | null {
  try {
    new RegExp(pattern, flags);
  } catch (e) {
    return { offset: 0, message: `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}` };
  }
  const fold = flags.includes('i');
  const stack: Group[] = [{ open: -1, innerRepeat: -1, innerText: '', innerMax: 0, firsts: [], atStart: true, alternation: false }];
  // The atom just read, so that a quantifier after it knows what it repeats.
  let last: { kind: 'char' | 'group'; start: number; group?: Group } | null = null;
  const top = () => stack[stack.length - 1]!;
  const noteFirst = (set: Set<string> | null) => {
    const g = top();
    if (g.atStart) {
      g.firsts.push(set);
      g.atStart = false;
    }
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    const start = i;
    if (c === '\\') {
      const n = pattern[i + 1] ?? '';
      if (/[1-9]/.test(n) || (n === 'k' && pattern[i + 2] === '<')) {
        return { offset: i, message: 'backreferences cannot run in bounded time' };
      }
      i += 2;
      if (n === 'x') i += 2;
      else if (n === 'u') i += pattern[i] === '{' ? pattern.indexOf('}', i) - i + 1 : 4;
      else if (n === 'c') i += 1;
      noteFirst(/[dDwWsSbBpP]/.test(n) ? null : new Set([fold ? n.toLowerCase() : n]));
      last = { kind: 'char', start };
      continue;
    }
    if (c === '[') {
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      noteFirst(null);
      last = { kind: 'char', start };
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?') {
        const k = pattern[i + 2];
        if (k === '=' || k === '!' || (k === '<' && (pattern[i + 3] === '=' || pattern[i + 3] === '!'))) {
          return { offset: i, message: 'lookahead and lookbehind cannot run in bounded time' };
        }
      }
      // The group's own first character is unknown to the enclosing alternative; be safe.
      noteFirst(null);
      const g: Group = { open: i, innerRepeat: -1, innerText: '', innerMax: 0, firsts: [], atStart: true, alternation: false };
      stack.push(g);
      i++;
      if (pattern[i] === '?') {
        if (pattern[i + 1] === ':') i += 2;
        else if (pattern[i + 1] === '<') i = pattern.indexOf('>', i) + 1;
      }
      last = null;
      continue;
    }
    if (c === ')') {
      const g = stack.pop()!;
      if (g.atStart) g.firsts.push(new Set());
      i++;
      last = { kind: 'group', start, group: g };
      // Inner repeats propagate outwards.
      if (g.innerRepeat >= 0) noteRepeat(top(), g.innerRepeat, g.innerText, g.innerMax);
      continue;
    }
    if (c === '|') {
      const g = top();
      if (g.atStart) g.firsts.push(new Set());
      g.alternation = true;
      g.atStart = true;
      i++;
      last = null;
      continue;
    }
    const q = readQuantifier(pattern, i);
    if (q !== null) {
      i = q.end;
      if (pattern[i] === '?') i++;
      if (last !== null && q.max > 1) {
        if (last.kind === 'group') {
          const g = last.group!;
          // Bounded inside bounded ((\.\d{1,3}){3}) stays small; unbounded on either side explodes.
          if (g.innerRepeat >= 0 && (q.max === Infinity || g.innerMax === Infinity)) {
            return { offset: g.open, message: `nested repetition: this group repeats "${g.innerText}", which repeats itself (as in (a+)+); it can take exponential time` };
          }
          if (g.alternation && overlap(g.firsts)) {
            return { offset: g.open, message: 'a repeated group whose alternatives can start alike (as in (a|a)*) can take exponential time' };
          }
        }
        noteRepeat(top(), last.start, pattern.slice(last.start, q.end), q.max);
      }
      last = null;
      continue;
    }
    noteFirst(c === '.' || c === '^' || c === '$' ? null : new Set([fold ? c.toLowerCase() : c]));
    last = { kind: 'char', start };
    i++;
  }
  // What the linear engine cannot run (counted repetitions in the hundreds, {1,1000}) would
  // fall back to backtracking: refuse it rather than run it unbounded.
  if (linear) {
    try {
      linearRegExp(pattern, flags);
    } catch {
      return { offset: 0, message: 'this regular expression cannot run in bounded time (counted repetitions such as {1,1000} are too large); use a smaller count or a simpler pattern' };
    }
  }
  return null;
}

function noteRepeat(g: Group, at: number, text: string, max: number): void {
  if (g.innerRepeat < 0 || (max === Infinity && g.innerMax !== Infinity)) {
    g.innerRepeat = at;
    g.innerText = text;
  }
  g.innerMax = Math.max(g.innerMax, max);
}

function readQuantifier(p: string, i: number): { max: number; end: number } | null {
  const c = p[i];
  if (c === '*' || c === '+') return { max: Infinity, end: i + 1 };
  if (c === '?') return { max: 1, end: i + 1 };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i, i + 24));
    if (m === null) return null;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    return { max, end: i + m[0].length };
  }
  return null;
}

function overlap(firsts: (Set<string> | null)[]): boolean {
  const seen = new Set<string>();
  for (const f of firsts) {
    if (f === null || f.size === 0) return true;
    for (const ch of f) {
      if (seen.has(ch)) return true;
      seen.add(ch);
    }
  }
  return false;
}

/** A compiled query regex: `test` takes the field's text. Call checkRegex first. */
export function compileRegex(pattern: string, flags: string): (text: string) => boolean {
  if (!linear) {
    const re = new RegExp(pattern, flags);
    return (t) => re.test(t);
  }
  const re = linearRegExp(pattern, flags);
  if (!flags.includes('i')) return (t) => re.test(t);
  return (t) => re.test(t.toLowerCase());
}

function linearRegExp(pattern: string, flags: string): RegExp {
  if (!flags.includes('i')) return new RegExp(pattern, flags + 'l');
  return new RegExp(lowerPattern(pattern), flags.replace('i', '') + 'l');
}

// The pattern for lower-cased text: letters lower-cased, escapes that name an upper-case
// letter (\x41, \u00C9, an identity escape such as \Q) turned into its lower case; escapes
// with a meaning (\D, \W, \S, \B, \n, \cA …) keep it.
function lowerPattern(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c !== '\\' || i + 1 >= p.length) {
      out += c.toLowerCase();
      continue;
    }
    const n = p[i + 1]!;
    const hex = n === 'x' ? /^[0-9a-fA-F]{2}/.exec(p.slice(i + 2)) : n === 'u' ? /^[0-9a-fA-F]{4}/.exec(p.slice(i + 2)) : null;
    if (hex !== null) {
      out += '\\u' + lowerUnit(parseInt(hex[0], 16));
      i += 1 + hex[0].length;
    } else if (n === 'c' && /[A-Za-z]/.test(p[i + 2] ?? '')) {
      out += '\\c' + p[i + 2];
      i += 2;
    } else if (/[A-Za-z]/.test(n) && !'dDwWsSbBnrtfvxuck'.includes(n)) {
      out += n.toLowerCase();
      i++;
    } else {
      out += c + n;
      i++;
    }
  }
  return out;
}

function lowerUnit(code: number): string {
  const lower = String.fromCharCode(code).toLowerCase();
  const unit = lower.length === 1 ? lower.charCodeAt(0) : code;
  return unit.toString(16).padStart(4, '0');
}
