// Test helpers for rules: compile rule YAML from strings, parse real syslog lines into events.

import fs from 'node:fs';
import path from 'node:path';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { sigmaRuleSetKind, sigmaRuleSetSchema, SigmaRuleSet } from '../../src/rules/sigma/index.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { tempDir } from '../helpers/wait.js';

export const NET: EventSource = { name: 'net', transport: 'udp', address: '127.0.0.1', port: 514, tlsPeer: null };

/** One event parsed from a syslog line, as a source would make it. */
export function syslog(line: string, source: EventSource = NET): LogEvent {
  const buf = Buffer.from(line);
  const ev = new LogEvent(source, Date.parse('2026-03-01T12:00:00Z'));
  parseSyslog(ev, buf, 0, buf.length, 'auto');
  return ev;
}

export function compileRules(files: Record<string, string>, extra: Record<string, unknown> = {}): { problems: RuleProblem[]; dir: string; compiled: unknown } {
  const dir = tempDir('sigma');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const config = sigmaRuleSetSchema.parse({ type: 'sigma', paths: ['*.yml'], ...extra });
  const { compiled, problems } = sigmaRuleSetKind.compile(config, dir);
  return { problems, dir, compiled };
}

/** A rule set from YAML texts (file name → text); throws when a rule is refused. */
export function ruleSet(files: Record<string, string> | string, extra: Record<string, unknown> = {}, metrics = new Metrics()): SigmaRuleSet {
  const { problems, compiled } = compileRules(typeof files === 'string' ? { 'rule.yml': files } : files, extra);
  if (problems.length) throw new Error(problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`).join('\n'));
  return sigmaRuleSetKind.build(compiled, { name: 'detect', metrics }) as SigmaRuleSet;
}

/** Titles of the alerts a rule set raises for these events. */
export function titles(rs: SigmaRuleSet, events: LogEvent[]): string[] {
  return rs.process(events).map((a) => a.message ?? '');
}

/** A one-selection rule over `detection` (YAML text indented as under "detection:"). */
export function rule(detection: string, title = 'T', extra = ''): string {
  return `title: ${title}\nid: r-${Math.random().toString(16).slice(2)}\n${extra}logsource:\n  product: linux\ndetection:\n${detection}\n`;
}

export function fieldsEvent(fields: Record<string, unknown>, message = 'm', appname = 'app'): LogEvent {
  return LogEvent.fromValues(NET, Date.parse('2026-03-01T12:00:00Z'), { hostname: 'h1', appname, message, timestamp: '2026-03-01T12:00:00Z', fields });
}
