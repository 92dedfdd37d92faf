// Compiles a filter expression once into a tree of closures that runs per event without allocating.
//
// Regular expressions run on V8's backtracking engine: a pattern such as "(a+)+$" can take
// exponential time on a hostile message. Operators write the patterns, so they are trusted;
// anchored, simple patterns are the ones to use on untrusted traffic.

import { SluiceError } from '../errors.js';
import type { LogEvent } from '../event/log-event.js';
import { syntaxError } from './lexer.js';
import { networkTest } from './netmask.js';
import { parseFilter, type MatchField, type Node } from './parser.js';

export type Filter = (ev: LogEvent) => boolean;

/**
 * Parses once and compiles to a closure tree. `named` resolves filter(NAME) references to
 * other named filters. Throws SluiceError('SLUICE_ERR_FILTER_SYNTAX', msg) where msg names
 * the column and what was expected, e.g. `column 17: expected ")" after facility list, found "and"`.
 */
export function compileFilter(expr: string, named?: (name: string) => Filter | undefined): Filter {
  return compileNode(parseFilter(expr), named);
}

/**
 * Compiles a config's named filters, in whatever order they reference each other.
 * Errors are prefixed with the filter's name; a reference cycle is an error too.
 */
export function compileFilters(defs: Readonly<Record<string, string>>): Map<string, Filter> {
  const done = new Map<string, Filter>();
  const active: string[] = [];
  const build = (name: string): Filter | undefined => {
    const existing = done.get(name);
    if (existing !== undefined) return existing;
    if (!Object.hasOwn(defs, name)) return undefined;
    if (active.includes(name)) {
      const cycle = [...active.slice(active.indexOf(name)), name].join(' -> ');
      throw new SluiceError('SLUICE_ERR_FILTER_SYNTAX', `filter "${name}" refers to itself: ${cycle}`);
    }
    active.push(name);
    try {
      done.set(name, compileFilter(defs[name]!, build));
    } catch (e) {
      if (e instanceof SluiceError && !e.message.startsWith('filter "')) {
        throw new SluiceError(e.code, `filter "${name}": ${e.message}`, { cause: e });
      }
      throw e;
    } finally {
      active.pop();
    }
    return done.get(name);
  };
  for (const name of Object.keys(defs)) build(name);
  return done;
}

function compileNode(node: Node, named: ((name: string) => Filter | undefined) | undefined): Filter {
  if (isPriOnly(node) && leafCount(node) > 1) return compilePriTable(node);
  switch (node.kind) {
    case 'or':
      return node.items.map((n) => compileNode(n, named)).reduceRight((rest, first) => either(first, rest));
    case 'and':
      return node.items.map((n) => compileNode(n, named)).reduceRight((rest, first) => both(first, rest));
    case 'not': {
      const inner = compileNode(node.operand, named);
      return (ev) => !inner(ev);
    }
    case 'facility':
      return facilityTest(node.mask);
    case 'level':
      return severityTest(node.mask);
    case 'match':
      return fieldMatch(node.field, node.re);
    case 'source': {
      const name = node.name;
      return (ev) => ev.source.name === name;
    }
    case 'netmask': {
      const test = networkTest(node.cidrs);
      return (ev) => {
        const a = ev.source.address;
        return a !== null && test(a);
      };
    }
    case 'filter': {
      const target = named?.(node.name);
      if (target === undefined) syntaxError(node.col, `unknown filter "${node.name}" in filter()`);
      return target;
    }
  }
}

function either(a: Filter, b: Filter): Filter {
  return (ev) => a(ev) || b(ev);
}

function both(a: Filter, b: Filter): Filter {
  return (ev) => a(ev) && b(ev);
}

// A null code matches no facility() or level(); codes outside 0..31 would wrap the shift.
function facilityTest(mask: number): Filter {
  return (ev) => {
    const f = ev.facility;
    return f !== null && f >= 0 && f < 32 && ((mask >>> f) & 1) === 1;
  };
}

function severityTest(mask: number): Filter {
  return (ev) => {
    const s = ev.severity;
    return s !== null && s >= 0 && s < 32 && ((mask >>> s) & 1) === 1;
  };
}

function isPriOnly(node: Node): boolean {
  switch (node.kind) {
    case 'facility':
    case 'level':
      return true;
    case 'not':
      return isPriOnly(node.operand);
    case 'and':
    case 'or':
      return node.items.every(isPriOnly);
    default:
      return false;
  }
}

function leafCount(node: Node): number {
  if (node.kind === 'not') return leafCount(node.operand);
  if (node.kind === 'and' || node.kind === 'or') return node.items.reduce((n, item) => n + leafCount(item), 0);
  return 1;
}

function evalPri(node: Node, f: number, s: number): boolean {
  switch (node.kind) {
    case 'facility':
      return ((node.mask >>> f) & 1) === 1;
    case 'level':
      return ((node.mask >>> s) & 1) === 1;
    case 'not':
      return !evalPri(node.operand, f, s);
    case 'and':
      return node.items.every((n) => evalPri(n, f, s));
    case 'or':
      return node.items.some((n) => evalPri(n, f, s));
    default:
      throw new Error(`not a facility/level node: ${node.kind}`);
  }
}

// A syslog.conf import gives expressions of a dozen facility/level tests; any such subtree
// is a function of (facility, severity) alone, so it becomes one lookup: per severity, a
// 32-bit mask of the facilities that pass. Null or odd codes take the closure path, which
// gives them the same meaning as unoptimised code.
function compilePriTable(node: Node): Filter {
  const table = new Uint32Array(8);
  for (let s = 0; s < 8; s++) {
    for (let f = 0; f < 32; f++) if (evalPri(node, f, s)) table[s]! |= 1 << f;
  }
  const slow = compileSlowPri(node);
  return (ev) => {
    const f = ev.facility;
    const s = ev.severity;
    if (f === null || s === null || !(f >= 0 && f < 32 && s >= 0 && s < 8)) return slow(ev);
    return ((table[s]! >>> f) & 1) === 1;
  };
}

function compileSlowPri(node: Node): Filter {
  switch (node.kind) {
    case 'facility':
      return facilityTest(node.mask);
    case 'level':
      return severityTest(node.mask);
    case 'not': {
      const inner = compileSlowPri(node.operand);
      return (ev) => !inner(ev);
    }
    case 'and':
      return node.items.map(compileSlowPri).reduceRight((rest, first) => both(first, rest));
    case 'or':
      return node.items.map(compileSlowPri).reduceRight((rest, first) => either(first, rest));
    default:
      throw new Error(`not a facility/level node: ${node.kind}`);
  }
}

const REGEX_SYNTAX = /[\\^$.|?*+()[\]{}]/;

// A pattern without regex syntax is a substring test; includes() beats the regex engine there.
function fieldMatch(field: MatchField, re: RegExp): Filter {
  const literal = REGEX_SYNTAX.test(re.source) ? null : re.source;
  const test: (v: string) => boolean = literal !== null ? (v) => v.includes(literal) : (v) => re.test(v);
  switch (field) {
    case 'host':
      return (ev) => {
        const v = ev.hostname ?? ev.source.address;
        return v !== null && test(v);
      };
    case 'program':
      return (ev) => {
        const v = ev.appname;
        return v !== null && test(v);
      };
    case 'message':
      return (ev) => {
        const v = ev.message;
        return v !== null && test(v);
      };
    case 'msgid':
      return (ev) => {
        const v = ev.msgid;
        return v !== null && test(v);
      };
  }
}
