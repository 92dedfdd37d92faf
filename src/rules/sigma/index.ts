// The sigma rule set: Sigma rules and correlation rules evaluated natively on the stream.
//
// Rules are compiled once. An event reaches only the rules whose logsource can match it
// (`service` selects by app); each rule's match may feed correlations, whose alerts may feed
// further correlations (chains). Alerts are events (../alert.ts).

import path from 'node:path';
import { z } from 'zod';
import { fieldReader, type FieldReader } from '../../event/field-access.js';
import type { LogEvent } from '../../event/log-event.js';
import { alertSource, eventTime, makeAlert, type RuleInfo } from '../alert.js';
import type { RuleProblem, RuleSet, RuleSetContext, RuleSetKind } from '../types.js';
import { Correlation, type CorrelationSpec, type CorrelationType, type CountCondition } from './correlation.js';
import { expandPaths, readRuleFile, type RuleDoc } from './load.js';
import { compileDetection, type EvalContext, FieldSlots, LocatedError, type Matcher, type Requirement } from './rule.js';

/** Sigma field names that name an event's own values; any other name is fields.NAME. */
export const DEFAULT_FIELD_MAPPING: Record<string, string> = {
  message: 'message', Message: 'message', msg: 'message',
  host: 'hostname', hostname: 'hostname', Hostname: 'hostname', ComputerName: 'hostname', Computer: 'hostname',
  app: 'appname', appname: 'appname', program: 'appname', Application: 'appname',
  pid: 'procid', procid: 'procid', msgid: 'msgid', facility: 'facility', severity: 'severity',
  source: 'source', transport: 'transport',
};

/** logsource service → the apps whose events it means (besides an app named like the service). */
export const DEFAULT_SERVICES: Record<string, string[]> = {
  auth: ['sshd', 'sudo', 'su', 'login', 'passwd', 'useradd', 'userdel', 'usermod', 'groupadd', 'chpasswd', 'systemd-logind', 'polkitd'],
  auditd: ['auditd', 'audit', 'audispd'],
  sshd: ['sshd'],
  sudo: ['sudo'],
  syslog: [],
};

export const sigmaRuleSetSchema = z.object({
  type: z.literal('sigma'),
  paths: z.array(z.string()).min(1).describe('rule files: files, directories or globs such as rules/*.yml (relative to the config file)'),
  field_mapping: z.record(z.string(), z.string()).default({}).describe('Sigma field name → event field (message, host, app, procid, msgid, sd.ID.PARAM, fields.NAME)'),
  services: z.record(z.string(), z.array(z.string())).default({}).describe('logsource service → app names it selects'),
  max_groups: z.number().int().positive().default(100_000).describe('groups a correlation rule tracks at once; the oldest is forgotten beyond it (counted)'),
  max_values: z.number().int().positive().default(10_000).describe('distinct values a value_count group tracks'),
}).strict();
export type SigmaRuleSetConfig = z.infer<typeof sigmaRuleSetSchema>;

const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
const CORRELATION_TYPES: CorrelationType[] = ['event_count', 'value_count', 'temporal', 'temporal_ordered'];

interface DetectionDef { info: RuleInfo; matcher: Matcher; req: Requirement; apps: string[] | null; key: string; doc: RuleDoc }
interface CorrelationDef { spec: CorrelationSpec; generate: boolean; aliases: Record<string, Record<string, string>>; doc: RuleDoc }
interface Compiled { slots: FieldSlots; detections: DetectionDef[]; correlations: CorrelationDef[]; config: SigmaRuleSetConfig }

export function parseTimespan(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+)([smhdwMy])$/.exec(v.trim());
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, M: 2_592_000_000, y: 31_536_000_000 }[m[2] as 's'];
  return Number(m[1]) * unit;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function ruleInfo(d: Record<string, unknown>, type: string): RuleInfo {
  const author = d.author;
  return {
    id: str(d.id), title: String(d.title), level: str(d.level) ?? 'medium', type,
    tags: Array.isArray(d.tags) ? d.tags.map(String) : [],
    author: typeof author === 'string' ? author : Array.isArray(author) ? author.join(', ') : null,
    name: str(d.name), description: str(d.description),
  };
}

