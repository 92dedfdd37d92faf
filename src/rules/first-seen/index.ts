// first_seen: a value never seen before for a key (a new listening port, a new user on a host), after a learning period.

import { z } from 'zod';
import { duration } from '../../config/units.js';
import type { LogEvent } from '../../event/log-event.js';
import { templateString } from '../../template/schema.js';
import { Template } from '../../template/template.js';
import { eventTime, makeAlert } from '../alert.js';
import { boundedSet, noFiles, opsRule, opsRuleShape, type OpsRuleConfig } from '../common.js';
import type { RuleSet, RuleSetKind } from '../types.js';

export const firstSeenSchema = z.object({
  type: z.literal('first_seen'),
  ...opsRuleShape,
  value: templateString().describe('template of the value, e.g. "${fields.port}"'),
  learning: duration().default(0).describe('event time from the first event during which values are learnt without alerts'),
  max_values: z.number().int().positive().default(100_000).describe('known key/value pairs kept; the oldest is forgotten beyond it (counted)'),
}).strict();
type FirstSeenConfig = z.infer<typeof firstSeenSchema> & OpsRuleConfig;

export const firstSeenKind: RuleSetKind = {
  type: 'first_seen',
  description: 'alert on a value never seen before for a key, after a learning period',
  schema: firstSeenSchema,
  compile: noFiles,
  build(compiled, ctx) {
    const c = compiled as FirstSeenConfig;
    const { info, filter, key, source, evicted, alerts } = opsRule(c, ctx);
    const value = Template.compile(c.value);
    const known = new Map<string, number>();
    let learningUntil = NaN;
    return {
      ruleCount: 1,
      process(events: LogEvent[]) {
        const out: LogEvent[] = [];
        for (const ev of events) {
          if (filter !== null && !filter(ev)) continue;
          const v = value.render(ev);
          if (v === '') continue;
          const k = key(ev);
          const t = eventTime(ev);
          if (Number.isNaN(learningUntil)) learningUntil = t + c.learning;
          const pair = k + '\u0000' + v;
          if (known.has(pair)) continue;
          boundedSet(known, pair, t, c.max_values, () => evicted.inc());
          if (t < learningUntil) continue;
          out.push(makeAlert(source, info, { group: { key: k }, count: 1, first: t, last: t, event: ev, extra: { value: v } }));
          alerts.inc();
        }
        return out;
      },
    } satisfies RuleSet;
  },
};
