// Loads one YAML config: parse, substitute ${env.NAME}, validate every component, check wiring.
//
// Validation does no I/O (Vector's parse → validate → build): files and sockets are opened
// by the daemon afterwards. Every problem names file:line:col and what was expected.

import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { destinationKind, DESTINATIONS, type RegisteredDestinationKind, type OuterConfig } from '../destinations/index.js';
import { SluiceError } from '../errors.js';
import { compileFilter, type Filter } from '../filter/compile.js';
import { sourceKind, SOURCES, type RegisteredSourceKind } from '../sources/index.js';
import { ruleSetKind, RULE_SETS, type RuleSetKind } from '../rules/index.js';
import { transformKind, TRANSFORMS, type TransformKind } from '../transforms/index.js';
import { closest } from './suggest.js';
import { parseListen, type ListenAddress } from './units.js';

export interface ConfigProblem {
  path: (string | number)[];
  message: string;
  line: number;
  col: number;
  /** Set when the problem is in another file (a rule file), not the config. */
  file?: string;
}

export class ConfigError extends SluiceError {
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(problems.some((p) => p.message.startsWith('YAML:')) ? 'SLUICE_ERR_CONFIG_YAML' : 'SLUICE_ERR_CONFIG_INVALID',
      problems.map((p) => `${p.file ?? file}:${p.line}:${p.col}: ${p.message}`).join('\n'));
  }
}

export interface LogPathConfig {
  from: string[];
  filter: Filter | null;
  filterText: string | null;
  to: string[];
  final: boolean;
  fallback: boolean;
  /** Transform names, applied in order. */
  transform: string[];
}

export interface SluiceConfig {
  file: string;
  dataDir: string;
  api: ListenAddress | null;
  /** /metrics and /health open to loopback clients without a token. */
  apiOpenMetrics: boolean;
  sources: Map<string, { kind: RegisteredSourceKind; config: { type: string } }>;
  destinations: Map<string, { kind: RegisteredDestinationKind; config: OuterConfig }>;
  filters: Map<string, Filter>;
  transforms: Map<string, { kind: TransformKind; config: { type: string } }>;
  /** Rule sets: a path feeds one by naming it in `to` and routes its alerts by naming it in `from`. */
  rules: Map<string, { kind: RuleSetKind; config: { type: string }; compiled: unknown }>;
  log: LogPathConfig[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const nameList = z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v));