/** Compiles rule documents; every problem is reported with its place. Exported for tests. */
export function compileSigma(docs: RuleDoc[], config: SigmaRuleSetConfig, problems: RuleProblem[]): Compiled {
  const slots = new FieldSlots({ ...DEFAULT_FIELD_MAPPING, ...config.field_mapping });
  const services = { ...DEFAULT_SERVICES, ...config.services };
  const detections: DetectionDef[] = [];
  const correlations: CorrelationDef[] = [];
  const problem = (doc: RuleDoc, p: (string | number)[], message: string) => {
    const pos = doc.where(p);
    problems.push({ file: doc.file, line: pos.line, col: pos.col, message });
  };
  const seen = new Map<string, RuleDoc>();
  for (const doc of docs) {
    const d = doc.data;
    if (d.action !== undefined) { problem(doc, ['action'], `rule collections (action: ${String(d.action)}) are not supported: write one complete rule per document`); continue; }
    if (typeof d.title !== 'string' || d.title === '') { problem(doc, ['title'], 'a rule needs a title'); continue; }
    if (d.level !== undefined && !LEVELS.includes(String(d.level))) { problem(doc, ['level'], `level must be one of ${LEVELS.join(', ')}`); continue; }
    for (const k of ['id', 'name'] as const) {
      const v = d[k];
      if (v === undefined) continue;
      if (typeof v !== 'string') { problem(doc, [k], `${k} must be a string`); continue; }
      const prev = seen.get(v);
      if (prev) { problem(doc, [k], `${k} ${JSON.stringify(v)} is used by another rule too (${prev.file})`); continue; }
      seen.set(v, doc);
    }
    if (d.correlation !== undefined) {
      const c = compileCorrelation(doc, d, problem);
      if (c) correlations.push(c);
      continue;
    }
    if (d.detection === undefined) { problem(doc, [], 'a rule needs a detection (or a correlation) section'); continue; }
    let apps: string[] | null = null;
    const ls = d.logsource;
    if (ls !== undefined) {
      if (typeof ls !== 'object' || ls === null || Array.isArray(ls)) { problem(doc, ['logsource'], 'logsource must be a mapping'); continue; }
      const service = (ls as Record<string, unknown>).service;
      if (service !== undefined) {
        if (typeof service !== 'string') { problem(doc, ['logsource', 'service'], 'logsource service must be a string'); continue; }
        apps = [...new Set([service, ...(services[service] ?? [])].map((a) => a.toLowerCase()))];
      }
    }
    try {
      const { m: matcher, req } = compileDetection(d.detection, slots);
      const info = ruleInfo(d, 'sigma');
      detections.push({ info, matcher, req, apps, key: info.id ?? info.name ?? info.title, doc });
    } catch (e) {
      if (e instanceof LocatedError) problem(doc, e.path, e.message);
      else problem(doc, ['detection'], (e as Error).message);
    }
  }
  // References between rules resolve across every file of the set.
  const byRef = new Map<string, { kind: 'detection'; def: DetectionDef } | { kind: 'correlation'; def: CorrelationDef }>();
  for (const def of detections) for (const r of [def.info.id, def.info.name]) if (r) byRef.set(r, { kind: 'detection', def });
  for (const def of correlations) for (const r of [def.spec.info.id, def.spec.info.name]) if (r) byRef.set(r, { kind: 'correlation', def });
  const ok: CorrelationDef[] = [];
  for (const c of correlations) {
    const bad = c.spec.refs.findIndex((r) => !byRef.has(r));
    if (bad >= 0) { problem(c.doc, ['correlation', 'rules', bad], `correlation refers to rule ${JSON.stringify(c.spec.refs[bad])}, which no rule of this rule set has as id or name`); continue; }
    // A chain must end in detection rules.
    const visiting = new Set<CorrelationDef>();
    const cyclic = (x: CorrelationDef): boolean => {
      if (visiting.has(x)) return true;
      visiting.add(x);
      const r = x.spec.refs.some((ref) => { const t = byRef.get(ref)!; return t.kind === 'correlation' && cyclic(t.def); });
      visiting.delete(x);
      return r;
    };
    if (cyclic(c)) { problem(c.doc, ['correlation', 'rules'], 'correlation rules refer to each other in a cycle'); continue; }
    ok.push(c);
  }
  return { slots, detections, correlations: ok, config };
}

