// throttle: at most `limit` events per window per key; the rest are dropped and counted.

import { z } from 'zod';
import { duration } from '../config/units.js';
import type { LogEvent } from '../event/log-event.js';
import { templateString } from '../template/schema.js';
import { Template } from '../template/template.js';
import type { Transform, TransformKind } from './types.js';

export const throttleSchema = z.object({
  type: z.literal('throttle'),
  limit: z.number().int().positive().describe('events let through per window and key'),
  window: duration().default(60).describe('window length (fixed windows on receive time)'),
  key: templateString().default('').describe('template naming the group, e.g. "${HOST}" (default: one group)'),
  max_keys: z.number().int().positive().default(10_000).describe('groups tracked at once; beyond it the oldest is forgotten (counted)'),
}).strict();
type ThrottleConfig = z.infer<typeof throttleSchema>;

export const throttleKind: TransformKind = {
  type: 'throttle',
  description: 'let at most N events per window per key through; drops are counted',
  schema: throttleSchema,
  build(config, ctx) {
    const c = config as ThrottleConfig;
    const key = Template.compile(c.key);
    const groups = new Map<string, { window: number; count: number }>();
    const dropped = ctx.metrics.eventsDropped.labels({ component: ctx.name, reason: 'throttled' });
    const evicted = ctx.metrics.ruleStateEvictions.labels({ component: ctx.name });
    return {
      writes: false,
      apply(ev: LogEvent) {
        const k = key.constant ? '' : key.render(ev);
        const w = Math.floor(ev.receivedAt / c.window);
        let g = groups.get(k);
        if (g === undefined) {
          if (groups.size >= c.max_keys) { groups.delete(groups.keys().next().value!); evicted.inc(); }
          groups.set(k, (g = { window: w, count: 0 }));
        }
        if (g.window !== w) { g.window = w; g.count = 0; }
        if (++g.count > c.limit) { dropped.inc(); return null; }
        return ev;
      },
    } satisfies Transform;
  },
};
