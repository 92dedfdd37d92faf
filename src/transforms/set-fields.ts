// set, rename and remove: change fields by name; set's values are templates (${HOST}, ${fields.x}).

import { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import { fieldReader, removeField, writeField } from '../event/field-access.js';
import { templateString } from '../template/schema.js';
import { Template } from '../template/template.js';
import type { Transform, TransformKind } from './types.js';

export const setSchema = z.object({
  type: z.literal('set'),
  fields: z.record(z.string(), templateString()).describe('name → template; names: message, host, app, procid, msgid or fields.NAME (NAME alone means fields.NAME)'),
}).strict();
export const renameSchema = z.object({
  type: z.literal('rename'),
  fields: z.record(z.string(), z.string()).describe('old name → new name'),
}).strict();
export const removeSchema = z.object({
  type: z.literal('remove'),
  fields: z.array(z.string()).min(1).describe('names to remove'),
}).strict();

export const setKind: TransformKind = {
  type: 'set',
  description: 'set values from templates',
  schema: setSchema,
  build(config) {
    const pairs = Object.entries((config as z.infer<typeof setSchema>).fields).map(([name, t]) => ({ name, t: Template.compile(t) }));
    return {
      writes: true,
      apply(ev: LogEvent) {
        // Every template renders from the event as it came in, then all are written.
        const values = pairs.map((p) => p.t.render(ev));
        for (let i = 0; i < pairs.length; i++) writeField(ev, pairs[i]!.name, values[i]);
        return ev;
      },
    } satisfies Transform;
  },
};

export const renameKind: TransformKind = {
  type: 'rename',
  description: 'rename fields',
  schema: renameSchema,
  build(config) {
    const pairs = Object.entries((config as z.infer<typeof renameSchema>).fields).map(([from, to]) => ({ from, to, read: fieldReader(from) }));
    return {
      writes: true,
      apply(ev: LogEvent) {
        for (const p of pairs) {
          const v = p.read(ev);
          if (v === null || v === undefined) continue;
          removeField(ev, p.from);
          writeField(ev, p.to, v);
        }
        return ev;
      },
    } satisfies Transform;
  },
};

export const removeKind: TransformKind = {
  type: 'remove',
  description: 'remove fields',
  schema: removeSchema,
  build(config) {
    const names = (config as z.infer<typeof removeSchema>).fields;
    return {
      writes: true,
      apply(ev: LogEvent) {
        for (const n of names) removeField(ev, n);
        return ev;
      },
    } satisfies Transform;
  },
};