function compileCorrelation(doc: RuleDoc, d: Record<string, unknown>, problem: (doc: RuleDoc, p: (string | number)[], m: string) => void): CorrelationDef | null {
  const c = d.correlation;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) { problem(doc, ['correlation'], 'correlation must be a mapping'); return null; }
  const cr = c as Record<string, unknown>;
  const type = cr.type as CorrelationType;
  if (!CORRELATION_TYPES.includes(type)) { problem(doc, ['correlation', 'type'], `correlation type must be one of ${CORRELATION_TYPES.join(', ')}${cr.type !== undefined ? `, not ${JSON.stringify(cr.type)}` : ''}`); return null; }
  const refs = typeof cr.rules === 'string' ? [cr.rules] : cr.rules;
  if (!Array.isArray(refs) || refs.length === 0 || !refs.every((r) => typeof r === 'string')) { problem(doc, ['correlation', 'rules'], 'correlation.rules must list rule ids or names'); return null; }
  if ((type === 'temporal' || type === 'temporal_ordered') && refs.length < 2) { problem(doc, ['correlation', 'rules'], `a ${type} correlation needs two or more rules`); return null; }
  const gb = cr['group-by'] ?? [];
  const groupBy = typeof gb === 'string' ? [gb] : gb;
  if (!Array.isArray(groupBy) || !groupBy.every((g) => typeof g === 'string')) { problem(doc, ['correlation', 'group-by'], 'group-by must list field names'); return null; }
  const spanMs = parseTimespan(cr.timespan);
  if (spanMs === null) { problem(doc, ['correlation', 'timespan'], `timespan must be a number and a unit letter (30s, 5m, 1h, 1d)${cr.timespan !== undefined ? `, not ${JSON.stringify(cr.timespan)}` : ''}`); return null; }
  let condition: CountCondition | null = null;
  let field: string | null = null;
  if (cr.condition !== undefined) {
    if (typeof cr.condition !== 'object' || cr.condition === null || Array.isArray(cr.condition)) { problem(doc, ['correlation', 'condition'], 'condition must be a mapping such as { gte: 10 }'); return null; }
    condition = {};
    for (const [k, v] of Object.entries(cr.condition)) {
      if (k === 'field') { if (typeof v !== 'string') { problem(doc, ['correlation', 'condition', k], 'field must be a field name'); return null; } field = v; continue; }
      if (!['gt', 'gte', 'lt', 'lte', 'eq'].includes(k)) { problem(doc, ['correlation', 'condition', k], `unknown condition ${JSON.stringify(k)}: expected gt, gte, lt, lte or eq`); return null; }
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) { problem(doc, ['correlation', 'condition', k], `${k} takes a whole number`); return null; }
      (condition as Record<string, number>)[k] = v;
    }
    if (Object.keys(condition).length === 0) { problem(doc, ['correlation', 'condition'], 'condition needs gt, gte, lt, lte or eq'); return null; }
  } else if (type === 'event_count' || type === 'value_count') { problem(doc, ['correlation'], `a ${type} correlation needs a condition such as { gte: 10 }`); return null; }
  if (type === 'value_count' && field === null) { problem(doc, ['correlation', 'condition'], 'a value_count correlation needs condition.field (the field whose distinct values count)'); return null; }
  const aliases: Record<string, Record<string, string>> = {};
  if (cr.aliases !== undefined) {
    if (typeof cr.aliases !== 'object' || cr.aliases === null || Array.isArray(cr.aliases)) { problem(doc, ['correlation', 'aliases'], 'aliases must map alias names to { rule name: field }'); return null; }
    for (const [alias, m] of Object.entries(cr.aliases)) {
      if (typeof m !== 'object' || m === null || Array.isArray(m) || !Object.values(m).every((x) => typeof x === 'string')) { problem(doc, ['correlation', 'aliases', alias], 'an alias maps rule names to field names'); return null; }
      aliases[alias] = m as Record<string, string>;
    }
  }
  if (cr.generate !== undefined && typeof cr.generate !== 'boolean') { problem(doc, ['correlation', 'generate'], 'generate must be true or false'); return null; }
  const known = ['type', 'rules', 'group-by', 'timespan', 'condition', 'aliases', 'generate'];
  const unknown = Object.keys(cr).find((k) => !known.includes(k));
  if (unknown) { problem(doc, ['correlation', unknown], `unknown correlation key ${JSON.stringify(unknown)} (expected ${known.join(', ')})`); return null; }
  const info = ruleInfo(d, type);
  return { spec: { info, type, refs: refs as string[], groupBy: groupBy as string[], spanMs, condition, field }, generate: cr.generate === true || d.generate === true, aliases, doc };
}

