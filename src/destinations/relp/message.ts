// The bytes the RELP destination sends per event: the received message when it is unchanged, else a minimal RFC 5424 encoding.
//
// Deliberately small and private to this folder; the general encoders (src/codec/encode/)
// can replace encodeRfc5424 later without changing the destination.

import { ByteWriter } from '../../codec/byte-writer.js';
import { parseStructuredData, type StructuredData } from '../../codec/structured-data.js';
import { isoLocal, rfc3164TimestampToIso, RFC5424_TIMESTAMP } from '../../codec/timestamp.js';
import { EventFlag, Format, type LogEvent } from '../../event/log-event.js';

export type RelpFormat = 'rfc5424' | 'raw';

/** The DATA of the syslog frame for `ev`. May be a view into the event's buffer: do not modify. */
export function messageBytes(ev: LogEvent, format: RelpFormat, w: ByteWriter): Buffer {
  const sendRaw = ev.end > ev.start && (format === 'raw' || ev.format === Format.RFC5424) && isUnchanged(ev);
  if (sendRaw) return ev.rawBytes;
  w.reset();
  encodeRfc5424(ev, w);
  return Buffer.from(w.view());
}

type Key = 'timestamp' | 'facility' | 'severity' | 'version' | 'hostname' | 'appname' | 'procid' | 'msgid' | 'structuredData' | 'message';
const KEYS: Key[] = ['timestamp', 'facility', 'severity', 'version', 'hostname', 'appname', 'procid', 'msgid', 'structuredData', 'message'];

/**
 * True if every value the event holds in `ev.d` is what its bytes say. `ev.d` also caches
 * values that were merely read (by a filter, a template), so its presence alone means nothing.
 */
export function isUnchanged(ev: LogEvent): boolean {
  const d = ev.d;
  if (d === null) return true;
  for (const k of KEYS) {
    const v = d[k];
    if (v === undefined) continue;
    const raw = rawValue(ev, k);
    if (k === 'structuredData') {
      if (JSON.stringify(v) !== JSON.stringify(raw)) return false;
    } else if (v !== raw) return false;
  }
  return true;
}

function str(ev: LogEvent, s: number, e: number): string | null {
  return s < 0 ? null : ev.buf.toString('utf8', s, e);
}

/** A field as decoded from the received bytes, ignoring any override (mirrors LogEvent's getters). */
function rawValue(ev: LogEvent, k: Key): string | number | StructuredData | null {
  switch (k) {
    case 'timestamp': {
      if (ev.tsStart < 0) return null;
      const text = ev.buf.toString('latin1', ev.tsStart, ev.tsEnd);
      return ev.flags & EventFlag.TS_RFC3164 ? rfc3164TimestampToIso(text, ev.receivedAt) : text;
    }
    case 'facility': return ev.pri >= 0 ? ev.pri >> 3 : 1;
    case 'severity': return ev.pri >= 0 ? ev.pri & 7 : 5;
    case 'version': return ev.version >= 0 ? ev.version : null;
    case 'hostname': return str(ev, ev.hostStart, ev.hostEnd);
    case 'appname': return str(ev, ev.appStart, ev.appEnd);
    case 'procid': return str(ev, ev.pidStart, ev.pidEnd);
    case 'msgid': return str(ev, ev.msgidStart, ev.msgidEnd);
    case 'structuredData': return ev.sdStart < 0 ? null : parseStructuredData(ev.buf, ev.sdStart, ev.sdEnd);
    case 'message': return ev.msgStart < 0 || ev.msgStart > ev.end ? null : ev.buf.toString('utf8', ev.msgStart, ev.end);
  }
}

/**
 * RFC 5424 §6: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [SP MSG]". Header fields
 * are made PRINTUSASCII and cut to their limits; a missing or unusable timestamp becomes the
 * time the event was received, since a relay should not send a message without one.
 */
export function encodeRfc5424(ev: LogEvent, w: ByteWriter): void {
  const fac = clamp(ev.facility, 1, 23);
  const sev = clamp(ev.severity, 5, 7);
  w.text(`<${fac * 8 + sev}>1 `);
  w.text(timestamp5424(ev.timestamp, ev.receivedAt));
  w.byte(0x20);
  headerField(w, ev.hostname ?? ev.source.address, 255);
  headerField(w, ev.appname, 48);
  headerField(w, ev.procid, 128);
  headerField(w, ev.msgid, 32);
  const sd = ev.structuredData;
  const sdText = sd === null ? '' : structuredData5424(sd);
  w.text(sdText === '' ? '-' : sdText);
  const msg = ev.message;
  if (msg !== null && msg !== '') {
    w.byte(0x20);
    w.text(msg);
  }
}

function clamp(v: number | null, dflt: number, max: number): number {
  return v === null || !Number.isInteger(v) || v < 0 || v > max ? dflt : v;
}

/** An RFC 3339 timestamp RFC 5424 accepts (at most 6 fraction digits), from whatever the event holds. */
export function timestamp5424(ts: string | null, receivedAt: number): string {
  if (ts !== null) {
    if (RFC5424_TIMESTAMP.test(ts)) return ts;
    // RFC 3164 stamps may carry up to 9 fraction digits; RFC 5424 allows 6.
    const cut = ts.replace(/(\.\d{6})\d+/, '$1');
    if (RFC5424_TIMESTAMP.test(cut)) return cut;
    const t = Date.parse(ts);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  return isoLocal(receivedAt);
}

function headerField(w: ByteWriter, v: string | null, max: number): void {
  let out = '';
  if (v !== null) {
    for (let i = 0; i < v.length && out.length < max; i++) {
      const c = v.charCodeAt(i);
      out += c >= 33 && c <= 126 ? v[i] : '_';
    }
  }
  w.text(out === '' ? '-' : out);
  w.byte(0x20);
}

/** SD-NAME: 1..32 PRINTUSASCII except '=', SP, ']' and '"'. */
function sdName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length && out.length < 32; i++) {
    const c = name.charCodeAt(i);
    if (c >= 33 && c <= 126 && c !== 0x3d && c !== 0x5d && c !== 0x22) out += name[i];
  }
  return out;
}

function structuredData5424(sd: StructuredData): string {
  let out = '';
  for (const id of Object.keys(sd)) {
    const sid = sdName(id);
    if (sid === '') continue;
    out += '[' + sid;
    const params = sd[id]!;
    for (const name of Object.keys(params)) {
      const pn = sdName(name);
      if (pn === '') continue;
      const v = params[name]!;
      for (const value of typeof v === 'string' ? [v] : v) out += ' ' + pn + '="' + value.replace(/["\\\]]/g, '\\$&') + '"';
    }
    out += ']';
  }
  return out;
}
