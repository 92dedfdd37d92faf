// The query language's parser: text → Query (ast.ts). One parser for the CLI, the API, the
// embedded store, PostgreSQL, archives and live tail.
//
// Semantics (DESIGN.md "Store and query" fixes the syntax; where it is silent, this is the rule):
// - Grammar: `filter ('|' pipe)*`; in the filter NOT (or a leading `-`) binds tighter than AND
//   (written or implied by juxtaposition), AND tighter than OR; parentheses group. The keywords
//   are upper-case only (`AND`, `OR`, `NOT`, and `TO` in ranges): lower-case `or` is a word.
//   The empty filter (or a lone `*`) matches everything.
// - Words: a word is a run of letters and digits, lower-cased (words.ts, = SQLite FTS5
//   unicode61 remove_diacritics 0). A bare word or "quoted phrase" searches `message`: one word
//   → `word` (a whole word, case-insensitive), several (`web-01`, `10.0.0.1`, "disk full") →
//   `phrase` (those words adjacent, in order). Node values are the folded words joined by one
//   space. `word*` and `"a phrase"*` → `prefix` (the last word is a prefix: `web-0*` is "web"
//   then a word starting with "0", as FTS5's "web 0"*). `*`/`?` anywhere else → `wildcard`, matched against each single
//   word of the message (so the pattern may hold only letters, digits, * and ?). A bare token
//   without letters or digits between other terms (`'; DROP TABLE x; --`) is skipped, as the
//   word rule skips punctuation inside a phrase; a query (or a NOT, or a quoted phrase) made only
//   of such text is an error, not a silent match-all.
// - Keyword fields: every field but `message` is a keyword field: host, app, procid, msgid,
//   source (source.name), transport (source.transport), sd.ID.PARAM (structured data; the last
//   dot splits ID from PARAM, both case-sensitive), fields.NAME (NAME case-sensitive; dots walk
//   into nested objects: fields.rule.id). On them `field:value` and `field:"a value"` are
//   `equals` on the whole value, case-insensitive (value lower-cased with toLowerCase());
//   `field:pre*` and `field:"pre fix"*` are `prefix` of the whole value; other wildcards are `wildcard` on the whole
//   value; `field:/re/` tests the whole value (unanchored unless the pattern anchors it).
//   On fields.NAME (and sd values) an array matches when any element does; booleans compare
//   as "true"/"false"; null counts as absent.
// - `field:*` is `exists`: the value is present and not null.
// - severity and facility take names or numbers and compare as codes (`severity:err` = 3,
//   `severity:<=warning` = 0..4); aliases: panic/emergency 0, critical 2, error 3, warn 4,
//   informational 6; facilities kern … local7 plus security/audit 13, cron2/clock 15.
//   Words, prefixes, wildcards and regexes on them are errors.
// - Comparisons `field:<v`, `<=`, `>`, `>=` and ranges `field:[a TO b]` (inclusive; `*` for an
//   open end, which makes a comparison) work on keyword fields and severity/facility. A value
//   written as a decimal number (-12, 3.5) is a number: it compares numerically with event values
//   that are numbers or decimal strings, and never matches other values. Any other value is a
//   string compared with the lower-cased event value by code units. A range with low > high is
//   an error. `message` takes no comparisons or ranges.
// - Regexes `/re/` (bare: on message) and `field:/re/flags` (flags i, m, s) are case-sensitive
//   unless `i`; `\/` is a slash inside; a regex tests the whole field text, unanchored (JavaScript
//   syntax, run by V8's linear-time engine; /re/i runs as the lower-cased pattern against the
//   lower-cased text). They and wildcards set `scans` (no index answers them).
//   Refused statically: longer than 512 characters, nested repetition ((a+)+, (.*)*), repeated
//   alternatives that start alike ((a|a)*), backreferences, lookarounds (regex.ts).
// - Pipes: `| stats count() by (f1, f2)` (0 to 4 fields; `by f` without parentheses for one),
//   `| top N field` (N 1..10000, default 10), `| limit N` (N 1..100000). At most one stats or
//   top; a limit may follow it (it then limits rows) or stand alone (it limits events).
// - Limits: a query longer than 16 KiB (MAX_QUERY_LENGTH characters) is refused before it is
//   read; parentheses and NOTs nest at most MAX_DEPTH deep, so no input can overflow the stack.
// - Backslash escapes the next character of a bare value (`\*` is a literal star, `\:` a
//   literal colon); in quotes only \" and \\ are escapes. `name:` starts a field term only when
//   name looks like a field (a letter, then letters, digits, _ . @ -); an unknown one is an error
//   with a suggestion (quote the text to search it: "error:"). `10:30` and `::1` are words.

