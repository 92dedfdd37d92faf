// Recursive-descent parser of filter expressions into an AST (precedence: not > and > or).

import { facilityCode, severityCode } from '../event/syslog-names.js';
import { describeToken, syntaxError, tokenize, type Token } from './lexer.js';
import { parseCidr, type Cidr } from './netmask.js';

export type MatchField = 'host' | 'program' | 'message' | 'msgid';

export type Node =
  | { readonly kind: 'or' | 'and'; readonly items: readonly Node[] }
  | { readonly kind: 'not'; readonly operand: Node }
  /** Bit n set = facility n matches. */
  | { readonly kind: 'facility'; readonly mask: number }
  /** Bit n set = severity n matches. */
  | { readonly kind: 'level'; readonly mask: number }
  | { readonly kind: 'match'; readonly field: MatchField; readonly re: RegExp }
  | { readonly kind: 'source'; readonly name: string }
  | { readonly kind: 'netmask'; readonly cidrs: readonly Cidr[] }
  | { readonly kind: 'filter'; readonly name: string; readonly col: number };

export const FUNCTIONS = [
  'facility', 'level', 'priority', 'host', 'program', 'message', 'msgid', 'source', 'netmask', 'netmask6', 'filter',
] as const;

export function parseFilter(src: string): Node {
  const p = new Parser(tokenize(src));
  const node = p.expression();
  p.expectEnd();
  return node;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text.toLowerCase() === word;
  }

  private expect(kind: Token['kind'], what: string): Token {
    const t = this.next();
    if (t.kind !== kind) syntaxError(t.col, `expected ${what}, found ${describeToken(t)}`);
    return t;
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== 'eof') syntaxError(t.col, `expected "and", "or" or end of expression, found ${describeToken(t)}`);
  }

  expression(): Node {
    const items = [this.conjunction()];
    while (this.isKeyword('or')) {
      this.next();
      items.push(this.conjunction());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private conjunction(): Node {
    const items = [this.negation()];
    while (this.isKeyword('and')) {
      this.next();
      items.push(this.negation());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  private negation(): Node {
    if (this.isKeyword('not')) {
      this.next();
      return { kind: 'not', operand: this.negation() };
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.next();
    if (t.kind === '(') {
      const inner = this.expression();
      this.expect(')', '")" to close the "(" at column ' + t.col);
      return inner;
    }
    if (t.kind !== 'word') syntaxError(t.col, `expected a filter function or "(", found ${describeToken(t)}`);
    const name = t.text.toLowerCase();
    if (!(FUNCTIONS as readonly string[]).includes(name)) {
      syntaxError(t.col, `unknown filter function "${t.text}", expected one of ${FUNCTIONS.join(', ')}`);
    }
    this.expect('(', `"(" after ${name}`);
    return this.call(name as (typeof FUNCTIONS)[number]);
  }

  private call(name: (typeof FUNCTIONS)[number]): Node {
    switch (name) {
      case 'facility':
        return { kind: 'facility', mask: this.facilityList() };
      case 'level':
      case 'priority':
        return { kind: 'level', mask: this.levelList(name) };
      case 'host':
      case 'program':
      case 'message':
      case 'msgid':
        return { kind: 'match', field: name, re: this.regex(name) };
      case 'source':
        return { kind: 'source', name: this.single(name).text };
      case 'filter': {
        const arg = this.single(name);
        return { kind: 'filter', name: arg.text, col: arg.col };
      }
      case 'netmask':
      case 'netmask6':
        return { kind: 'netmask', cidrs: this.networkList(name) };
    }
  }

  private argument(what: string): Token {
    const t = this.next();
    if (t.kind !== 'word' && t.kind !== 'string') syntaxError(t.col, `expected ${what}, found ${describeToken(t)}`);
    return t;
  }

  /** Comma-separated arguments up to the closing ")", each read by `item`. */
  private list(fn: string, what: string, item: () => void): void {
    for (;;) {
      item();
      const t = this.next();
      if (t.kind === ')') return;
      if (t.kind !== ',') syntaxError(t.col, `expected "," or ")" after ${fn} list, found ${describeToken(t)}`);
      if (this.peek().kind === ')') syntaxError(this.peek().col, `expected ${what} after ",", found ")"`);
    }
  }

  private facilityList(): number {
    let mask = 0;
    this.list('facility', 'a facility name', () => {
      const t = this.argument('a facility name or number');
      const code = facilityCode(t.text);
      if (code === undefined) syntaxError(t.col, `unknown facility ${describeToken(t)}`);
      mask |= 1 << code;
    });
    return mask;
  }

  private levelList(fn: string): number {
    let mask = 0;
    this.list(fn, 'a severity name', () => {
      const from = this.severity();
      let to = from;
      if (this.peek().kind === '..') {
        this.next();
        to = this.severity();
      }
      // Ranges may be written in either order: info..emerg and emerg..info are one set.
      for (let s = Math.min(from, to); s <= Math.max(from, to); s++) mask |= 1 << s;
    });
    return mask;
  }

  private severity(): number {
    const t = this.argument('a severity name or number');
    const code = severityCode(t.text);
    if (code === undefined) syntaxError(t.col, `unknown severity ${describeToken(t)}, expected one of emerg, alert, crit, err, warning, notice, info, debug`);
    return code;
  }

  private single(fn: string): Token {
    const arg = this.argument(`a name in ${fn}()`);
    this.expect(')', `")" after the argument of ${fn}`);
    return arg;
  }

  private regex(fn: string): RegExp {
    const arg = this.argument(`a regular expression in ${fn}()`);
    let re: RegExp;
    try {
      re = new RegExp(arg.text);
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e);
      return syntaxError(arg.col, `invalid regular expression ${describeToken(arg)} in ${fn}(): ${why}`);
    }
    this.expect(')', `")" after the regular expression of ${fn}`);
    return re;
  }

  private networkList(fn: string): Cidr[] {
    const cidrs: Cidr[] = [];
    this.list(fn, 'a network', () => {
      const t = this.argument('a network such as 10.0.0.0/8 or 2001:db8::/32');
      const cidr = parseCidr(t.text);
      if (cidr === null) syntaxError(t.col, `invalid network ${describeToken(t)}, expected ADDRESS/PREFIX such as 10.0.0.0/8 or 2001:db8::/32`);
      cidrs.push(cidr);
    });
    return cidrs;
  }
}
