// JSON output: the event's JSON contract (DESIGN.md), with the destination's overrides applied.

import type { LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { writePayloadHeader } from './common.js';
import type { EncodeOptions } from './types.js';

export function encodeJson(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  writePayloadHeader(ev, w, opts, 'none', true);
  const j = ev.toJSON();
  if (opts.facility !== undefined) j.facility = opts.facility;
  if (opts.severity !== undefined) j.severity = opts.severity;
  if (opts.hostname !== undefined) j.hostname = opts.hostname;
  if (opts.appname !== undefined) j.appname = opts.appname;
  w.text(JSON.stringify(j));
}
