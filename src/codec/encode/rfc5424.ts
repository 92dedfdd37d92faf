// RFC 5424 output: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]".
//
// An event that arrived as RFC 5424 goes out as its own bytes field by field (the
// PRI is rebuilt only from facility and severity); only changed or invalid fields are
// written from values.

import { EventFlag, type LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { messageIsRaw, SP, write5424Header, writeStructuredData } from './common.js';
import type { EncodeOptions } from './types.js';

export function encodeRfc5424(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  write5424Header(ev, w, opts);
  w.byte(SP);
  writeStructuredData(ev, w);
  // MSG is optional: no SP at all without one. A received BOM (RFC 5424 §6.4) is kept.
  const bom = (ev.flags & EventFlag.BOM) !== 0;
  if (messageIsRaw(ev)) {
    if ((ev.msgStart >= 0 && ev.msgStart < ev.end) || (bom && ev.msgStart >= 0)) {
      w.byte(SP);
      if (bom) { w.byte(0xef); w.byte(0xbb); w.byte(0xbf); }
      w.range(ev.buf, ev.msgStart, ev.end);
    }
  } else {
    const m = ev.message;
    if (m) {
      w.byte(SP);
      if (bom) { w.byte(0xef); w.byte(0xbb); w.byte(0xbf); }
      w.text(m);
    }
  }
}
