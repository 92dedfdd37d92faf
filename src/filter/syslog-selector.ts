// syslog.conf selectors ("*.err;kern.debug;mail.none") as per-facility severity sets, and back out as filter expressions.
//
// The two syslogd families read a selector list differently, and the difference is real
// on stock FreeBSD configs:
//   bsd   (FreeBSD/NetBSD/OpenBSD syslogd): each selector *replaces* the level test of the
//         facilities it names, so `*.notice;news.err` keeps only err+ for news.
//   linux (sysklogd, rsyslog's legacy syntax): a positive selector *adds* its levels, a
//         `!` selector removes them and `none` clears, so `*.notice;news.err` keeps notice+.
// Both agree on the common cases (`*.info;mail.none`, `*.err;kern.debug`).

import { facilityCode, facilityName, severityCode, severityName } from '../event/syslog-names.js';

export type Dialect = 'bsd' | 'linux';

export const FACILITY_COUNT = 24;
const ALL_LEVELS = 0xff;

/** Bit s of masks[f] set = facility f at severity s is selected. */
export type Masks = number[];

export interface SelectorResult {
  masks: Masks;
  /** Non-fatal remarks (e.g. the `mark` facility, which sluice never produces). */
  notes: string[];
}

/** One `facilities.level` item, before the dialect decides how it combines. */
interface Item {
  facilities: number[];
  /** Severities the level names (`.err` = err and more severe; `.=err`; `.<err`...). */
  levels: number;
  none: boolean;
  negated: boolean;
}

/**
 * Parses a selector list; throws Error with a readable reason for unknown names.
 * `names` picks whose facility names apply (only "security" differs), so the two ways of
 * combining selectors can be compared on the same facilities.
 */
export function parseSelector(selector: string, dialect: Dialect, names: Dialect = dialect): SelectorResult {
  const notes: string[] = [];
  const masks: Masks = new Array<number>(FACILITY_COUNT).fill(0);
  for (const part of selector.split(';')) {
    if (part.trim() === '') continue;
    const item = parseItem(part.trim(), names, notes);
    for (const f of item.facilities) masks[f] = combine(masks[f]!, item, dialect);
  }
  return { masks, notes };
}

function combine(current: number, item: Item, dialect: Dialect): number {
  if (dialect === 'bsd') {
    if (item.none) return 0;
    return item.negated ? ~item.levels & ALL_LEVELS : item.levels;
  }
  if (item.none) return item.negated ? ALL_LEVELS : 0;
  return item.negated ? current & ~item.levels : current | item.levels;
}

function parseItem(part: string, dialect: Dialect, notes: string[]): Item {
  const dot = part.indexOf('.');
  if (dot < 0) throw new Error(`selector "${part}" has no ".level" (expected facility.level)`);
  const facilities = parseFacilities(part.slice(0, dot), dialect, notes);
  return { facilities, ...parseLevel(part.slice(dot + 1)) };
}

function parseFacilities(list: string, dialect: Dialect, notes: string[]): number[] {
  const out: number[] = [];
  for (const raw of list.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '*') return Array.from({ length: FACILITY_COUNT }, (_, i) => i);
    if (name === 'mark') {
      notes.push('the "mark" facility (syslogd\'s own -- MARK -- lines) has no sluice equivalent and was left out');
      continue;
    }
    const code = facilityNumber(name, dialect);
    if (code === undefined) throw new Error(`unknown facility "${raw.trim()}"`);
    out.push(code);
  }
  return out;
}

function facilityNumber(name: string, dialect: Dialect): number | undefined {
  // syslogd reads a number as the facility already shifted into PRI position (LOG_MAIL = 16).
  if (/^\d+$/.test(name)) return Number(name) < FACILITY_COUNT * 8 ? Number(name) >> 3 : undefined;
  // Linux's "security" is a deprecated spelling of auth; on the BSDs it is its own facility 13.
  if (dialect === 'linux' && name === 'security') return 4;
  return facilityCode(name);
}

const LT = 1;
const EQ = 2;
const GT = 4;

