// parse_kv: key=value pairs (auditd, firewalls, "key=value" app logs) become fields.

import { z } from 'zod';
import type { LogEvent } from '../event/log-event.js';
import { fieldReader, valueText } from '../event/field-access.js';
import type { Transform, TransformKind } from './types.js';

export const parseKvSchema = z.object({
  type: z.literal('parse_kv'),
  source: z.string().default('message').describe('what to parse: message or a field name'),
  value_split: z.string().length(1).default('=').describe('the character between a key and its value'),
  field_split: z.string().min(1).default(' ').describe('characters between pairs (" " also means any whitespace)'),
  prefix: z.string().default('').describe('put before every key (e.g. "kv.")'),
}).strict();
type ParseKvConfig = z.infer<typeof parseKvSchema>;

const KEY = /^[A-Za-z0-9_.@-]+$/;

/** Splits text into pairs; quoted values ("a b" or 'a b', with backslash escapes) may hold separators. */
export function parseKeyValues(text: string, valueSplit: string, fieldSplit: string, out: Record<string, unknown>, prefix = ''): number {
  const isSep = (c: string) => fieldSplit.includes(c) || (fieldSplit.includes(' ') && (c === '\t' || c === '\n' || c === '\r'));
  let n = 0;
  let i = 0;
  const len = text.length;
  while (i < len) {
    while (i < len && isSep(text[i]!)) i++;
    const keyStart = i;
    while (i < len && text[i] !== valueSplit && !isSep(text[i]!)) i++;
    if (i >= len || text[i] !== valueSplit) continue; // a bare word: not a pair
    const key = text.slice(keyStart, i);
    i++;
    let value: string;
    const q = text[i];
    if (q === '"' || q === "'") {
      i++;
      let v = '';
      while (i < len && text[i] !== q) {
        if (text[i] === '\\' && i + 1 < len) i++;
        v += text[i++];
      }
      i++;
      value = v;
    } else {
      const vs = i;
      while (i < len && !isSep(text[i]!)) i++;
      value = text.slice(vs, i);
    }
    if (KEY.test(key)) { out[prefix + key] = value; n++; }
  }
  return n;
}

export const parseKvKind: TransformKind = {
  type: 'parse_kv',
  description: 'parse key=value pairs (quoted values, configurable separators) into fields',
  schema: parseKvSchema,
  build(config) {
    const c = config as ParseKvConfig;
    const read = fieldReader(c.source);
    return {
      writes: true,
      apply(ev: LogEvent) {
        parseKeyValues(valueText(read(ev)), c.value_split, c.field_split, (ev.fields ??= {}), c.prefix);
        return ev;
      },
    } satisfies Transform;
  },
};