import type { BuiltinField, FieldRef, Node, Pipe, Query, Scalar } from './ast.js';
import { closest } from '../../config/suggest.js';
import { FACILITY_NAMES, SEVERITY_NAMES, facilityCode, severityCode } from '../../event/syslog-names.js';
import { Lexer, columnOf, type BareValue, type QuotedValue, type RangeEnd, type TermValue, type Token } from './lexer.js';
import { checkRegex } from './regex.js';
import { foldCodePoint, isWordCodePoint, words } from './words.js';

export const MAX_QUERY_LENGTH = 16 * 1024;
export const MAX_DEPTH = 32;
export const MAX_LIMIT = 100_000;
export const MAX_TOP = 10_000;
export const MAX_STATS_FIELDS = 4;

/** Field names and their aliases, lower-case (the API reads facet names through it too). */
export const BUILTINS: Readonly<Record<string, BuiltinField>> = {
  message: 'message', msg: 'message',
  host: 'host', hostname: 'host',
  app: 'app', appname: 'app', program: 'app',
  procid: 'procid', pid: 'procid',
  msgid: 'msgid',
  facility: 'facility',
  severity: 'severity', level: 'severity',
  source: 'source',
  transport: 'transport',
};

/** Names suggested for a misspelt field. */
const KNOWN_FIELDS = ['message', 'host', 'app', 'procid', 'msgid', 'facility', 'severity', 'source', 'transport', 'hostname', 'appname', 'program', 'level'];

const SEVERITY_WORDS = [...SEVERITY_NAMES, 'panic', 'emergency', 'critical', 'error', 'warn', 'informational'];
const FACILITY_WORDS = [...FACILITY_NAMES, 'audit', 'cron2', 'clock'];

const NUMBER = /^-?\d+(\.\d+)?$/;

/** Parses a query; throws QueryError (code SLUICE_ERR_QUERY) with the column of the problem. */
export function parseQuery(text: string): Query {
  if (text.length > MAX_QUERY_LENGTH) {
    const lexer = new Lexer(text.slice(0, MAX_QUERY_LENGTH + 1));
    lexer.fail(MAX_QUERY_LENGTH, `the query is ${text.length} characters long; the most is ${MAX_QUERY_LENGTH}`);
  }
  const lexer = new Lexer(text);
  const p = new Parser(lexer, lexer.tokenize());
  const filter = p.filterOrAll();
  const pipes = p.pipes();
  return { text, filter, pipes, scans: p.scans };
}

/** The name a FieldRef is written as (`host`, `sd.origin.ip`, `fields.user`). */
export function fieldName(ref: FieldRef): string {
  if (ref.kind === 'builtin') return ref.name;
  if (ref.kind === 'sd') return `sd.${ref.id}.${ref.param}`;
  return `fields.${ref.name}`;
}

const MESSAGE: FieldRef = { kind: 'builtin', name: 'message' };

class Parser {
  private i = 0;
  private depth = 0;
  scans = false;

  constructor(private readonly lx: Lexer, private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }

  private take(): Token {
    return this.toks[this.i++]!;
  }

  private fail(pos: number, message: string): never {
    return this.lx.fail(pos, message);
  }