function parseLevel(spec: string): Omit<Item, 'facilities'> {
  let i = 0;
  const negated = spec[i] === '!';
  if (negated) i++;
  let cmp = 0;
  for (; spec[i] === '<' || spec[i] === '=' || spec[i] === '>'; i++) {
    cmp |= spec[i] === '<' ? LT : spec[i] === '=' ? EQ : GT;
  }
  const name = spec.slice(i).trim().toLowerCase();
  if (name === '*') return { levels: ALL_LEVELS, none: false, negated };
  if (name === 'none') return { levels: 0, none: true, negated };
  const level = severityCode(name);
  if (level === undefined) throw new Error(`unknown level "${spec.slice(i).trim()}"`);
  return { levels: levelSet(level, cmp === 0 ? EQ | GT : cmp), none: false, negated };
}

// FreeBSD's comparison words: "greater" means more severe, i.e. a smaller number.
function levelSet(level: number, cmp: number): number {
  let set = 0;
  for (let s = 0; s < 8; s++) {
    if ((cmp & EQ && s === level) || (cmp & GT && s < level) || (cmp & LT && s > level)) set |= 1 << s;
  }
  return set;
}

/** A filter expression selecting exactly the (facility, severity) pairs in masks; null when none. */
export function masksToExpression(masks: Masks): string | null {
  const sets = [...new Set(masks.filter((m) => m !== 0))];
  if (sets.length === 0) return null;
  const candidates = [withoutDefault(masks), ...sets.map((d) => withDefault(masks, d))];
  return candidates.reduce((best, c) => (c.length < best.length ? c : best));
}

/** Severity set of a level() argument, e.g. `debug, notice..emerg`; runs print least severe first. */
export function levelArgs(set: number): string {
  const runs: string[] = [];
  for (let s = 7; s >= 0; s--) {
    if (!(set & (1 << s))) continue;
    let top = s;
    while (top > 0 && set & (1 << (top - 1))) top--;
    runs.push(top === s ? severityName(s) : `${severityName(s)}..${severityName(top)}`);
    s = top;
  }
  return runs.join(', ');
}

function facilityArgs(facilities: number[]): string {
  return facilities.map(facilityName).join(', ');
}

interface Term {
  text: string;
  compound: boolean;
}

function term(facilities: number[], set: number): Term {
  const level = `level(${levelArgs(set)})`;
  if (facilities.length === FACILITY_COUNT) return { text: level, compound: false };
  const facility = `facility(${facilityArgs(facilities)})`;
  if (set === ALL_LEVELS) return { text: facility, compound: false };
  return { text: `${facility} and ${level}`, compound: true };
}

function join(terms: Term[]): string {
  if (terms.length === 1) return terms[0]!.text;
  return terms.map((t) => (t.compound ? `(${t.text})` : t.text)).join(' or ');
}

/** Facilities grouped by identical severity set, in facility order of each group's first member. */
function groups(masks: Masks, include: (f: number) => boolean): Map<number, number[]> {
  const out = new Map<number, number[]>();
  masks.forEach((set, f) => {
    if (set === 0 || !include(f)) return;
    const list = out.get(set);
    if (list) list.push(f);
    else out.set(set, [f]);
  });
  return out;
}

function withoutDefault(masks: Masks): string {
  return join([...groups(masks, () => true)].map(([set, facilities]) => term(facilities, set)));
}

// `*.notice;mail.crit` reads best as "notice+ everywhere but mail, and mail at crit+":
// a level test for the common set, less the facilities that select only part of it.
function withDefault(masks: Masks, common: number): string {
  const excluded = masks.map((set, f) => ((set & common) === common ? -1 : f)).filter((f) => f >= 0);
  const base: Term = excluded.length === 0
    ? { text: `level(${levelArgs(common)})`, compound: false }
    : { text: `level(${levelArgs(common)}) and not facility(${facilityArgs(excluded)})`, compound: true };
  const rest = groups(masks, (f) => masks[f] !== common);
  return join([base, ...[...rest].map(([set, facilities]) => term(facilities, set))]);
}
