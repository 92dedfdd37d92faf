// parse_regex: a regular expression's named groups become fields.

import { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import { fieldReader, valueText } from '../event/field-access.js';
import type { Transform, TransformKind } from './types.js';

export const parseRegexSchema = z.object({
  type: z.literal('parse_regex'),
  pattern: z.string().superRefine((v, ctx) => {
    try {
      const re = new RegExp(v);
      if (!/\(\?<[A-Za-z_]/.test(re.source)) ctx.addIssue({ code: 'custom', message: 'the pattern has no named group such as (?<src_ip>\\S+)' });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(e as Error).message}` });
    }
  }).describe('a JavaScript regular expression with named groups: (?<NAME>...) becomes fields.NAME'),
  flags: z.string().regex(/^[imsu]*$/).default('').describe('regular expression flags (i, m, s, u)'),
  source: z.string().default('message').describe('what to match: message or a field name'),
}).strict();
type ParseRegexConfig = z.infer<typeof parseRegexSchema>;

export const parseRegexKind: TransformKind = {
  type: 'parse_regex',
  description: 'match a regular expression; its named groups become fields',
  schema: parseRegexSchema,
  build(config) {
    const c = config as ParseRegexConfig;
    const re = new RegExp(c.pattern, c.flags);
    const read = fieldReader(c.source);
    return {
      writes: true,
      apply(ev: LogEvent) {
        const m = re.exec(valueText(read(ev)));
        const g = m?.groups;
        if (g === undefined) return ev;
        const f = (ev.fields ??= {});
        for (const k in g) if (g[k] !== undefined) f[k] = g[k];
        return ev;
      },
    } satisfies Transform;
  },
};
