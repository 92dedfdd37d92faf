// Sigma values and modifiers compiled to tests on text, per the Sigma specification v2.
//
// A string value is read as Sigma wildcards (`*`, `?`, `\` escapes) unless `re`; encodings
// (base64, base64offset, utf16*, wide) turn it into the strings to look for; windash makes
// every dash a class of the five dash characters, which equals all the permutations the
// specification names. Matching is case-insensitive unless `cased` or `re`.

import { parseCidr, networkTest } from '../../filter/netmask.js';

export class RuleError extends Error {}

/** A test on the text of a field value (already lower-cased when `lower` is asked for). */
export interface TextTest {
  /** Wants the lower-cased text (case-insensitive literal tests). */
  lower: boolean;
  test(text: string): boolean;
  /** Set when the test is "the lower-cased text contains this": such tests share one scan per field. */
  contains?: string;
  /** Lower-cased ASCII text that any matching value contains (a prefilter: rules are skipped without it). */
  required?: string;
}

/** The longest literal that a match must contain, lower-cased, when it is ASCII and long enough to be selective. */
function requiredOf(lits: string[]): string | undefined {
  let best = '';
  for (const l of lits) if (l.length > best.length) best = l;
  // eslint-disable-next-line no-control-regex
  return best.length >= 3 && /^[\x20-\x7e]+$/.test(best) ? best.toLowerCase() : undefined;
}

/** A literal run every match of a simple regular expression contains (none when it has alternation or is too clever). */
function regexRequired(src: string, ignoreCase: boolean): string | undefined {
  if (src.includes('|') || src.includes('(?')) return undefined;
  void ignoreCase;
  const lits: string[] = [];
  let cur = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n !== undefined && /[^A-Za-z0-9]/.test(n)) { cur += n; i++; continue; }
      lits.push(cur); cur = ''; i++; continue;
    }
    // A quantifier may make the character before it optional: it leaves the literal too.
    if (c === '{') { lits.push(cur.slice(0, -1)); cur = ''; const e = src.indexOf('}', i); if (e < 0) return undefined; i = e; continue; }
    if ('.^$[]()'.includes(c)) { lits.push(cur); cur = ''; if (c === '[') { const e = src.indexOf(']', i + 2); if (e < 0) return undefined; i = e; } continue; }
    if (c === '*' || c === '?' || c === '+') { cur = cur.slice(0, -1); lits.push(cur); cur = ''; continue; }
    cur += c;
  }
  lits.push(cur);
  return requiredOf(lits);
}

type Piece = { lit: string } | { any: true } | { one: true } | { dash: true };

export const MODIFIERS = new Set([
  'contains', 'startswith', 'endswith', 'all', 're', 'i', 'm', 's', 'cidr', 'exists', 'cased', 'neq',
  'lt', 'lte', 'gt', 'gte', 'base64', 'base64offset', 'utf16le', 'utf16be', 'utf16', 'wide', 'windash', 'fieldref',
]);
const DASHES = '-/\u2013\u2014\u2015';

/** Sigma wildcard text to pieces: `*` any run, `?` one char, `\*` `\?` `\\` literals, other `\` kept. */
export function wildcardPieces(value: string, wildcards = true): Piece[] {
  const out: Piece[] = [];
  let lit = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (!wildcards) { lit += c; continue; }
    if (c === '\\') {
      const n = value[i + 1];
      if (n === '*' || n === '?' || n === '\\') { lit += n; i++; continue; }
      lit += c;
      continue;
    }
    if (c === '*' || c === '?') {
      if (lit) out.push({ lit });
      lit = '';
      out.push(c === '*' ? { any: true } : { one: true });
      continue;
    }
    lit += c;
  }
  if (lit) out.push({ lit });
  return out;
}

function windash(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    if (!('lit' in p)) { out.push(p); continue; }
    let lit = '';
    for (const c of p.lit) {
      if (DASHES.includes(c)) { if (lit) out.push({ lit }); lit = ''; out.push({ dash: true }); } else lit += c;
    }
    if (lit) out.push({ lit });
  }
  return out;
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A test for one sequence of pieces under a match mode. */
function piecesTest(pieces: Piece[], mode: 'exact' | 'contains' | 'startswith' | 'endswith', cased: boolean): TextTest {
  const ps = [...pieces];
  if (mode === 'contains' || mode === 'endswith') ps.unshift({ any: true });
  if (mode === 'contains' || mode === 'startswith') ps.push({ any: true });
  // Collapse to the cheap forms: "lit", "*lit", "lit*", "*lit*".
  const inner = ps.filter((p, i) => !(('any' in p) && (i === 0 || i === ps.length - 1)));
  const lead = 'any' in (ps[0] ?? {}) ;
  const trail = ps.length > 1 && 'any' in ps[ps.length - 1]!;
  if (inner.length <= 1 && inner.every((p) => 'lit' in p)) {
    const lit = inner.length ? (inner[0] as { lit: string }).lit : '';
    const needle = cased ? lit : lit.toLowerCase();
    const lower = !cased;
    const required = requiredOf([lit]);
    if (lead && trail) return needle !== '' && !cased ? { lower, test: (t) => t.includes(needle), contains: needle } : { lower, test: (t) => t.includes(needle), required };
    if (lead) return { lower, test: (t) => t.endsWith(needle), required };
    if (trail) return { lower, test: (t) => t.startsWith(needle), required };
    return { lower, test: (t) => t === needle, required };
  }
  let src = '^';
  for (const p of ps) {
    if ('lit' in p) src += reEscape(p.lit);
    else if ('any' in p) src += '.*';
    else if ('one' in p) src += '.';
    else src += `[${DASHES.replace('-', '\\-').replace('/', '\\/')}]`;
  }
  const re = new RegExp(src + '$', cased ? 's' : 'is');
  return { lower: false, test: (t) => re.test(t), required: requiredOf(ps.flatMap((p) => ('lit' in p ? [p.lit] : []))) };
}