  filterOrAll(): Node {
    const t = this.peek();
    if (t.kind === 'eof' || t.kind === '|') return { kind: 'all' };
    const n = this.or();
    const end = this.peek();
    if (end.kind === ')') this.fail(end.pos, 'unbalanced parenthesis: this ) closes nothing');
    if (end.kind !== 'eof' && end.kind !== '|') this.fail(end.pos, 'unexpected text');
    return n;
  }

  private or(): Node {
    const nodes = [this.and()];
    while (this.peek().kind === 'OR') {
      const op = this.take();
      if (!this.startsTerm(this.peek())) this.fail(this.peek().pos, `expected a term after OR (at column ${this.col(op.pos)})`);
      nodes.push(this.and());
    }
    if (nodes.some((n) => n.kind === 'all')) return { kind: 'all' };
    return nodes.length === 1 ? nodes[0]! : { kind: 'or', nodes: flatten('or', nodes) };
  }

  private and(): Node {
    const nodes: Node[] = [];
    let skipped: Token | null = null;
    let first = true;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'AND') {
        if (first) this.fail(t.pos, 'AND needs a term on each side');
        this.take();
        if (!this.startsTerm(this.peek())) this.fail(this.peek().pos, 'expected a term after AND');
      } else if (!this.startsTerm(t)) {
        if (first) this.primary(); // throws the right error
        break;
      }
      first = false;
      // Punctuation between words (`'; DROP TABLE x; --`) holds nothing to search: skip it, as
      // the word rule does inside a phrase. Alone it is an error (see below).
      const u = this.peek();
      if (isPunctuationOnly(u)) {
        this.take();
        skipped ??= u;
        continue;
      }
      const n = this.unary();
      if (n.kind !== 'all') nodes.push(n);
      else if (nodes.length === 0 && this.peek().kind !== 'AND' && !this.startsTerm(this.peek())) return n;
    }
    if (nodes.length === 0) {
      if (skipped !== null) this.fail(skipped.pos, `"${this.lx.src.slice(skipped.pos).split(/\s/)[0]}" has no letters or digits to search for`);
      return { kind: 'all' };
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes: flatten('and', nodes) };
  }

  private startsTerm(t: Token): boolean {
    return t.kind === 'term' || t.kind === '(' || t.kind === 'NOT' || t.kind === '-';
  }

  private col(pos: number): number {
    return columnOf(this.lx.src, pos);
  }

  private unary(): Node {
    const t = this.peek();
    if (t.kind === 'NOT' || t.kind === '-') {
      this.take();
      const next = this.peek();
      if (!this.startsTerm(next)) {
        this.fail(next.kind === 'eof' ? t.pos : next.pos, t.kind === 'NOT' ? 'expected a term after NOT' : '"-" must be followed by the term it excludes');
      }
      this.enter(t.pos);
      const inner = this.unary();
      this.depth--;
      if (inner.kind === 'not') return inner.node;
      return { kind: 'not', node: inner };
    }
    return this.primary();
  }

  private enter(pos: number): void {
    if (++this.depth > MAX_DEPTH) this.fail(pos, `the query nests deeper than ${MAX_DEPTH} levels of parentheses and NOT`);
  }

  private primary(): Node {
    const t = this.take();
    if (t.kind === '(') {
      this.enter(t.pos);
      const next = this.peek();
      if (next.kind === ')') this.fail(t.pos, 'empty parentheses');
      if (next.kind === 'eof' || next.kind === '|') this.fail(t.pos, 'unbalanced parenthesis: this ( is never closed');
      const n = this.or();
      const close = this.take();
      if (close.kind !== ')') {
        if (close.kind === 'eof' || close.kind === '|') this.fail(t.pos, 'unbalanced parenthesis: this ( is never closed');
        this.fail(close.pos, 'expected ")"');
      }
      this.depth--;
      return n;
    }
    if (t.kind === 'term') return this.term(t);
    if (t.kind === ')') this.fail(t.pos, 'unbalanced parenthesis: this ) closes nothing');
    if (t.kind === 'OR' || t.kind === 'AND') this.fail(t.pos, `${t.kind} needs a term on each side`);
    return this.fail(t.pos, 'expected a term');
  }

  private term(t: Extract<Token, { kind: 'term' }>): Node {
    if (t.field === null) return this.textTerm(MESSAGE, t.value, t.pos);
    const field = this.resolveField(t.field.name, t.field.pos);
    if (t.op !== null) return this.compare(field, t.op, t.value, t.pos);
    if (field.kind === 'builtin' && field.name === 'message') return this.textTerm(field, t.value, t.pos);
    if (field.kind === 'builtin' && (field.name === 'severity' || field.name === 'facility')) return this.codeTerm(field, field.name, t.value);
    return this.keywordTerm(field, t.value);
  }

  private resolveField(name: string, pos: number): FieldRef {
    const b = BUILTINS[name.toLowerCase()];
    if (b !== undefined) return { kind: 'builtin', name: b };
    if (name.startsWith('fields.')) {
      const n = name.slice(7);
      if (n === '' || n.startsWith('.') || n.endsWith('.') || n.includes('..')) this.fail(pos, `"${name}": write fields.NAME (fields.user, fields.rule.id)`);
      return { kind: 'fields', name: n };
    }
    if (name.startsWith('sd.')) {
      const rest = name.slice(3);
      const dot = rest.lastIndexOf('.');
      if (dot <= 0 || dot === rest.length - 1) this.fail(pos, `"${name}": write sd.ID.PARAM (sd.origin.ip, sd.meta@32473.sequenceId)`);
      return { kind: 'sd', id: rest.slice(0, dot), param: rest.slice(dot + 1) };
    }
    const lower = name.toLowerCase();
    const hint = lower === 'sd' || lower.startsWith('sd.') ? 'sd.ID.PARAM'
      : lower === 'fields' || lower === 'field' ? 'fields.NAME'
      : lower.startsWith('field.') ? `fields.${name.slice(6)}`
      : closest(name, KNOWN_FIELDS);
    this.fail(pos, `unknown field "${name}"${hint !== undefined ? `; did you mean "${hint}"?` : ''} (fields: host, app, procid, msgid, facility, severity, source, transport, sd.ID.PARAM, fields.NAME, message; quote text to search for it: "${name}:")`);
  }

  /** Bare words, phrases, prefixes, wildcards and regexes on the message. */
  private textTerm(field: FieldRef, v: TermValue, pos: number): Node {
    if (v.kind === 'range') this.fail(v.pos, 'the message takes no ranges; ranges are for fields such as severity:[err TO warning]');
    if (v.kind === 'regex') return this.regex(field, v.pattern, v.flags, v.pos);
    if (v.kind === 'quoted') {
      const w = words(v.text);
      if (w.length === 0) this.fail(v.pos, 'this phrase has no letters or digits to search for');
      if (v.prefix) return { kind: 'prefix', field, value: w.join(' ') };
      return w.length === 1 ? { kind: 'word', field, value: w[0]! } : { kind: 'phrase', field, value: w.join(' ') };
    }
    if (v.wild.length === 1 && v.wild[0] === 0 && v.text === '*') {
      return field.kind === 'builtin' && field.name === 'message' && pos === v.pos ? { kind: 'all' } : { kind: 'exists', field };
    }
    if (v.wild.length === 0 || (v.wild.length === 1 && v.wild[0] === v.text.length - 1 && v.text.endsWith('*'))) {
      const text = v.wild.length === 0 ? v.text : v.text.slice(0, -1);
      const w = words(text);
      if (w.length === 0) this.fail(v.pos, `"${v.text}" has no letters or digits to search for (quote it inside a phrase with words, or use a regex)`);
      if (v.wild.length === 1) return { kind: 'prefix', field, value: w.join(' ') };
      return w.length === 1 ? { kind: 'word', field, value: w[0]! } : { kind: 'phrase', field, value: w.join(' ') };
    }
    // A wildcard within one word: only word characters besides * and ?.
    let pattern = '';
    for (let k = 0, wi = 0; k < v.text.length;) {
      const cp = v.text.codePointAt(k)!;
      const ch = String.fromCodePoint(cp);
      if (v.wild[wi] === k) {
        pattern += ch;
        wi++;
      } else if (isWordCodePoint(cp)) {
        pattern += ch;
      } else {
        this.fail(v.pos + k, `a wildcard on the message matches within one word, and "${ch}" separates words (use a regex: /…/)`);
      }
      k += ch.length;
    }
    this.scans = true;
    return { kind: 'wildcard', field, pattern: foldPattern(pattern) };
  }

  private regex(field: FieldRef, pattern: string, flags: string, pos: number): Node {
    const problem = checkRegex(pattern, flags);
    if (problem !== null) this.fail(pos + 1 + problem.offset, problem.message);
    this.scans = true;
    return { kind: 'regex', field, pattern, flags };
  }

  /** severity and facility: names or numbers, as codes. */
  private codeTerm(field: FieldRef, name: 'severity' | 'facility', v: TermValue): Node {
    if (v.kind === 'regex') this.fail(v.pos, `${name} takes a name or number, not a regular expression`);
    if (v.kind === 'range') return this.range(field, v);
    if (v.kind === 'bare' && v.text === '*' && v.wild.length === 1) return { kind: 'exists', field };
    if (v.kind === 'bare' && v.wild.length > 0) this.fail(v.pos + v.wild[0]!, `${name} takes a name or number, not a wildcard`);
    return { kind: 'equals', field, value: this.code(name, v) };
  }

  private code(name: 'severity' | 'facility', v: BareValue | QuotedValue): number {
    if (v.kind === 'quoted' && v.prefix) this.fail(v.pos, `${name} takes a name or number, not a prefix`);
    const code = name === 'severity' ? severityCode(v.text) : facilityCode(v.text);
    if (code === undefined) {
      const guess = closest(v.text, name === 'severity' ? SEVERITY_WORDS : FACILITY_WORDS);
      const all = name === 'severity' ? 'emerg, alert, crit, err, warning, notice, info, debug or 0-7' : 'kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security, console, solaris-cron, local0-local7 or 0-23';
      this.fail(v.pos, `unknown ${name} "${v.text}"${guess !== undefined ? `; did you mean "${guess}"?` : ''} (${name}: ${all})`);
    }
    return code;
  }

  private keywordTerm(field: FieldRef, v: TermValue): Node {
    if (v.kind === 'regex') return this.regex(field, v.pattern, v.flags, v.pos);
    if (v.kind === 'range') return this.range(field, v);
    if (v.kind === 'quoted') return { kind: v.prefix ? 'prefix' : 'equals', field, value: v.text.toLowerCase() };
    if (v.wild.length === 0) return { kind: 'equals', field, value: v.text.toLowerCase() };
    if (v.text === '*') return { kind: 'exists', field };
    if (v.wild.length === 1 && v.wild[0] === v.text.length - 1 && v.text.endsWith('*')) {
      return { kind: 'prefix', field, value: v.text.slice(0, -1).toLowerCase() };
    }
    this.scans = true;
    return { kind: 'wildcard', field, pattern: escapedPattern(v).toLowerCase() };
  }

  private compare(field: FieldRef, op: '<' | '<=' | '>' | '>=', v: TermValue, pos: number): Node {
    if (field.kind === 'builtin' && field.name === 'message') this.fail(pos, 'the message takes no comparisons; compare fields such as fields.bytes:>500');
    if (v.kind === 'range' || v.kind === 'regex') this.fail(v.pos, `"${op}" takes one value, not a ${v.kind === 'range' ? 'range' : 'regular expression'}`);
    if (v.kind === 'bare' && v.wild.length > 0) this.fail(v.pos + v.wild[0]!, `"${op}" takes one value, not a wildcard`);
    return { kind: 'compare', field, op, value: this.scalar(field, v) };
  }

  private scalar(field: FieldRef, v: BareValue | QuotedValue): Scalar {
    if (v.kind === 'quoted' && v.prefix) this.fail(v.pos, 'a comparison or range takes a value, not a prefix');
    if (field.kind === 'builtin' && (field.name === 'severity' || field.name === 'facility')) return this.code(field.name, v);
    if (v.kind === 'bare' && NUMBER.test(v.text)) return Number(v.text);
    return v.text.toLowerCase();
  }

  private range(field: FieldRef, v: Extract<TermValue, { kind: 'range' }>): Node {
    if (field.kind === 'builtin' && field.name === 'message') this.fail(v.pos, 'the message takes no ranges');
    const open = (e: RangeEnd) => e.kind === 'bare' && e.text === '*';
    if (open(v.low) && open(v.high)) return { kind: 'exists', field };
    for (const e of [v.low, v.high]) {
      if (e.kind === 'bare' && !open(e) && e.wild.length > 0) this.fail(e.pos + e.wild[0]!, 'a range end is a value or *, not a wildcard');
    }
    if (open(v.low)) return { kind: 'compare', field, op: '<=', value: this.scalar(field, v.high) };
    if (open(v.high)) return { kind: 'compare', field, op: '>=', value: this.scalar(field, v.low) };
    const low = this.scalar(field, v.low);
    const high = this.scalar(field, v.high);
    if (typeof low !== typeof high) this.fail(v.pos, `a range needs two numbers or two names, not ${JSON.stringify(low)} and ${JSON.stringify(high)}`);
    if (low > high) this.fail(v.low.pos, `bad range: the low end ${JSON.stringify(low)} is above the high end ${JSON.stringify(high)}`);
    return { kind: 'range', field, low, high };
  }

  pipes(): Pipe[] {
    const out: Pipe[] = [];
    let aggregated = false;
    let limited = false;
    while (this.peek().kind === '|') {
      const bar = this.take();
      const name = this.peek();
      if (name.kind !== 'pipeword' || name.text === '(' || name.text === ')' || name.text === ',') {
        this.fail(bar.pos, 'empty pipe: expected stats, top or limit after "|"');
      }
      this.take();
      const verb = name.text.toLowerCase();
      if (verb === 'stats' || verb === 'top') {
        if (aggregated) this.fail(name.pos, 'only one stats or top per query');
        if (limited) this.fail(name.pos, `${verb} must come before limit`);
        aggregated = true;
        out.push(verb === 'stats' ? this.stats() : this.top());
      } else if (verb === 'limit') {
        if (limited) this.fail(name.pos, 'limit given twice');
        limited = true;
        out.push({ kind: 'limit', n: this.count('limit', MAX_LIMIT, name.pos, undefined) });
      } else {
        const guess = closest(verb, ['stats', 'top', 'limit']);
        this.fail(name.pos, `unknown pipe "${name.text}"${guess !== undefined ? `; did you mean "${guess}"?` : ''} (pipes: stats count() by (field, …), top N field, limit N)`);
      }
      const after = this.peek();
      if (after.kind !== '|' && after.kind !== 'eof') this.fail(after.pos, `unexpected "${after.kind === 'pipeword' ? after.text : after.kind}" after the ${verb} pipe`);
    }
    return out;
  }

  private word(): Extract<Token, { kind: 'pipeword' }> | null {
    const t = this.peek();
    return t.kind === 'pipeword' ? t : null;
  }

  private expectWord(text: string, what: string): void {
    const t = this.peek();
    if (t.kind !== 'pipeword' || t.text.toLowerCase() !== text) this.fail(t.pos, `expected ${what}`);
    this.take();
  }

  private stats(): Pipe {
    this.expectWord('count', '"count()" after stats (| stats count() by (host))');
    this.expectWord('(', '"count()" after stats (| stats count() by (host))');
    this.expectWord(')', '")" after "count(": count() takes no arguments');
    const by: FieldRef[] = [];
    const t = this.word();
    if (t === null || t.text.toLowerCase() !== 'by') return { kind: 'stats', by };
    this.take();
    const open = this.word();
    if (open !== null && open.text === '(') {
      this.take();
      for (;;) {
        const f = this.word();
        if (f === null || f.text === ')' || f.text === ',' || f.text === '(') this.fail(this.peek().pos, 'expected a field name in "by (…)"');
        this.take();
        by.push(this.pipeField(f));
        const sep = this.word();
        if (sep !== null && sep.text === ',') { this.take(); continue; }
        if (sep !== null && sep.text === ')') { this.take(); break; }
        this.fail(open.pos, 'unbalanced parenthesis: this ( of "by (…)" is never closed');
      }
    } else {
      if (open === null || open.text === ')' || open.text === ',') this.fail(this.peek().pos, 'expected the fields to group by: by (host, app)');
      this.take();
      by.push(this.pipeField(open));
    }
    if (by.length > MAX_STATS_FIELDS) this.fail(t.pos, `stats groups by at most ${MAX_STATS_FIELDS} fields`);
    return { kind: 'stats', by };
  }

  private top(): Pipe {
    const first = this.word();
    if (first === null) this.fail(this.peek().pos, 'expected "top N field" (| top 10 host)');
    let n = 10;
    if (/^-?\d+$/.test(first.text) || /^[+-]?\d/.test(first.text)) n = this.count('top', MAX_TOP, first.pos, first);
    else if (first.text === '(' || first.text === ')' || first.text === ',') this.fail(first.pos, 'expected "top N field" (| top 10 host)');
    const f = this.word();
    if (f === null || f.text === '(' || f.text === ')' || f.text === ',') this.fail(this.peek().pos, 'expected the field after "top N" (| top 10 host)');
    this.take();
    return { kind: 'top', n, field: this.pipeField(f) };
  }

  private count(verb: string, max: number, verbPos: number, already: Extract<Token, { kind: 'pipeword' }> | undefined): number {
    const t = already ?? this.word();
    if (t === null) this.fail(this.peek().kind === 'eof' ? verbPos : this.peek().pos, `expected a number after ${verb} (1 to ${max})`);
    this.take();
    if (!/^\d+$/.test(t.text)) this.fail(t.pos, `${verb} takes a whole number from 1 to ${max}, not "${t.text}"`);
    const n = Number(t.text);
    if (n < 1 || n > max) this.fail(t.pos, `${verb} ${t.text} is out of bounds: 1 to ${max}`);
    return n;
  }

  private pipeField(t: Extract<Token, { kind: 'pipeword' }>): FieldRef {
    if (!/^[A-Za-z][A-Za-z0-9_.@-]*$/.test(t.text)) this.fail(t.pos, `expected a field name, found "${t.text}"`);
    return this.resolveField(t.text, t.pos);
  }
}

/** A bare message term with nothing a word could match (no letters, digits or wildcards). */
function isPunctuationOnly(t: Token): boolean {
  return t.kind === 'term' && t.field === null && t.value.kind === 'bare' && t.value.wild.length === 0 && words(t.value.text).length === 0;
}

function flatten(kind: 'and' | 'or', nodes: Node[]): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    if (n.kind === kind) out.push(...n.nodes);
    else out.push(n);
  }
  return out;
}

/** A bare value's text as a wildcard pattern: * and ? are wildcards, \ escapes. */
function escapedPattern(v: BareValue): string {
  let out = '';
  let wi = 0;
  for (let k = 0; k < v.text.length; k++) {
    const c = v.text[k]!;
    if (v.wild[wi] === k) {
      out += c;
      wi++;
    } else out += c === '*' || c === '?' || c === '\\' ? '\\' + c : c;
  }
  return out;
}

/** A message wildcard folded as words are (it holds only word characters, * and ?). */
function foldPattern(p: string): string {
  let out = '';
  for (const ch of p) out += ch === '*' || ch === '?' ? ch : foldCodePoint(ch.codePointAt(0)!);
  return out;
}
