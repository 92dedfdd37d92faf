// IBM QRadar LEEF 2.0 output: "LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|key=value<delim>...".
//
// Header fields escape "\" and "|" with a backslash. LEEF has no escape for the attribute
// delimiter, so in values the delimiter, CR and LF each become a space (IBM's guidance:
// keep delimiters out of values). The delimiter field is the character itself when
// printable, else its hex code as "x09" (the spec allows both). Attributes:
//   devTime        event time (its timestamp, else received), UTC, as devTimeFormat says
//   devTimeFormat  yyyy-MM-dd'T'HH:mm:ss.SSSZ
//   sev            syslog severity 0..7 as 10, 9, 8, 7, 6, 4, 3, 1
//   src            the peer's IP address
//   usrName        fields.usrName, else fields.user or fields.username
//   msg            the message
// then every parsed field, keys reduced to [A-Za-z0-9_.]; a field named like one of the
// attributes above replaces it. EventID is MSGID, else APP-NAME, else "syslog".

import type { LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { cefHeaderEscape, extensionKey } from './cef.js';
import { eventId, eventTimeMs, fieldText, severityOf, SIEM_SEVERITY, SLUICE_VERSION, sourceIp, writePayloadHeader } from './common.js';
import type { EncodeOptions } from './types.js';

export const LEEF_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";

interface Prepared { prefix: string; delim: string; delimByte: Buffer; special: RegExp }
const prepared = new WeakMap<EncodeOptions, Prepared>();

function prepare(opts: EncodeOptions): Prepared {
  let p = prepared.get(opts);
  if (p === undefined) {
    const delim = opts.delimiter ? String.fromCodePoint(opts.delimiter.codePointAt(0)!) : '\t';
    const code = delim.codePointAt(0)!;
    const field = code > 32 && code < 127 && delim !== '|' && delim !== '\\' ? delim : 'x' + code.toString(16).padStart(2, '0');
    const vendor = cefHeaderEscape(opts.vendor ?? 'sluice');
    const product = cefHeaderEscape(opts.product ?? 'sluice');
    const version = cefHeaderEscape(opts.version ?? SLUICE_VERSION);
    const esc = delim.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    p = {
      prefix: `LEEF:2.0|${vendor}|${product}|${version}|`,
      delim: `|${field}|`,
      delimByte: Buffer.from(delim, 'utf8'),
      special: new RegExp(`\\r\\n|[\\r\\n]|${esc}`, 'g'),
    };
    prepared.set(opts, p);
  }
  return p;
}

/** devTime in UTC: "2026-11-23T18:28:41.123+0000". */
export function leefTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + '+0000';
}

export function encodeLeef(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  writePayloadHeader(ev, w, opts, 'rfc3164', false);
  const p = prepare(opts);
  w.text(p.prefix);
  w.text(cefHeaderEscape(eventId(ev, opts)));
  w.text(p.delim);

  const fields = ev.fields;
  let first = true;
  const value = (v: string): string => {
    p.special.lastIndex = 0;
    return p.special.test(v) ? v.replace(p.special, ' ') : v;
  };
  const attr = (k: string, v: string | null): void => {
    if (v === null || v === '' || (fields !== null && fields[k] !== undefined)) return;
    if (!first) w.range(p.delimByte, 0, p.delimByte.length);
    first = false;
    w.text(k);
    w.byte(0x3d);
    w.text(value(v));
  };
  attr('devTime', leefTime(eventTimeMs(ev)));
  attr('devTimeFormat', LEEF_TIME_FORMAT);
  attr('sev', String(SIEM_SEVERITY[severityOf(ev, opts)]!));
  attr('src', sourceIp(ev));
  if (fields !== null && fields.usrName === undefined) attr('usrName', fieldText(fields.user) ?? fieldText(fields.username));
  attr('msg', ev.message);
  if (fields !== null) {
    for (const k of Object.keys(fields)) {
      const v = fieldText(fields[k]);
      if (v === null) continue;
      if (!first) w.range(p.delimByte, 0, p.delimByte.length);
      first = false;
      w.text(extensionKey(k));
      w.byte(0x3d);
      w.text(value(v));
    }
  }
}
