// sample: keeps one event in N (per key when given), dropping the rest, counted.

import { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import type { Transform, TransformKind } from './types.js';

export const sampleSchema = z.object({
  type: z.literal('sample'),
  rate: z.number().int().positive().describe('keep 1 event in RATE'),
}).strict();

export const sampleKind: TransformKind = {
  type: 'sample',
  description: 'keep one event in N; the rest are dropped and counted',
  schema: sampleSchema,
  build(config, ctx) {
    const rate = (config as z.infer<typeof sampleSchema>).rate;
    const dropped = ctx.metrics.eventsDropped.labels({ component: ctx.name, reason: 'sampled' });
    let n = 0;
    return {
      writes: false,
      apply(ev: LogEvent) {
        if (n++ % rate === 0) return ev;
        dropped.inc();
        return null;
      },
    } satisfies Transform;
  },
};
