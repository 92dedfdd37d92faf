// parse_json: a message that holds a JSON object becomes fields (syslog-ng's json-parser).

import { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import { fieldReader, valueText } from '../event/field-access.js';
import type { Transform, TransformKind } from './types.js';

export const parseJsonSchema = z.object({
  type: z.literal('parse_json'),
  source: z.string().default('message').describe('what to parse: message or a field name'),
  target: z.string().optional().describe('put the object under fields.TARGET instead of merging it into fields'),
}).strict();
type ParseJsonConfig = z.infer<typeof parseJsonSchema>;

export const parseJsonKind: TransformKind = {
  type: 'parse_json',
  description: 'parse a JSON object in the message (after an optional "@cee:" or text prefix) into fields',
  schema: parseJsonSchema,
  build(config, ctx) {
    const c = config as ParseJsonConfig;
    const read = fieldReader(c.source);
    const failed = ctx.metrics.errors.labels({ component: ctx.name, stage: 'transform', error_type: 'json' });
    return {
      writes: true,
      apply(ev: LogEvent) {
        const text = valueText(read(ev));
        const at = text.indexOf('{');
        if (at < 0) { failed.inc(); return ev; }
        let obj: unknown;
        try { obj = JSON.parse(at === 0 ? text : text.slice(at)); } catch { failed.inc(); return ev; }
        if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) { failed.inc(); return ev; }
        const f = (ev.fields ??= {});
        if (c.target !== undefined) f[c.target] = obj;
        else Object.assign(f, obj);
        return ev;
      },
    } satisfies Transform;
  },
};