const topSchema = z.object({
  data_dir: z.string().default('./data').describe('where state lives: disk buffers, dead letters, the store'),
  api: z.union([z.literal(false), z.object({
    listen: z.string().default('http://127.0.0.1:8514'),
    open_metrics: z.boolean().default(true).describe('/metrics and /health answer loopback clients without a token (false: a token always)'),
  }).strict()])
    .prefault({}).describe('HTTP endpoint for /metrics and /health (false to disable)'),
  sources: z.record(z.string(), z.any()).default({}),
  filters: z.record(z.string(), z.string()).default({}),
  destinations: z.record(z.string(), z.any()).default({}),
  transforms: z.record(z.string(), z.any()).default({}),
  rules: z.record(z.string(), z.any()).default({}),
  log: z.array(z.object({
    from: nameList,
    filter: z.string().optional(),
    transform: nameList.optional(),
    to: nameList,
    final: z.boolean().default(false),
    fallback: z.boolean().default(false),
  }).strict()).default([]),
}).strict();

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): SluiceConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_CONFIG_READ', `cannot read config file ${file}: ${(e as Error).message}`, { cause: e });
  }
  return loadConfigText(text, file, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): SluiceConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  const at = (path: (string | number)[], message: string, offset?: number) => {
    const pos = lines.linePos(offset ?? offsetOf(doc, path));
    problems.push({ path, message, line: pos.line, col: pos.col });
  };
  for (const e of doc.errors) {
    // Indentation errors point at the start of the line's indentation; the culprit is after it.
    let offset = e.pos[0];
    while (text[offset] === ' ') offset++;
    const pos = lines.linePos(offset);
    problems.push({ path: [], message: `YAML: ${e.message.split('\n')[0]}`, line: pos.line, col: pos.col });
  }
  if (problems.length) throw new ConfigError(file, problems);
  substituteEnv(doc, env, (offset, msg) => at([], msg, offset));

  const top = topSchema.safeParse(doc.toJS() ?? {});
  if (!top.success) {
    reportZod(doc, [], top.error, at);
    throw new ConfigError(file, problems);
  }
  const raw = top.data;
  const cfg: SluiceConfig = {
    file,
    dataDir: raw.data_dir,
    api: null,
    apiOpenMetrics: raw.api === false ? true : raw.api.open_metrics,
    sources: new Map(),
    destinations: new Map(),
    filters: new Map(),
    transforms: new Map(),
    rules: new Map(),
    log: [],
  };
  if (raw.api !== false) {
    const a = parseListen(raw.api.listen, ['http']);
    if (typeof a === 'string') at(['api', 'listen'], a);
    else cfg.api = a;
  }
  for (const [name, value] of Object.entries(raw.sources)) {
    if (!NAME.test(name)) { at(['sources', name], `source name ${JSON.stringify(name)} must be letters, digits, _ . - (starting with a letter or _)`); continue; }
    const parsed = validateComponent(doc, ['sources', name], value, SOURCES.map((k) => k.type), sourceKind, at);
    if (parsed) cfg.sources.set(name, parsed as { kind: RegisteredSourceKind; config: { type: string } });
  }
  for (const [name, value] of Object.entries(raw.destinations)) {
    if (!NAME.test(name)) { at(['destinations', name], `destination name ${JSON.stringify(name)} must be letters, digits, _ . - (starting with a letter or _)`); continue; }
    const parsed = validateComponent(doc, ['destinations', name], value, DESTINATIONS.map((k) => k.type), destinationKind, at);
    if (parsed) cfg.destinations.set(name, parsed as { kind: RegisteredDestinationKind; config: OuterConfig });
  }
  compileFilters(raw.filters, cfg.filters, at);
  loadAnalysis(doc, raw, cfg, path.dirname(path.resolve(file)), at, problems);
  raw.log.forEach((p, i) => {
    for (const [j, s] of p.from.entries()) {
      if (!cfg.sources.has(s) && !raw.sources[s] && raw.rules[s] === undefined) at(['log', i, 'from', ...(p.from.length > 1 ? [j] : [])], `unknown source ${JSON.stringify(s)}${hint(s, [...Object.keys(raw.sources), ...Object.keys(raw.rules)])}`);
    }
    for (const [j, d] of p.to.entries()) {
      if (!cfg.destinations.has(d) && !raw.destinations[d] && raw.rules[d] === undefined) at(['log', i, 'to', ...(p.to.length > 1 ? [j] : [])], `unknown destination ${JSON.stringify(d)}${hint(d, [...Object.keys(raw.destinations), ...Object.keys(raw.rules)])}`);
    }
    // Alerts never feed a rule set: no path can make a loop.
    if (p.from.some((s) => raw.rules[s] !== undefined) && p.to.some((d) => raw.rules[d] !== undefined)) {
      at(['log', i, 'to'], 'a path from a rule set cannot feed a rule set (alerts would loop); route alerts to destinations');
    }
    for (const [j, t] of (p.transform ?? []).entries()) {
      if (raw.transforms[t] === undefined) at(['log', i, 'transform', ...((p.transform ?? []).length > 1 ? [j] : [])], `unknown transform ${JSON.stringify(t)}${hint(t, Object.keys(raw.transforms))}`);
    }
    let filter: Filter | null = null;
    if (p.filter !== undefined) {
      filter = cfg.filters.get(p.filter) ?? null;
      if (!filter) {
        try {
          filter = compileFilter(p.filter, (n) => cfg.filters.get(n));
        } catch (e) {
          const known = Object.keys(raw.filters);
          const msg = NAME.test(p.filter) && !/[()]/.test(p.filter)
            ? `unknown filter ${JSON.stringify(p.filter)}${hint(p.filter, known)}`
            : (e as Error).message;
          at(['log', i, 'filter'], msg);
        }
      }
    }
    cfg.log.push({ from: p.from, filter, filterText: p.filter ?? null, to: p.to, final: p.final, fallback: p.fallback, transform: p.transform ?? [] });
  });
  checkPortClashes(cfg, at);
  if (problems.length) throw new ConfigError(file, problems);
  return Object.freeze(cfg);
}