interface RuntimeRule {
  info: RuleInfo;
  matcher: Matcher;
  req: Requirement;
  /** The event (by context generation) it was last evaluated on. */
  stamp: number;
  standalone: boolean;
  feeds: { corr: Correlation; positions: number[] }[];
  matches: { inc(): void };
  alerts: { inc(): void };
  needsTime: boolean;
}

export class SigmaRuleSet implements RuleSet {
  private readonly ctx: EvalContext;
  private readonly generic: RuntimeRule[] = [];
  private readonly byApp = new Map<string, RuntimeRule[]>();
  private readonly appCache = new Map<string | null, Plan>();
  private readonly plans = new Map<RuntimeRule[], Plan>();
  private gen = 0;
  private readonly correlations: Correlation[] = [];
  private readonly corrAlerts = new Map<Correlation, { inc(): void }>();
  private readonly source;
  private readonly eventsIn;
  readonly ruleCount: number;

  constructor(compiled: Compiled, rc: RuleSetContext) {
    const { slots, detections, correlations, config } = compiled;
    this.source = alertSource(rc.name);
    this.eventsIn = rc.metrics.ruleEventsIn.labels({ component: rc.name });
    const evict = rc.metrics.ruleStateEvictions.labels({ component: rc.name });
    const label = (i: RuleInfo) => i.id ?? i.name ?? i.title;
    const byRef = new Map<string, RuntimeRule | Correlation>();
    const runtime = new Map<DetectionDef, RuntimeRule>();
    for (const def of detections) {
      const r: RuntimeRule = {
        info: def.info, matcher: def.matcher, req: def.req, stamp: -1, standalone: true, feeds: [], needsTime: false,
        matches: rc.metrics.ruleMatches.labels({ component: rc.name, rule: label(def.info) }),
        alerts: rc.metrics.alerts.labels({ component: rc.name, rule: label(def.info) }),
      };
      runtime.set(def, r);
      for (const ref of [def.info.id, def.info.name]) if (ref) byRef.set(ref, r);
      if (def.apps === null) this.generic.push(r);
      else for (const app of def.apps) { const l = this.byApp.get(app) ?? []; l.push(r); this.byApp.set(app, l); }
    }
    const nameOf = (ref: string): string | null => {
      const t = byRef.get(ref);
      return t === undefined ? null : t instanceof Correlation ? t.spec.info.name ?? null : t.info.name ?? null;
    };
    // Correlations in an order where every referenced correlation exists first.
    const pending = [...correlations];
    const refName = new Map<string, string>();
    for (const c of correlations) for (const ref of c.spec.refs) { const n = nameOf(ref); if (n) refName.set(ref, n); }
    while (pending.length) {
      const i = pending.findIndex((c) => c.spec.refs.every((r) => byRef.has(r)));
      const def = pending.splice(i < 0 ? 0 : i, 1)[0]!;
      const readerFor = (ref: string, name: string): FieldReader => {
        const rn = nameOf(ref) ?? ref;
        const aliased = def.aliases[name]?.[rn] ?? def.aliases[name]?.[ref];
        return fieldReader(slots.eventField(aliased ?? name));
      };
      const groupReaders = def.spec.refs.map((ref) => def.spec.groupBy.map((g) => readerFor(ref, g)));
      const valueReaders = def.spec.refs.map((ref) => (def.spec.field ? readerFor(ref, def.spec.field) : null));
      const corr = new Correlation(def.spec, groupReaders, valueReaders, { maxGroups: config.max_groups, maxValues: config.max_values }, rc.name, () => evict.inc());
      this.correlations.push(corr);
      this.corrAlerts.set(corr, rc.metrics.alerts.labels({ component: rc.name, rule: label(def.spec.info) }));
      def.spec.refs.forEach((ref, position) => {
        const target = byRef.get(ref)!;
        if (target instanceof Correlation) {
          const f = target.dependents.find((x) => x.corr === corr);
          if (f) f.position.push(position); else target.dependents.push({ corr, position: [position] });
          if (!def.generate) target.standalone = false;
        } else {
          const f = target.feeds.find((x) => x.corr === corr);
          if (f) f.positions.push(position); else target.feeds.push({ corr, positions: [position] });
          target.needsTime = true;
          if (!def.generate) target.standalone = false;
        }
      });
      for (const ref of [def.spec.info.id, def.spec.info.name]) if (ref) byRef.set(ref, corr);
    }
    // A rule that some correlation names with generate: true still alerts on its own.
    for (const def of correlations) {
      if (!def.generate) continue;
      for (const ref of def.spec.refs) { const t = byRef.get(ref); if (t instanceof Correlation) t.standalone = true; else if (t) t.standalone = true; }
    }
    for (const [app, list] of this.byApp) this.byApp.set(app, [...list, ...this.generic]);
    this.ctx = slots.context();
    this.ruleCount = detections.length + correlations.length;
    void refName;
  }

