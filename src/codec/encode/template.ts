// Template output: the line template rendered as one message; framing (not the template) ends it.

import type { LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { writePayloadHeader } from './common.js';
import type { EncodeOptions } from './types.js';

export function encodeTemplate(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  const t = opts.template;
  if (!t) throw new Error('the template format needs a compiled template in its options');
  writePayloadHeader(ev, w, opts, 'none', true);
  t.renderInto(ev, w);
}
