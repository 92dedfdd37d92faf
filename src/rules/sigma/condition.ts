// Sigma conditions: and/or/not, parentheses, `1 of x*`, `all of them`; precedence not > and > or.

import { RuleError } from './values.js';

export type CondNode =
  | { op: 'id'; name: string }
  | { op: 'not'; a: CondNode }
  | { op: 'and' | 'or'; list: CondNode[] }
  | { op: 'of'; quantifier: 'one' | 'all'; pattern: string };

export function parseCondition(text: string): CondNode {
  if (text.includes('|')) throw new RuleError(`aggregation in a condition ("${text.slice(text.indexOf('|')).trim()}") is not supported: write a correlation rule (event_count, value_count, temporal)`);
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toLowerCase();
  const expect = (what: string): string => {
    const t = tokens[i++];
    if (t === undefined) throw new RuleError(`condition "${text}": expected ${what} at the end`);
    return t;
  };
  const orExpr = (): CondNode => {
    const list = [andExpr()];
    while (peek() === 'or') { i++; list.push(andExpr()); }
    return list.length === 1 ? list[0]! : { op: 'or', list };
  };
  const andExpr = (): CondNode => {
    const list = [notExpr()];
    while (peek() === 'and') { i++; list.push(notExpr()); }
    return list.length === 1 ? list[0]! : { op: 'and', list };
  };
  const notExpr = (): CondNode => {
    if (peek() === 'not') { i++; return { op: 'not', a: notExpr() }; }
    return atom();
  };
  const atom = (): CondNode => {
    const t = expect('a search identifier, "(", "not", "1 of" or "all of"');
    const lt = t.toLowerCase();
    if (t === '(') {
      const n = orExpr();
      if (expect('")"') !== ')') throw new RuleError(`condition "${text}": expected ")"`);
      return n;
    }
    if (lt === '1' || lt === 'all' || lt === 'any') {
      if (peek() !== 'of') throw new RuleError(`condition "${text}": expected "of" after "${t}"`);
      i++;
      const pattern = expect('a search identifier pattern or "them"');
      return { op: 'of', quantifier: lt === 'all' ? 'all' : 'one', pattern };
    }
    if (/^\d+$/.test(lt) && peek() === 'of') throw new RuleError(`condition "${text}": "${t} of" is not in the Sigma specification (only "1 of" and "all of")`);
    if (t === ')' || lt === 'and' || lt === 'or' || lt === 'of') throw new RuleError(`condition "${text}": unexpected "${t}"`);
    if (!/^[A-Za-z0-9_*?.-]+$/.test(t)) throw new RuleError(`condition "${text}": "${t}" is not a search identifier`);
    return { op: 'id', name: t };
  };
  const n = orExpr();
  if (i < tokens.length) throw new RuleError(`condition "${text}": unexpected "${tokens[i]}"`);
  return n;
}

/** Names a condition refers to, with `x*` patterns and `them` resolved against the detection's names. */
export function resolveOf(pattern: string, names: string[]): string[] {
  if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return names.filter((n) => re.test(n));
}
