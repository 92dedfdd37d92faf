// rate_spike: a bucket's event count far above the key's moving baseline (EWMA), once enough buckets were seen.

import { z } from 'zod';
import { duration } from '../../config/units.js';
import type { LogEvent } from '../../event/log-event.js';
import { eventTime, makeAlert } from '../alert.js';
import { boundedSet, noFiles, opsRule, opsRuleShape, type OpsRuleConfig } from '../common.js';
import type { RuleSet, RuleSetKind } from '../types.js';

export const rateSpikeSchema = z.object({
  type: z.literal('rate_spike'),
  ...opsRuleShape,
  bucket: duration().default(60).describe('bucket length on event time'),
  alpha: z.number().gt(0).lte(1).default(0.3).describe('EWMA weight of the newest bucket'),
  factor: z.number().gt(1).default(3).describe('a bucket above factor × baseline is a spike'),
  min_samples: z.number().int().positive().default(5).describe('buckets seen before the baseline is trusted'),
  min_count: z.number().int().nonnegative().default(10).describe('a spike bucket has at least this many events'),
}).strict();
type RateSpikeConfig = z.infer<typeof rateSpikeSchema> & OpsRuleConfig;

interface Baseline { bucket: number; count: number; ewma: number; samples: number }
const MAX_GAP_BUCKETS = 1000;

export const rateSpikeKind: RuleSetKind = {
  type: 'rate_spike',
  description: 'alert when a bucket count exceeds a moving (EWMA) baseline by a factor',
  schema: rateSpikeSchema,
  compile: noFiles,
  build(compiled, ctx) {
    const c = compiled as RateSpikeConfig;
    const { info, filter, key, source, evicted, alerts } = opsRule(c, ctx);
    const groups = new Map<string, Baseline>();
    const close = (k: string, b: Baseline, ev: LogEvent, out: LogEvent[]) => {
      if (b.samples >= c.min_samples && b.count >= c.min_count && b.count > c.factor * b.ewma) {
        out.push(makeAlert(source, info, { group: { key: k }, count: b.count, first: b.bucket * c.bucket, last: (b.bucket + 1) * c.bucket - 1, event: ev, extra: { baseline: Math.round(b.ewma * 100) / 100 } }));
        alerts.inc();
      }
      b.ewma = b.samples === 0 ? b.count : c.alpha * b.count + (1 - c.alpha) * b.ewma;
      b.samples++;
    };
    return {
      ruleCount: 1,
      process(events: LogEvent[]) {
        const out: LogEvent[] = [];
        for (const ev of events) {
          if (filter !== null && !filter(ev)) continue;
          const k = key(ev);
          const bucket = Math.floor(eventTime(ev) / c.bucket);
          let b = groups.get(k);
          if (b === undefined) boundedSet(groups, k, (b = { bucket, count: 0, ewma: 0, samples: 0 }), c.max_groups, () => evicted.inc());
          if (bucket > b.bucket) {
            close(k, b, ev, out);
            // Quiet buckets in between count as zeros in the baseline.
            for (let i = 1; i < Math.min(bucket - b.bucket, MAX_GAP_BUCKETS); i++) { b.ewma = (1 - c.alpha) * b.ewma; b.samples++; }
            b.bucket = bucket;
            b.count = 0;
          }
          if (bucket === b.bucket) b.count++;
        }
        return out;
      },
    } satisfies RuleSet;
  },
};
