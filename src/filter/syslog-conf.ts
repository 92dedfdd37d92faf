// Translates a classic syslog.conf into an equivalent sluice YAML config, with warnings for what cannot be carried over.

import { hostname } from 'node:os';
import { posix } from 'node:path';
import YAML from 'yaml';
import { detectDialect } from './syslog-dialect.js';
import { masksToExpression, parseSelector, type Dialect, type Masks } from './syslog-selector.js';

export type { Dialect } from './syslog-selector.js';

export interface ImportOptions {
  /**
   * How `;`-joined selectors combine: 'bsd' (later ones replace), 'linux' (they add up), or
   * 'auto' (the default: from the file's markers, see syslog-dialect.ts).
   */
  dialect?: Dialect | 'auto';
}

export interface ImportResult {
  yaml: string;
  warnings: string[];
  /** The reading used, and why (`marker` null: asked for, or nothing in the file decided). */
  dialect: Dialect;
  marker: string | null;
}

export function importSyslogConf(text: string, fileName: string, options: ImportOptions = {}): ImportResult {
  const asked = options.dialect ?? 'auto';
  const guess = asked === 'auto' ? detectDialect(text) : { dialect: asked, marker: null };
  const importer = new Importer(fileName, guess.dialect);
  if (asked === 'auto' && guess.marker === null) {
    importer.warnings.push(`${fileName}: no marker of either syslogd family; read as Linux (sysklogd/rsyslog: selectors add up). Pass --dialect bsd for a BSD syslogd's file`);
  }
  for (const line of logicalLines(text, guess.dialect)) importer.line(line);
  return { yaml: importer.render(), warnings: importer.warnings, dialect: guess.dialect, marker: guess.marker };
}

interface Line {
  /** 1-based number of the line's first physical line. */
  no: number;
  text: string;
}

/**
 * Comment-free lines with `\` continuations joined. As in sysklogd, a continuation's
 * leading blanks are dropped. For BSD, `#!prog` / `#+host` / `#-host` are blocks, not
 * comments (FreeBSD's compatibility spelling); a name must follow, so `#----` stays a comment.
 */
