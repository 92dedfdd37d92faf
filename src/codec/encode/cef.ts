// ArcSight CEF output: "CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension".
//
// Header fields escape "\" and "|" with a backslash (line breaks become spaces, as a
// header must stay on one line); extension values escape "\" and "=" and write line breaks
// as \n and \r (the CEF spec's rules). Extension keys:
//   rt       event time in ms since the epoch (its timestamp, else the time received)
//   dvchost  HOSTNAME          dproc  APP-NAME          dvcpid  PROCID
//   src      the peer's IP address (the relay or device that sent the message to sluice)
//   msg      the message
// then every parsed field (ev.fields) as key=value, keys reduced to [A-Za-z0-9_.]; a field
// named like one of the keys above replaces it.
// SignatureID is MSGID, else APP-NAME, else "syslog"; Name is the message's first line cut
// to 128 characters (the SignatureID when there is no message).
// Severity maps syslog severity 0..7 (emerg..debug) to 10, 9, 8, 7, 6, 4, 3, 1.

import type { LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { eventId, eventTimeMs, fieldText, severityOf, SIEM_SEVERITY, SLUICE_VERSION, sourceIp, SP, writePayloadHeader, writeUint } from './common.js';
import type { EncodeOptions } from './types.js';

const HEADER_SPECIAL = /[\\|\r\n]/;
const VALUE_SPECIAL = /[\\=\r\n]/;
const KEY_OK = /^[A-Za-z0-9_.]+$/;

/** A CEF header field: "\" and "|" escaped, line breaks as one space. */
export function cefHeaderEscape(s: string): string {
  return HEADER_SPECIAL.test(s) ? s.replace(/[\\|]/g, '\\$&').replace(/\r\n|[\r\n]/g, ' ') : s;
}

/** A CEF extension value: "\" and "=" escaped, CR and LF as \r and \n. */
export function cefValueEscape(s: string): string {
  if (!VALUE_SPECIAL.test(s)) return s;
  return s.replace(/[\\=\r\n]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\' + c));
}

export function extensionKey(k: string): string {
  return KEY_OK.test(k) ? k : k.replace(/[^A-Za-z0-9_.]/g, '_') || '_';
}

/** Name: the first line of the message, at most 128 characters (not splitting a surrogate pair). */
export function shortName(message: string | null, max = 128): string {
  if (!message) return '';
  let end = message.length;
  const nl = message.search(/[\r\n]/);
  if (nl >= 0) end = nl;
  if (end > max) {
    end = max;
    const c = message.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--;
  }
  return message.slice(0, end);
}

const prefixes = new WeakMap<EncodeOptions, string>();

function cefPrefix(opts: EncodeOptions): string {
  let p = prefixes.get(opts);
  if (p === undefined) {
    p = `CEF:0|${cefHeaderEscape(opts.vendor ?? 'sluice')}|${cefHeaderEscape(opts.product ?? 'sluice')}|${cefHeaderEscape(opts.version ?? SLUICE_VERSION)}|`;
    prefixes.set(opts, p);
  }
  return p;
}

export function encodeCef(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  writePayloadHeader(ev, w, opts, 'rfc3164', false);
  const sig = eventId(ev, opts);
  const message = ev.message;
  w.text(cefPrefix(opts));
  w.text(cefHeaderEscape(sig));
  w.byte(0x7c);
  w.text(cefHeaderEscape(shortName(message) || sig));
  w.byte(0x7c);
  writeUint(w, SIEM_SEVERITY[severityOf(ev, opts)]!);
  w.byte(0x7c);

  const fields = ev.fields;
  let first = true;
  const pair = (k: string, v: string | null): void => {
    if (v === null || v === '' || (fields !== null && fields[k] !== undefined)) return;
    if (!first) w.byte(SP);
    first = false;
    w.text(k);
    w.byte(0x3d);
    w.text(cefValueEscape(v));
  };
  pair('rt', String(eventTimeMs(ev)));
  pair('dvchost', opts.hostname ?? ev.hostname);
  pair('dproc', opts.appname ?? ev.appname);
  pair('dvcpid', ev.procid);
  pair('src', sourceIp(ev));
  pair('msg', message);
  if (fields !== null) {
    for (const k of Object.keys(fields)) {
      const v = fieldText(fields[k]);
      if (v === null) continue;
      if (!first) w.byte(SP);
      first = false;
      w.text(extensionKey(k));
      w.byte(0x3d);
      w.text(cefValueEscape(v));
    }
  }
}