function hint(name: string, known: string[]): string {
  const c = closest(name, known);
  return c ? ` (did you mean ${JSON.stringify(c)}?)` : known.length ? ` (defined: ${known.join(', ')})` : ' (none is defined)';
}

type At = (path: (string | number)[], message: string, offset?: number) => void;

function validateComponent<K extends { schema: z.ZodType }>(
  doc: Document, path: string[], value: unknown, types: string[], lookup: (t: string) => K | undefined, at: At,
): { kind: K; config: unknown } | null {
  const kindName = ({ sources: 'source', destinations: 'destination', transforms: 'transform', rules: 'rule set' } as Record<string, string>)[path[0]!] ?? 'component';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    at(path, `expected a mapping with "type" (one of ${types.join(', ')})`);
    return null;
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') {
    at(path, `missing "type": expected one of ${types.join(', ')}`);
    return null;
  }
  const kind = lookup(type);
  if (!kind) {
    at([...path, 'type'], `unknown ${kindName} type ${JSON.stringify(type)}${hint(type, types).replace(' (defined:', ' (known:')}`);
    return null;
  }
  const r = kind.schema.safeParse(value);
  if (!r.success) {
    reportZod(doc, path, r.error, at);
    return null;
  }
  return { kind, config: Object.freeze(r.data) };
}

function reportZod(doc: Document, prefix: (string | number)[], error: z.ZodError, at: At): void {
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      const map = doc.getIn(path, true);
      for (const key of issue.keys) {
        const known = knownKeysAt(doc, path);
        const offset = isMap(map) ? (map.items.find((it) => isScalar(it.key) && it.key.value === key)?.key as Node | undefined)?.range?.[0] : undefined;
        at([...path, key], `unknown key ${JSON.stringify(key)}${known.length ? hint(key, known).replace(' (defined:', ' (expected one of:') : ''}`, offset);
      }
      continue;
    }
    const exists = doc.getIn(path, true) !== undefined;
    const last = path[path.length - 1];
    let message = issue.message;
    if (!exists && last !== undefined) {
      const what = unwrap(schemaAt(doc, path))?.description;
      message = `missing required key ${JSON.stringify(last)}${what ? ` (${what})` : ''}`;
    }
    at(path, message);
  }
}

/** Keys the schema at `path` accepts, for "did you mean" hints on typos. */
function knownKeysAt(doc: Document, path: (string | number)[]): string[] {
  const schema = unwrap(schemaAt(doc, path));
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** The schema that validates the value at `path` (through a component's type), if known. */
function schemaAt(doc: Document, path: (string | number)[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = topSchema;
  let rest = path;
  const [section, name] = path;
  if ((section === 'sources' || section === 'destinations' || section === 'transforms' || section === 'rules') && typeof name === 'string') {
    const type = doc.getIn([section, name, 'type']);
    const lookup = { sources: sourceKind, destinations: destinationKind, transforms: transformKind, rules: ruleSetKind }[section];
    const kind = typeof type === 'string' ? lookup(type) : undefined;
    schema = kind?.schema;
    rest = path.slice(2);
  }
  for (const key of rest) {
    const s = unwrap(schema);
    schema = s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>)[String(key)] : undefined;
  }
  return schema;
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  for (let i = 0; i < 5 && cur; i++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault) cur = cur.unwrap() as z.ZodType;
    else break;
  }
  return cur;
}

function offsetOf(doc: Document, path: (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && node.range) return node.range[0];
  }
  return 0;
}

/** Replaces ${env.NAME} in every string scalar; secrets never need to be in the file. */
function substituteEnv(doc: Document, env: NodeJS.ProcessEnv, problem: (offset: number, msg: string) => void): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${env.')) return;
      node.value = node.value.replace(/\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
        const v = env[name];
        if (v === undefined) {
          problem(node.range?.[0] ?? 0, `environment variable ${name} is not set (referenced as \${env.${name}})`);
          return '';
        }
        return v;
      });
    },
  });
}

