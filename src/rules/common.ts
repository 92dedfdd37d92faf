// What the operations rule types (threshold, first_seen, rate_spike) share: their rule's identity and selection.

import { z } from 'zod';
import { compileFilter, type Filter } from '../filter/compile.js';
import type { LogEvent } from '../event/log-event.js';
import { Template } from '../template/template.js';
import { templateString } from '../template/schema.js';
import { alertSource, type RuleInfo } from './alert.js';
import type { RuleProblem, RuleSetContext } from './types.js';

export const filterString = () => z.string().superRefine((v, ctx) => {
  try { compileFilter(v); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); }
});

export const opsRuleShape = {
  title: z.string().min(1).describe('the alert message'),
  id: z.string().optional().describe('the rule id in alerts (fields.rule.id) and metrics'),
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']).default('medium').describe('sets the alert severity'),
  author: z.string().optional().describe('carried in every alert (fields.rule.author)'),
  tags: z.array(z.string()).default([]).describe('carried in every alert, e.g. attack.t1110'),
  filter: filterString().optional().describe('which events count (filter language, e.g. program(sshd) and message("Failed"))'),
  key: templateString().default('').describe('template naming the group, e.g. "${HOST}" or "${fields.src_ip}"'),
  max_groups: z.number().int().positive().default(100_000).describe('groups tracked at once; the oldest is forgotten beyond it (counted)'),
};

export interface OpsRuleConfig { type: string; title: string; id?: string; level: string; author?: string; tags: string[]; filter?: string; key: string; max_groups: number }

/** What every operations rule builds first: its identity, its selection, where alerts come from, its counters. */
export function opsRule(c: OpsRuleConfig, ctx: RuleSetContext) {
  const t = Template.compile(c.key);
  const rule = c.id ?? c.title;
  return {
    info: { id: c.id ?? null, title: c.title, level: c.level, tags: c.tags, author: c.author ?? null, type: c.type } satisfies RuleInfo,
    filter: c.filter ? compileFilter(c.filter) : null as Filter | null,
    key: t.constant ? () => c.key : (ev: LogEvent) => t.render(ev),
    source: alertSource(ctx.name),
    evicted: ctx.metrics.ruleStateEvictions.labels({ component: ctx.name }),
    matches: ctx.metrics.ruleMatches.labels({ component: ctx.name, rule }),
    alerts: ctx.metrics.alerts.labels({ component: ctx.name, rule }),
  };
}

/** The config itself is the compiled form: nothing to read from files. */
export function noFiles(config: unknown): { compiled: unknown; problems: RuleProblem[] } {
  return { compiled: config, problems: [] };
}

/** A bounded map: the oldest entry goes when full, and the eviction is counted. */
export function boundedSet<V>(m: Map<string, V>, key: string, value: V, max: number, evicted: () => void): void {
  if (!m.has(key) && m.size >= max) { m.delete(m.keys().next().value!); evicted(); }
  m.set(key, value);
}