export function logicalLines(text: string, dialect: Dialect = 'bsd'): Line[] {
  const out: Line[] = [];
  let pending: Line | null = null;
  const raws = text.split(/\r?\n/);
  for (let i = 0; i < raws.length; i++) {
    let t = raws[i]!.trim();
    // Blank and comment lines are skipped without ending a continuation, as sysklogd does.
    if (t === '' || (t[0] === '#' && !(dialect === 'bsd' && /^#[!+-]\s*[\w*@.]/.test(t)))) continue;
    if (t[0] === '#') t = t.slice(1);
    const continues = t.endsWith('\\');
    const body = continues ? t.slice(0, -1) : t;
    const cur: Line = pending ? { no: pending.no, text: pending.text + body } : { no: i + 1, text: body };
    if (continues) {
      pending = cur;
    } else {
      out.push(cur);
      pending = null;
    }
  }
  if (pending) out.push(pending);
  return out;
}

type Action =
  | { kind: 'file'; path: string; fsync: boolean; note?: string }
  | { kind: 'forward'; url: string; host: string; note?: string }
  | { kind: 'unsupported'; why: string };

/** What a line's action field asks for; everything sluice has no destination for is `unsupported`. */
export function parseAction(action: string): Action {
  const c = action[0];
  if (c === '/' || (c === '-' && action[1] === '/')) return fileAction(action);
  if (c === '@') return forwardAction(action);
  if (action === '*' || action.startsWith(':omusrmsg:')) {
    return { kind: 'unsupported', why: 'messages to all logged-in users ("*") have no sluice destination' };
  }
  if (c === '|') return { kind: 'unsupported', why: 'writing to a named pipe or program ("|") has no sluice destination' };
  if (c === '^') return { kind: 'unsupported', why: 'running a program ("^") has no sluice destination' };
  if (action === '~' || action === 'stop') {
    return { kind: 'unsupported', why: 'discarding ("~") is not imported; mark an earlier path `final: true` instead' };
  }
  if (/^[A-Za-z_][\w.-]*(\s*,\s*[A-Za-z_][\w.-]*)*$/.test(action)) {
    return { kind: 'unsupported', why: `messages to users (${action}) have no sluice destination` };
  }
  return { kind: 'unsupported', why: `unknown action "${action}"` };
}

// rsyslog appends ";TemplateName" to an action; the template cannot be carried over.
function splitTemplate(action: string): { target: string; note?: string } {
  const semi = action.indexOf(';');
  if (semi < 0) return { target: action };
  return { target: action.slice(0, semi).trim(), note: `the rsyslog template "${action.slice(semi + 1).trim()}" was dropped` };
}

function fileAction(action: string): Action {
  const noSync = action[0] === '-';
  const { target, note } = splitTemplate(noSync ? action.slice(1) : action);
  return { kind: 'file', path: target, fsync: !noSync, ...(note ? { note } : {}) };
}

function forwardAction(action: string): Action {
  const tcp = action.startsWith('@@');
  const split = splitTemplate(action.slice(tcp ? 2 : 1));
  let rest = split.target;
  const notes = split.note ? [split.note] : [];
  if (rest.startsWith('(')) {
    const close = rest.indexOf(')');
    notes.push(`the rsyslog forwarding options "${rest.slice(0, close + 1)}" were dropped`);
    rest = rest.slice(close + 1);
  }
  const hp = hostAndPort(rest);
  if (hp === null) return { kind: 'unsupported', why: `cannot read a host and port from "${action}"` };
  const scheme = tcp ? 'tcp' : 'udp';
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  return { kind: 'forward', url: `${scheme}://${host}:${hp.port}`, host: hp.host, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

function hostAndPort(s: string): { host: string; port: number } | null {
  let host = s;
  let port = '514';
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    port = bracket[2] ?? port;
  } else if (s.split(':').length === 2) {
    [host, port] = s.split(':') as [string, string];
  }
  const n = Number(port);
  if (host === '' || /\s/.test(host) || !/^\d+$/.test(port) || n < 1 || n > 65535) return null;
  return { host, port: n };
}

interface Destination {
  name: string;
  action: Exclude<Action, { kind: 'unsupported' }>;
  lines: number[];
}

interface Block {
  /** Raw spec after the sign: "sshd,named". */
  names: string[];
  exclude: boolean;
}

const NAME_STOP = /^(true|false|null|yes|no|on|off|y|n)$/i;

/** A YAML-safe identifier made from a file or host name: auth.log -> auth_log. */
export function identifier(base: string, prefix: string): string {
  const id = base.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (id === '' || /^\d/.test(id) || NAME_STOP.test(id)) return `${prefix}_${id}`.replace(/_+$/, '');
  return id;
}

function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  taken.add(candidate);
  return candidate;
}

function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, '\\$&') + '"';
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

// No inline (?i) in Node 20's RegExp: hostnames compare case-insensitively, as syslogd does.
function caseless(s: string): string {
  return escapeRegex(s).replace(/[a-z]/gi, (ch) => `[${ch.toLowerCase()}${ch.toUpperCase()}]`);
}

const RSYSLOG_STATEMENT = /^(module|input|template|ruleset|if|global|main_queue|action|set|unset|call|lookup_table|parser|timezone|include)\b/;

class Importer {
  readonly warnings: string[] = [];
  private readonly filters: { name: string; expr: string; line: Line }[] = [];
  private readonly destinations = new Map<string, Destination>();
  private readonly logEntries: string[][] = [];
  private readonly filterNames = new Set<string>();
  private readonly destinationNames = new Set<string>();
  private program: Block | null = null;
  private host: Block | null = null;
  private previousSelector: { masks: Masks; selector: string } | null = null;

  constructor(private readonly fileName: string, private readonly dialect: Dialect) {}

  private where(line: Line): string {
    return `${this.fileName}:${line.no}`;
  }

  private warn(line: Line, message: string): void {
    this.warnings.push(`${this.where(line)}: ${message}`);
  }

  private comment(line: Line): string {
    return `# ${this.where(line)}: ${line.text}`.replace(/[\r\n]+/g, ' ');
  }

  /** A line that cannot be carried over: warned, and left as a comment where its path would be. */
  private skip(line: Line, why: string): void {
    this.warn(line, `not imported: ${why}`);
    this.logEntries.push([this.comment(line), `# not imported: ${why}`.replace(/[\r\n]+/g, ' ')]);
  }

  line(line: Line): void {
    const t = line.text;
    if (t[0] === '!') return this.programBlock(line);
    if (t[0] === '+' || t[0] === '-') return this.hostBlock(line);
    if (t[0] === ':') return this.skip(line, 'property-based filters (":property, compare, value") are not imported; write a sluice filter by hand');
    if (t[0] === '$' || RSYSLOG_STATEMENT.test(t)) return this.skip(line, 'directives and included files are not imported');
    if (t[0] === '&') return this.rule(line, null, t.slice(1).trim());
    const m = /^(\S+)\s+(\S.*)$/.exec(t);
    if (!m) return this.skip(line, 'expected a selector, blanks, then an action');
    this.rule(line, m[1]!, m[2]!.trim());
  }

  // FreeBSD: "!prog1,prog2" (or "!+prog") limits the following lines to those programs,
  // "!-prog" to all other programs, and "!*" lifts the limit.
  private programBlock(line: Line): void {
    this.program = parseBlock(line.text.slice(1).trim());
  }

  private hostBlock(line: Line): void {
    const spec = line.text.slice(1).trim();
    if (spec === '' || spec === '*') {
      this.host = null;
      return;
    }
    let names = spec;
    if (spec.startsWith('@')) {
      names = hostname().split('.')[0]!;
      this.warn(line, `"@" (this host) was taken to be "${names}", the name of the machine running the import`);
    }
    this.host = { names: names.split(',').map((n) => n.trim()).filter(Boolean), exclude: line.text[0] === '-' };
    this.warn(line, 'host blocks are imported as host() conditions, which match the HOSTNAME in the message (or the peer address) rather than the resolved sender name');
  }

  private rule(line: Line, selector: string | null, actionText: string): void {
    // "&" (rsyslog) gives one more action to the selector of the line before.
    const sel = selector === null ? this.previousSelector : this.selector(line, selector);
    if (selector !== null) this.previousSelector = sel;
    if (sel === null) {
      if (selector === null) this.skip(line, '"&" continues a previous selector, but there is none that was imported');
      return;
    }
    const expr = this.expression(sel.masks);
    if (expr === null) return this.skip(line, `the selector "${sel.selector}" selects no messages`);
    const action = parseAction(actionText);
    if (action.kind === 'unsupported') return this.skip(line, action.why);
    if (action.note) this.warn(line, action.note);
    const dest = this.destination(action, line);
    const filterName = unique(dest.name, this.filterNames);
    this.filters.push({ name: filterName, expr, line });
    this.logEntries.push([this.comment(line), `- { from: local, filter: ${filterName}, to: ${dest.name} }`]);
  }

  private selector(line: Line, selector: string): { masks: Masks; selector: string } | null {
    let masks: Masks;
    try {
      const result = parseSelector(selector, this.dialect);
      for (const note of result.notes) this.warn(line, note);
      masks = result.masks;
    } catch (e) {
      this.skip(line, (e as Error).message);
      return null;
    }
    this.compareDialects(line, selector, masks);
    return { masks, selector };
  }

  // The same text means different things to BSD and Linux syslogds; say so where it matters.
  private compareDialects(line: Line, selector: string, masks: Masks): void {
    const other: Dialect = this.dialect === 'bsd' ? 'linux' : 'bsd';
    let theirs: Masks;
    try {
      theirs = parseSelector(selector, other, this.dialect).masks;
    } catch {
      return;
    }
    if (theirs.some((m, f) => m !== masks[f])) {
      const them = other === 'bsd' ? 'BSD syslogd (later selectors replace earlier ones)' : 'Linux sysklogd/rsyslog (selectors add up)';
      this.warn(line, `"${selector}" means something else to ${them}: ${masksToExpression(theirs) ?? 'nothing'}; imported as the ${this.dialect} reading`);
    }
  }

  private expression(masks: Masks): string | null {
    const base = masksToExpression(masks);
    if (base === null) return null;
    const conditions = [this.blockCondition(this.program, 'program', (n) => escapeRegex(n)), this.blockCondition(this.host, 'host', caseless)]
      .filter((c): c is string => c !== null);
    if (conditions.length === 0) return base;
    const wrapped = / or /.test(base) ? `(${base})` : base;
    return [wrapped, ...conditions].join(' and ');
  }

  private blockCondition(block: Block | null, fn: string, pattern: (name: string) => string): string | null {
    if (block === null) return null;
    const test = `${fn}(${quote(`^(?:${block.names.map(pattern).join('|')})$`)})`;
    return block.exclude ? `not ${test}` : test;
  }

  private destination(action: Destination['action'], line: Line): Destination {
    const key = action.kind === 'file' ? `file:${action.path}` : `forward:${action.url}`;
    const known = this.destinations.get(key);
    if (known) {
      known.lines.push(line.no);
      if (known.action.kind === 'file' && action.kind === 'file' && known.action.fsync !== action.fsync) {
        known.action.fsync = true;
        this.warn(line, `${action.path} is written both with and without "-"; the import keeps fsync on`);
      }
      return known;
    }
    const base = action.kind === 'file' ? identifier(posix.basename(action.path), 'log') : identifier(action.host, 'fwd');
    const name = unique(action.kind === 'forward' && !base.startsWith('fwd_') ? `fwd_${base}` : base, this.destinationNames);
    const dest: Destination = { name, action: { ...action }, lines: [line.no] };
    this.destinations.set(key, dest);
    return dest;
  }

  render(): string {
    this.warnDuplicates();
    const out: string[] = [
      `# sluice configuration imported from ${this.fileName} by \`sluice import-syslog-conf\`.`.replace(/[\r\n]+/g, ' '),
      this.dialect === 'bsd'
        ? '# Selectors were read as BSD syslogd reads them: a later selector replaces the levels of the facilities it names.'
        : '# Selectors were read as Linux sysklogd/rsyslog read them: selectors add up, "!" removes, "none" clears.',
      '# Files get sluice\'s default line template (ISO 8601 dates), not syslogd\'s "Mmm dd hh:mm:ss".',
      '',
      'sources:',
      '  local:',
      '    type: syslog',
      '    # Loopback ports, so sluice can run beside syslogd. To replace syslogd, stop it and add unix:///dev/log here.',
      '    listen: [udp://127.0.0.1:5140, tcp://127.0.0.1:5140]',
      '',
      ...this.renderFilters(),
      '',
      ...this.renderDestinations(),
      '',
      ...this.renderLog(),
    ];
    return out.join('\n') + '\n';
  }

  // syslogd opens a file once per line, so a message that two lines select is written twice;
  // sluice delivers an event once per destination.
  private warnDuplicates(): void {
    for (const d of this.destinations.values()) {
      if (d.lines.length < 2) continue;
      const target = d.action.kind === 'file' ? d.action.path : d.action.url;
      this.warnings.push(`${this.fileName}:${d.lines.join(',')}: ${target} is the action of several lines; a message they all select reaches it once, where syslogd wrote it once per line`);
    }
  }

  private renderFilters(): string[] {
    if (this.filters.length === 0) return ['filters: {}'];
    return ['filters:', ...this.filters.flatMap((f) => [`  ${this.comment(f.line)}`, `  ${f.name}: ${scalar(f.expr)}`])];
  }

  private renderDestinations(): string[] {
    if (this.destinations.size === 0) return ['destinations: {}'];
    const out = ['destinations:'];
    for (const d of this.destinations.values()) {
      out.push(`  ${d.name}:`);
      if (d.action.kind === 'file') {
        out.push('    type: file', `    path: ${scalar(d.action.path)}`);
        if (!d.action.fsync) out.push('    fsync: false');
      } else {
        out.push('    type: syslog', `    url: ${scalar(d.action.url)}`, '    format: rfc3164');
      }
    }
    return out;
  }

  private renderLog(): string[] {
    const hasPath = this.logEntries.some((e) => e[1]!.startsWith('-'));
    return [hasPath ? 'log:' : 'log: []', ...this.logEntries.flatMap((e) => e.map((l) => `  ${l}`))];
  }
}

function parseBlock(spec: string): Block | null {
  if (spec === '' || spec === '*') return null;
  const exclude = spec[0] === '-';
  const list = spec[0] === '-' || spec[0] === '+' ? spec.slice(1) : spec;
  return { names: list.split(',').map((n) => n.trim()).filter(Boolean), exclude };
}

/** A YAML scalar on one line, quoted only when YAML needs it. */
function scalar(value: string): string {
  return YAML.stringify(value, { lineWidth: 0 }).trimEnd();
}
