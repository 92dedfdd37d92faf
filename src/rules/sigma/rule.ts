// One Sigma detection rule compiled once into a closure over an event.

import type { LogEvent } from '../../event/log-event.js';
import { fieldReader, valueText, type FieldReader } from '../../event/field-access.js';
import { parseCondition, resolveOf, type CondNode } from './condition.js';
import { LiteralScanner } from './literals.js';
import { compileValue, RuleError, type FieldValue, type ValueTest } from './values.js';

/** Per-event memo of lower-cased field texts, so 100 rules lower-case the message once. */
export class EvalContext {
  ev!: LogEvent;
  private gen = 0;
  private readonly stamps: number[] = [];
  private readonly lowered: string[] = [];
  private readonly texts: (string | null)[] = [];
  private readonly textStamps: number[] = [];

  private readonly found: Uint32Array;
  private readonly scanned: number[] = [];

  constructor(readonly readers: FieldReader[], private readonly scanners: (LiteralScanner | undefined)[] = [], literalCount = 0, private readonly rawMessage: RawField[] = []) {
    this.found = new Uint32Array(literalCount);
  }

  private readonly lists: number[][] = [];

  /** Whether literal `id` is in the lower-cased text of field `slot` (one scan per field and event). */
  has(slot: number, id: number): boolean {
    if (this.scanned[slot] !== this.gen) this.scanSlot(slot);
    return this.found[id] === this.gen;
  }

  /** The literals of field `slot` present in this event. */
  foundIn(slot: number): number[] {
    if (this.scanned[slot] !== this.gen) this.scanSlot(slot);
    return this.lists[slot]!;
  }

  private scanSlot(slot: number): void {
    this.scanned[slot] = this.gen;
    const list = (this.lists[slot] ??= []);
    list.length = 0;
    const sc = this.scanners[slot]!;
    // A received message is scanned as bytes: most events hold no literal and are never decoded.
    const raw = this.rawMessage[slot];
    if (raw !== undefined && raw !== null && !sc.needsLower) {
      const ev = this.ev;
      if (raw === 'message') {
        if (ev.asReceived('message')) { sc.scanBytes(ev.buf, ev.msgStart, ev.end, this.found, this.gen, list); return; }
      } else if (raw === 'hostname') {
        if (ev.asReceived('hostname')) { sc.scanBytes(ev.buf, ev.hostStart, ev.hostEnd, this.found, this.gen, list); return; }
      } else if (ev.asReceived('appname')) { sc.scanBytes(ev.buf, ev.appStart, ev.appEnd, this.found, this.gen, list); return; }
    }
    const t = this.text(slot);
    if (t !== null) sc.scan(t, this.found, this.gen, list, sc.needsLower ? this.lower(slot) : null);
  }

  reset(ev: LogEvent): void { this.ev = ev; this.gen++; }

  /** The field's text, or null when absent (slot = index of its reader). */
  text(slot: number): string | null {
    if (this.textStamps[slot] === this.gen) return this.texts[slot]!;
    const v = this.readers[slot]!(this.ev);
    const t = v === null || v === undefined ? null : valueText(v);
    this.texts[slot] = t;
    this.textStamps[slot] = this.gen;
    return t;
  }

  lower(slot: number): string | null {
    if (this.stamps[slot] === this.gen) return this.lowered[slot]!;
    const t = this.text(slot);
    const l = t === null ? null : t.toLowerCase();
    this.lowered[slot] = l as string;
    this.stamps[slot] = this.gen;
    return l;
  }
}

/** Sigma field names to event field names; a name not listed is fields.NAME. */
export class FieldSlots {
  readonly readers: FieldReader[] = [];
  /** Per slot: the header field it reads, which a scan may read as received bytes. */
  readonly rawMessage: RawField[] = [];
  private readonly bySigmaName = new Map<string, number>();
  readonly scanners: (LiteralScanner | undefined)[] = [];
  private readonly literalIds = new Map<string, number>();
  literalCount = 0;

  /** An id for "field `slot` contains `text`" (lower-cased); equal literals share one. */
  literal(slot: number, text: string): number {
    const key = slot + '\u0000' + text;
    let id = this.literalIds.get(key);
    if (id === undefined) {
      id = this.literalCount++;
      this.literalIds.set(key, id);
      (this.scanners[slot] ??= new LiteralScanner()).add(text, id);
    }
    return id;
  }

  context(): EvalContext {
    return new EvalContext(this.readers, this.scanners, this.literalCount, this.rawMessage);
  }

  constructor(private readonly mapping: Record<string, string>) {}

  eventField(sigmaName: string): string {
    return this.mapping[sigmaName] ?? `fields.${sigmaName}`;
  }

  slot(sigmaName: string): number {
    let s = this.bySigmaName.get(sigmaName);
    if (s === undefined) {
      s = this.readers.length;
      this.readers.push(fieldReader(this.eventField(sigmaName)));
      const f = this.eventField(sigmaName);
      this.rawMessage.push(f === 'message' || f === 'msg' ? 'message' : f === 'hostname' || f === 'host' ? 'hostname' : f === 'appname' || f === 'app' || f === 'program' ? 'appname' : null);
      this.bySigmaName.set(sigmaName, s);
    }
    return s;
  }
}