  private genericPlanCache: Plan | null = null;
  private get genericPlan(): Plan {
    return (this.genericPlanCache ??= makePlan(this.generic));
  }
  /** Plans by the app's received bytes (hash → candidates), so the app name is not decoded per event. */
  private readonly byAppBytes = new Map<number, { bytes: Buffer; plan: Plan }[]>();

  private planOf(ev: LogEvent): Plan {
    if (ev.appStart < 0 || (ev.d !== null && ev.d.appname !== undefined)) return this.planFor(ev.appname);
    const buf = ev.buf, s = ev.appStart, e = ev.appEnd;
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const list = this.byAppBytes.get(h);
    if (list !== undefined) {
      for (const x of list) {
        if (x.bytes.length !== e - s) continue;
        let same = true;
        for (let i = 0; i < x.bytes.length; i++) if (x.bytes[i] !== buf[s + i]) { same = false; break; }
        if (same) return x.plan;
      }
    }
    const plan = this.planFor(ev.appname);
    if (this.byAppBytes.size > 10_000) this.byAppBytes.clear();
    const entry = { bytes: Buffer.from(buf.subarray(s, e)), plan };
    if (list !== undefined) list.push(entry); else this.byAppBytes.set(h, [entry]);
    return plan;
  }

  private planFor(app: string | null): Plan {
    let p = this.appCache.get(app);
    if (p === undefined) {
      const rules = app === null ? this.generic : this.byApp.get(app.toLowerCase()) ?? this.generic;
      p = this.plans.get(rules);
      if (p === undefined) this.plans.set(rules, (p = makePlan(rules)));
      if (this.appCache.size > 10_000) this.appCache.clear();
      this.appCache.set(app, p);
    }
    return p;
  }