/** Bytes of a string under the utf16 modifiers. */
function encodeUtf16(s: string, how: string): Buffer {
  const le = Buffer.from(s, 'utf16le');
  if (how === 'utf16le' || how === 'wide') return le;
  const be = Buffer.from(le);
  be.swap16();
  if (how === 'utf16be') return be;
  return Buffer.concat([Buffer.from([0xff, 0xfe]), le]); // utf16: BOM then little-endian
}

/** The three base64 forms a value takes at byte offsets 0, 1, 2 of a longer text, without the bytes its neighbours change. */
export function base64Offsets(bytes: Buffer): string[] {
  const start = [0, 2, 3];
  const endCut = [0, 3, 2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i, 0x20), bytes]).toString('base64');
    const cut = endCut[(bytes.length + i) % 3]!;
    out.push(enc.slice(start[i], cut ? enc.length - cut : enc.length));
  }
  return out;
}

export interface ValueSpec {
  field: string | null;
  modifiers: string[];
}

export type FieldValue = string | number | boolean | null;

/** What one value of a field condition needs from the event. */
export type ValueTest =
  | { kind: 'text'; test: TextTest }
  | { kind: 'null' }
  | { kind: 'number'; op: 'lt' | 'lte' | 'gt' | 'gte'; n: number }
  | { kind: 'exists'; want: boolean }
  | { kind: 'cidr'; test: (ip: string) => boolean }
  | { kind: 'fieldref'; field: string; mode: 'exact' | 'contains' | 'startswith' | 'endswith'; cased: boolean };

/** Compiles one value under the modifiers; throws RuleError for what the specification or sluice does not allow. */
export function compileValue(value: FieldValue, mods: string[]): ValueTest[] {
  for (const m of mods) if (!MODIFIERS.has(m)) throw new RuleError(`unsupported modifier "${m}"${m === 'expand' ? ' (placeholders need a processing pipeline)' : ''}`);
  const has = (m: string) => mods.includes(m);
  if (has('exists')) {
    if (typeof value !== 'boolean') throw new RuleError('the exists modifier takes true or false');
    return [{ kind: 'exists', want: value }];
  }
  for (const op of ['lt', 'lte', 'gt', 'gte'] as const) {
    if (has(op)) {
      const n = typeof value === 'number' ? value : Number(value);
      if (value === null || typeof value === 'boolean' || !Number.isFinite(n)) throw new RuleError(`the ${op} modifier takes a number, got ${JSON.stringify(value)}`);
      return [{ kind: 'number', op, n }];
    }
  }
  if (value === null) return [{ kind: 'null' }];
  const mode = has('contains') ? 'contains' : has('startswith') ? 'startswith' : has('endswith') ? 'endswith' : 'exact';
  if ([has('contains'), has('startswith'), has('endswith')].filter(Boolean).length > 1) throw new RuleError('contains, startswith and endswith exclude each other');
  if (has('fieldref')) {
    if (typeof value !== 'string') throw new RuleError('the fieldref modifier takes a field name');
    return [{ kind: 'fieldref', field: value, mode, cased: has('cased') }];
  }
  if (has('cidr')) {
    const c = parseCidr(String(value));
    if (c === null) throw new RuleError(`not a CIDR network: ${JSON.stringify(value)}`);
    return [{ kind: 'cidr', test: networkTest([c]) }];
  }
  if (has('re')) {
    if (typeof value !== 'string') throw new RuleError('the re modifier takes a string');
    let flags = 's'.repeat(0);
    if (has('i')) flags += 'i';
    if (has('m')) flags += 'm';
    if (has('s')) flags += 's';
    let re: RegExp;
    try { re = new RegExp(value, flags); } catch (e) { throw new RuleError(`not a regular expression: ${(e as Error).message}`); }
    return [{ kind: 'text', test: { lower: false, test: (t) => re.test(t), required: regexRequired(value, has('i')) } }];
  }
  if (has('i') || has('m') || has('s')) throw new RuleError('the i, m and s modifiers go with re');
  const text = typeof value === 'string' ? value : String(value);
  const encodings = mods.filter((m) => m === 'base64' || m === 'base64offset' || m.startsWith('utf16') || m === 'wide');
  if (encodings.length > 0) {
    if (has('base64offset') && mode !== 'contains') throw new RuleError('base64offset goes with contains (the value is part of a longer encoded text)');
    // Encodings apply in the order written; wildcards have no meaning inside encoded text.
    let bytes: Buffer | null = null;
    let strings: string[] = [text];
    for (const m of mods) {
      if (m.startsWith('utf16') || m === 'wide') { bytes = encodeUtf16(strings[0]!, m); strings = [bytes.toString('latin1')]; }
      else if (m === 'base64') strings = [(bytes ?? Buffer.from(strings[0]!, 'utf8')).toString('base64')];
      else if (m === 'base64offset') strings = base64Offsets(bytes ?? Buffer.from(strings[0]!, 'utf8'));
      if (m === 'base64' || m === 'base64offset') bytes = null;
    }
    // Base64 is case-significant, and so is text built from bytes.
    return strings.map((s) => ({ kind: 'text' as const, test: piecesTest([{ lit: s }], mode, true) }));
  }
  let pieces = wildcardPieces(text, typeof value === 'string');
  if (has('windash')) pieces = windash(pieces);
  return [{ kind: 'text', test: piecesTest(pieces, mode, has('cased')) }];
}