export type Matcher = (ctx: EvalContext) => boolean;
type RawField = 'message' | 'hostname' | 'appname' | null;

/**
 * What a match needs: at least one of these literals in field `slot` (null: no such guarantee).
 * Rules with one are only evaluated on events where a scan found one of their literals.
 */
export type Requirement = { slot: number; id: number; len: number }[] | null;
/** A matcher and its requirement. */
export interface Compiled { m: Matcher; req: Requirement }

function reqAny(rs: Requirement[]): Requirement {
  if (rs.length === 0 || rs.some((r) => r === null)) return null;
  const seen = new Set<string>();
  return rs.flatMap((r) => r!).filter((x) => { const k = `${x.slot}:${x.id}`; if (seen.has(k)) return false; seen.add(k); return true; });
}
/** Of the parts an AND needs, the most selective: the longest shortest literal (few events hold it), then the fewest. */
function reqAll(rs: Requirement[]): Requirement {
  let best: Requirement = null;
  let bestLen = -1;
  for (const r of rs) {
    if (r === null) continue;
    const len = Math.min(...r.map((x) => x.len));
    if (len > bestLen || (len === bestLen && r.length < best!.length)) { best = r; bestLen = len; }
  }
  return best;
}
function cAny(cs: Compiled[]): Compiled { return { m: anyOf(cs.map((c) => c.m)), req: reqAny(cs.map((c) => c.req)) }; }
function cAll(cs: Compiled[]): Compiled { return { m: allOf(cs.map((c) => c.m)), req: reqAll(cs.map((c) => c.req)) }; }

/** Where in the rule's YAML a problem is, as a path of keys. */
export class LocatedError extends RuleError {
  constructor(readonly path: (string | number)[], message: string) { super(message); }
}

function valueMatcher(slot: number, t: ValueTest, slots: FieldSlots): Compiled {
  const m = valueTest(slot, t, slots);
  const lit = t.kind === 'text' ? t.test.contains ?? t.test.required : undefined;
  return { m, req: lit !== undefined ? [{ slot, id: slots.literal(slot, lit), len: lit.length }] : null };
}

function valueTest(slot: number, t: ValueTest, slots: FieldSlots): Matcher {
  switch (t.kind) {
    case 'text': {
      const test = t.test;
      if (test.contains !== undefined) {
        const id = slots.literal(slot, test.contains);
        return (c) => c.has(slot, id);
      }
      return test.lower
        ? (c) => { const v = c.lower(slot); return v !== null && test.test(v); }
        : (c) => { const v = c.text(slot); return v !== null && test.test(v); };
    }
    case 'null': return (c) => { const v = c.text(slot); return v === null || v === ''; };
    case 'exists': return t.want ? (c) => c.text(slot) !== null : (c) => c.text(slot) === null;
    case 'cidr': return (c) => { const v = c.text(slot); return v !== null && t.test(v); };
    case 'number': {
      const n = t.n;
      const cmp = t.op === 'lt' ? (x: number) => x < n : t.op === 'lte' ? (x: number) => x <= n : t.op === 'gt' ? (x: number) => x > n : (x: number) => x >= n;
      return (c) => { const v = c.text(slot); if (v === null || v === '') return false; const x = Number(v); return Number.isFinite(x) && cmp(x); };
    }
    case 'fieldref': {
      const other = slots.slot(t.field);
      const mode = t.mode;
      return (c) => {
        const a = t.cased ? c.text(slot) : c.lower(slot);
        const b = t.cased ? c.text(other) : c.lower(other);
        if (a === null || b === null) return false;
        return mode === 'exact' ? a === b : mode === 'contains' ? a.includes(b) : mode === 'startswith' ? a.startsWith(b) : a.endsWith(b);
      };
    }
  }
}

function anyOf(ms: Matcher[]): Matcher {
  if (ms.length === 1) return ms[0]!;
  return (c) => { for (let i = 0; i < ms.length; i++) if (ms[i]!(c)) return true; return false; };
}
function allOf(ms: Matcher[]): Matcher {
  if (ms.length === 1) return ms[0]!;
  return (c) => { for (let i = 0; i < ms.length; i++) if (!ms[i]!(c)) return false; return true; };
}

