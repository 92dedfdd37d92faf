// The output encoders by name: each writes one message (no framing) for one event.

import { encodeCef } from './cef.js';
import { encodeJson } from './json.js';
import { encodeKv } from './kv.js';
import { encodeLeef } from './leef.js';
import { encodeRfc3164 } from './rfc3164.js';
import { encodeRfc5424 } from './rfc5424.js';
import { encodeTemplate } from './template.js';
import type { Encoder } from './types.js';

export type { EncodeOptions, Encoder, SyslogHeader } from './types.js';
export { SIEM_SEVERITY } from './common.js';

export const OUTPUT_FORMATS = ['rfc5424', 'rfc3164', 'json', 'cef', 'leef', 'kv', 'template'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const ENCODERS: Record<OutputFormat, Encoder> = {
  rfc5424: encodeRfc5424,
  rfc3164: encodeRfc3164,
  json: encodeJson,
  cef: encodeCef,
  leef: encodeLeef,
  kv: encodeKv,
  template: encodeTemplate,
};