  process(events: LogEvent[]): LogEvent[] {
    const out: LogEvent[] = [];
    const ctx = this.ctx;
    this.eventsIn.inc(events.length);
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      ctx.reset(ev);
      const gen = ++this.gen;
      const plan = this.byApp.size === 0 ? this.genericPlan : this.planOf(ev);
      const always = plan.always;
      for (let j = 0; j < always.length; j++) this.evaluate(always[j]!, ev, out);
      // Rules with a requirement run only when a scan of their field found one of its literals.
      for (let k = 0; k < plan.slots.length; k++) {
        const slot = plan.slots[k]!;
        const index = plan.index[k]!;
        const found = ctx.foundIn(slot);
        for (let f = 0; f < found.length; f++) {
          const rs = index.get(found[f]!);
          if (rs === undefined) continue;
          for (let j = 0; j < rs.length; j++) {
            const r = rs[j]!;
            if (r.stamp === gen) continue;
            r.stamp = gen;
            this.evaluate(r, ev, out);
          }
        }
      }
    }
    return out;
  }

  private evaluate(r: RuntimeRule, ev: LogEvent, out: LogEvent[]): void {
    if (!r.matcher(this.ctx)) return;
    r.matches.inc();
    const t = r.needsTime || r.standalone ? eventTime(ev) : NaN;
    if (r.standalone) {
      out.push(makeAlert(this.source, r.info, { group: {}, count: 1, first: t, last: t, event: ev }));
      r.alerts.inc();
    }
    for (const f of r.feeds) this.feed(f.corr, f.positions, ev, t, out);
  }

  private feed(corr: Correlation, positions: number[], ev: LogEvent, t: number, out: LogEvent[]): void {
    const produced: LogEvent[] = [];
    // Later positions first: one event must not complete two steps of an ordered chain.
    for (let k = positions.length - 1; k >= 0; k--) corr.feed(positions[k]!, ev, t, produced);
    this.emit(corr, produced, out);
  }

  private emit(corr: Correlation, produced: LogEvent[], out: LogEvent[]): void {
    for (const a of produced) {
      if (corr.standalone) { out.push(a); this.corrAlerts.get(corr)!.inc(); }
      const last = Date.parse((a.fields as { last: string }).last);
      for (const d of corr.dependents) this.feed(d.corr, d.position, a, last, out);
    }
  }

  /** Decides windows still open (upper-bounded conditions); for shutdown and tests. */
  flush(): LogEvent[] {
    const out: LogEvent[] = [];
    for (const c of this.correlations) {
      const produced: LogEvent[] = [];
      c.flush(produced);
      this.emit(c, produced, out);
    }
    return out;
  }

  /** Groups held by all correlations (for tests of the state bound). */
  get groupCount(): number {
    return this.correlations.reduce((n, c) => n + c.groupCount, 0);
  }
}

export const sigmaRuleSetKind: RuleSetKind = {
  type: 'sigma',
  description: 'Sigma detection and correlation rules, evaluated natively on the stream',
  schema: sigmaRuleSetSchema,
  compile(config, configDir) {
    const c = config as SigmaRuleSetConfig;
    const problems: RuleProblem[] = [];
    const files = expandPaths(c.paths, configDir, problems, path.join(configDir, '(config)'));
    const docs = files.flatMap((f) => readRuleFile(f, problems));
    const compiled = compileSigma(docs, c, problems);
    return { compiled, problems };
  },
  build(compiled, ctx) {
    return new SigmaRuleSet(compiled as Compiled, ctx);
  },
};

/** How one list of rules runs: those without a requirement always, the others by literal found. */
interface Plan { always: RuntimeRule[]; slots: number[]; index: Map<number, RuntimeRule[]>[] }

function makePlan(rules: RuntimeRule[]): Plan {
  const always: RuntimeRule[] = [];
  const bySlot = new Map<number, Map<number, RuntimeRule[]>>();
  for (const r of rules) {
    if (r.req === null) { always.push(r); continue; }
    for (const { slot, id } of r.req) {
      const index = bySlot.get(slot) ?? bySlot.set(slot, new Map()).get(slot)!;
      (index.get(id) ?? index.set(id, []).get(id)!).push(r);
    }
  }
  return { always, slots: [...bySlot.keys()], index: [...bySlot.values()] };
}
