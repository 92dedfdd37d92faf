// threshold: at least `count` events per key within `window` (sliding on event time); one alert per key and window.

import { z } from 'zod';
import { duration } from '../../config/units.js';
import type { LogEvent } from '../../event/log-event.js';
import { eventTime, makeAlert } from '../alert.js';
import { boundedSet, noFiles, opsRule, opsRuleShape, type OpsRuleConfig } from '../common.js';
import type { RuleSet, RuleSetKind } from '../types.js';

export const thresholdSchema = z.object({
  type: z.literal('threshold'),
  ...opsRuleShape,
  count: z.number().int().positive().describe('events per window that raise an alert'),
  window: duration().describe('window length, e.g. "5m"'),
}).strict();
type ThresholdConfig = z.infer<typeof thresholdSchema> & OpsRuleConfig;

export const thresholdKind: RuleSetKind = {
  type: 'threshold',
  description: 'alert when a key has at least N events within a window',
  schema: thresholdSchema,
  compile: noFiles,
  build(compiled, ctx) {
    const c = compiled as ThresholdConfig;
    const { info, filter, key, source, evicted, alerts, matches } = opsRule(c, ctx);
    const groups = new Map<string, { times: number[]; suppressUntil: number }>();
    return {
      ruleCount: 1,
      process(events: LogEvent[]) {
        const out: LogEvent[] = [];
        for (const ev of events) {
          if (filter !== null && !filter(ev)) continue;
          matches.inc();
          const k = key(ev);
          const t = eventTime(ev);
          let g = groups.get(k);
          if (g === undefined) boundedSet(groups, k, (g = { times: [], suppressUntil: -Infinity }), c.max_groups, () => evicted.inc());
          if (t < g.suppressUntil) continue;
          g.times = g.times.filter((x) => x >= t - c.window);
          g.times.push(t);
          if (g.times.length >= c.count) {
            out.push(makeAlert(source, info, { group: { key: k }, count: g.times.length, first: g.times[0]!, last: t, event: ev }));
            alerts.inc();
            g.suppressUntil = g.times[0]! + c.window;
            g.times = [];
          }
        }
        return out;
      },
    } satisfies RuleSet;
  },
};