const isScalar = (v: unknown): v is FieldValue => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** One `field|mod|mod: value(s)` entry; `field` null = keywords (the message). */
function fieldMatcher(key: string, raw: unknown, slots: FieldSlots, path: (string | number)[], keywordField: string): Compiled {
  const [name, ...mods] = key.split('|');
  const field = name === '' ? keywordField : name!;
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) throw new LocatedError(path, 'an empty list of values matches nothing');
  values.forEach((v, i) => { if (!isScalar(v)) throw new LocatedError(Array.isArray(raw) ? [...path, i] : path, `a value must be a string, number, boolean or null, not ${Array.isArray(v) ? 'a list' : 'a mapping'}`); });
  const all = mods.includes('all');
  if (all && values.length < 2) throw new LocatedError(path, 'the all modifier needs a list of two or more values');
  const neq = mods.includes('neq');
  const rest = mods.filter((m) => m !== 'all' && m !== 'neq');
  // Keywords are substrings of the message (DESIGN): contains is implied.
  if (name === '' && !rest.some((m) => m === 'contains' || m === 'startswith' || m === 'endswith' || m === 're')) rest.push('contains');
  const slot = slots.slot(field);
  const ms: Compiled[] = [];
  values.forEach((v, i) => {
    let tests: ValueTest[];
    try { tests = compileValue(v as FieldValue, rest); } catch (e) {
      if (e instanceof LocatedError) throw e;
      throw new LocatedError(Array.isArray(raw) ? [...path, i] : path, (e as Error).message);
    }
    ms.push(cAny(tests.map((t) => valueMatcher(slot, t, slots))));
  });
  const c = all ? cAll(ms) : cAny(ms);
  if (!neq) return c;
  const m = c.m;
  return { m: (x) => !m(x), req: null };
}

/** A search identifier: a map (AND), a list of maps (OR) or a list of keywords (OR). */
function searchMatcher(name: string, def: unknown, slots: FieldSlots, path: (string | number)[], keywordField: string): Compiled {
  if (Array.isArray(def)) {
    if (def.length === 0) throw new LocatedError(path, `search identifier "${name}" is an empty list`);
    if (def.every(isScalar)) return fieldMatcher('', def, slots, path, keywordField);
    return cAny(def.map((d, i) => {
      if (isScalar(d)) return fieldMatcher('', d, slots, [...path, i], keywordField);
      if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new LocatedError([...path, i], 'expected a mapping of fields or a keyword');
      return mapMatcher(d as Record<string, unknown>, slots, [...path, i], keywordField);
    }));
  }
  if (isScalar(def)) return fieldMatcher('', def, slots, path, keywordField);
  if (typeof def === 'object' && def !== null) return mapMatcher(def as Record<string, unknown>, slots, path, keywordField);
  throw new LocatedError(path, `search identifier "${name}" must be a mapping or a list`);
}

function mapMatcher(map: Record<string, unknown>, slots: FieldSlots, path: (string | number)[], keywordField: string): Compiled {
  const keys = Object.keys(map);
  if (keys.length === 0) throw new LocatedError(path, 'an empty mapping matches everything; write the fields it should test');
  return cAll(keys.map((k) => fieldMatcher(k, map[k], slots, [...path, k], keywordField)));
}

function conditionMatcher(node: CondNode, searches: Map<string, Compiled>, path: (string | number)[]): Compiled {
  switch (node.op) {
    case 'id': {
      const m = searches.get(node.name);
      if (!m) throw new LocatedError(path, `the condition names "${node.name}", which the detection does not define (defined: ${[...searches.keys()].join(', ')})`);
      return m;
    }
    case 'not': { const a = conditionMatcher(node.a, searches, path).m; return { m: (c) => !a(c), req: null }; }
    case 'and': return cAll(node.list.map((n) => conditionMatcher(n, searches, path)));
    case 'or': return cAny(node.list.map((n) => conditionMatcher(n, searches, path)));
    case 'of': {
      const names = resolveOf(node.pattern, [...searches.keys()]);
      if (names.length === 0) throw new LocatedError(path, `"${node.quantifier === 'all' ? 'all' : '1'} of ${node.pattern}" matches no search identifier`);
      const ms = names.map((n) => searches.get(n)!);
      return node.quantifier === 'all' ? cAll(ms) : cAny(ms);
    }
  }
}

/** Compiles a rule's `detection` section; throws LocatedError (path inside the document). */
export function compileDetection(detection: unknown, slots: FieldSlots, keywordField = 'message'): Compiled {
  if (typeof detection !== 'object' || detection === null || Array.isArray(detection)) throw new LocatedError(['detection'], 'detection must be a mapping of search identifiers and a condition');
  const det = detection as Record<string, unknown>;
  const searches = new Map<string, Compiled>();
  for (const [name, def] of Object.entries(det)) {
    if (name === 'condition') continue;
    if (name === 'timeframe') throw new LocatedError(['detection', name], 'detection.timeframe (Sigma 1 aggregation) is not supported: write a correlation rule with timespan');
    searches.set(name, searchMatcher(name, def, slots, ['detection', name], keywordField));
  }
  const cond = det.condition;
  if (cond === undefined) throw new LocatedError(['detection'], 'detection has no condition');
  const conds = Array.isArray(cond) ? cond : [cond];
  if (conds.length === 0 || !conds.every((c) => typeof c === 'string')) throw new LocatedError(['detection', 'condition'], 'the condition must be a string or a list of strings');
  const ms = conds.map((c, i) => {
    const p = Array.isArray(cond) ? ['detection', 'condition', i] : ['detection', 'condition'];
    try { return conditionMatcher(parseCondition(c as string), searches, p); } catch (e) {
      if (e instanceof LocatedError) throw e;
      throw new LocatedError(p, (e as Error).message);
    }
  });
  // A list of conditions matches when any of them does.
  return cAny(ms);
}