function compileFilters(raw: Record<string, string>, out: Map<string, Filter>, at: At): void {
  const compiling = new Set<string>();
  const failed = new Set<string>();
  const get = (name: string): Filter | undefined => {
    if (out.has(name)) return out.get(name);
    if (raw[name] === undefined || failed.has(name)) return undefined;
    if (compiling.has(name)) {
      failed.add(name);
      at(['filters', name], `filter ${JSON.stringify(name)} refers to itself through filter(...)`);
      return undefined;
    }
    compiling.add(name);
    try {
      const f = compileFilter(raw[name]!, get);
      out.set(name, f);
      return f;
    } catch (e) {
      failed.add(name);
      at(['filters', name], `filter ${JSON.stringify(name)}: ${(e as Error).message}`);
      return undefined;
    } finally {
      compiling.delete(name);
    }
  };
  for (const name of Object.keys(raw)) {
    if (!NAME.test(name)) at(['filters', name], `filter name ${JSON.stringify(name)} must be letters, digits, _ . -`);
    else get(name);
  }
}

function checkPortClashes(cfg: SluiceConfig, at: At): void {
  const seen = new Map<string, string>();
  const claim = (proto: string, a: ListenAddress, owner: string, path: (string | number)[]) => {
    const key = a.scheme === 'unix' ? `unix ${a.path}` : `${proto} ${a.port}`;
    if (a.port === 0 && a.scheme !== 'unix') return;
    const prev = seen.get(key);
    // The same port on two different specific addresses is fine; on the same or a wildcard one, not.
    if (prev !== undefined) {
      const [prevHost, prevOwner] = prev.split('\u0000') as [string, string];
      if (a.scheme === 'unix' || prevHost === a.host || isWildcard(prevHost) || isWildcard(a.host)) {
        at(path, `${a.text} clashes with ${prevOwner} (same ${a.scheme === 'unix' ? 'socket path' : `${proto} port`})`);
        return;
      }
    }
    seen.set(key, `${a.host}\u0000${owner}`);
  };
  for (const [name, s] of cfg.sources) {
    s.kind.listens(s.config).forEach((a, i) => claim(a.scheme === 'udp' ? 'udp' : 'tcp', a, `source ${name} (${a.text})`, ['sources', name, 'listen', i]));
  }
  if (cfg.api) claim('tcp', cfg.api, `api (${cfg.api.text})`, ['api', 'listen']);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Transforms and rule sets; rule files are read here so `sluice validate` refuses a bad rule at its file and line. */
function loadAnalysis(doc: Document, raw: z.infer<typeof topSchema>, cfg: SluiceConfig, configDir: string, at: At, problems: ConfigProblem[]): void {
  for (const [name, value] of Object.entries(raw.transforms)) {
    if (!NAME.test(name)) { at(['transforms', name], `transform name ${JSON.stringify(name)} must be letters, digits, _ . - (starting with a letter or _)`); continue; }
    const parsed = validateComponent(doc, ['transforms', name], value, TRANSFORMS.map((k) => k.type), transformKind, at);
    if (parsed) cfg.transforms.set(name, parsed as { kind: TransformKind; config: { type: string } });
  }
  for (const [name, value] of Object.entries(raw.rules)) {
    if (!NAME.test(name)) { at(['rules', name], `rule set name ${JSON.stringify(name)} must be letters, digits, _ . - (starting with a letter or _)`); continue; }
    if (raw.sources[name] !== undefined || raw.destinations[name] !== undefined) { at(['rules', name], `rule set ${JSON.stringify(name)} has the name of a ${raw.sources[name] !== undefined ? 'source' : 'destination'}: log paths could not tell them apart`); continue; }
    const parsed = validateComponent(doc, ['rules', name], value, RULE_SETS.map((k) => k.type), ruleSetKind, at);
    if (!parsed) continue;
    const { compiled, problems: found } = parsed.kind.compile(parsed.config, configDir);
    for (const p of found) {
      if (p.line === 0) at(['rules', name, 'paths'], p.message);
      else problems.push({ path: ['rules', name], message: p.message, line: p.line, col: p.col, file: p.file });
    }
    cfg.rules.set(name, { ...(parsed as { kind: RuleSetKind; config: { type: string } }), compiled });
  }
}
