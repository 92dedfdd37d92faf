// Pieces every output encoder shares: PRI, timestamps, header field sanitising, the syslog headers.
//
// Fields still held as byte ranges of the received message are copied as bytes (no string
// is made). Once the event holds a value (LogEvent's getters cache what they decode in the
// same place transforms write overrides to) the value is written: for valid UTF-8 that is
// the same bytes, and a message of invalid UTF-8 that was only read still goes out raw.

import { isIP } from 'node:net';
import { EventFlag, type EventSource, type LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { scanStructuredData } from '../structured-data.js';
import { RFC5424_TIMESTAMP } from '../timestamp.js';
import type { EncodeOptions, SyslogHeader } from './types.js';

export const SP = 0x20;
export const NIL = 0x2d; // '-', RFC 5424's NILVALUE
const UNDERSCORE = 0x5f;

/** RFC 5424 §6: HOSTNAME, APP-NAME, PROCID, MSGID limits. */
export const MAX_HOSTNAME = 255;
export const MAX_APPNAME = 48;
export const MAX_PROCID = 128;
export const MAX_MSGID = 32;
/** SD-ID and PARAM-NAME (RFC 5424 §6.3). */
export const MAX_SD_NAME = 32;

/** A byte table: 1 where the ASCII byte may appear as is. */
function table(allow: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) t[c] = allow(c) ? 1 : 0;
  return t;
}

/** PRINTUSASCII (%d33-126): RFC 5424 header fields. */
export const PRINTUSASCII = table((c) => c >= 33 && c <= 126);
/** RFC 3164 TAG: printable, and none of the characters that end it ("[", "]", ":"). */
export const TAG_CHARS = table((c) => c >= 33 && c <= 126 && c !== 0x5b && c !== 0x5d && c !== 0x3a);
/** A PID inside "[...]". */
export const PID_CHARS = table((c) => c >= 33 && c <= 126 && c !== 0x5b && c !== 0x5d);
/** SD-NAME: PRINTUSASCII except '=', SP, ']' and '"'. */
export const SD_NAME_CHARS = table((c) => c >= 33 && c <= 126 && c !== 0x3d && c !== 0x5d && c !== 0x22);

/**
 * Writes text keeping only bytes allowed by `t`, each other character as one '_', at most
 * `max` bytes. Returns the bytes written (0 for an empty value: callers write NILVALUE).
 */
export function writeSanitizedText(w: ByteWriter, t: Uint8Array, max: number, s: string): number {
  const n = Math.min(s.length, max);
  w.ensure(n);
  const out = w.buf;
  let p = w.pos;
  let written = 0;
  for (let i = 0; i < s.length && written < max; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && t[c] === 1) out[p++] = c;
    else {
      out[p++] = UNDERSCORE;
      if (c >= 0xd800 && c <= 0xdbff) i++; // a surrogate pair is one character
    }
    written++;
  }
  w.pos = p;
  return written;
}

/** As writeSanitizedText over raw bytes: a UTF-8 sequence (or a stray byte) becomes one '_'. */
export function writeSanitizedRaw(w: ByteWriter, t: Uint8Array, max: number, src: Buffer, s: number, e: number): number {
  w.ensure(Math.min(e - s, max));
  const out = w.buf;
  let p = w.pos;
  let written = 0;
  let prevHigh = false;
  for (let i = s; i < e && written < max; i++) {
    const c = src[i]!;
    if (c < 128) {
      out[p++] = t[c] === 1 ? c : UNDERSCORE;
      prevHigh = false;
      written++;
    } else {
      // Continuation bytes (10xxxxxx) after a lead byte belong to the character already replaced.
      if (prevHigh && c < 0xc0) continue;
      out[p++] = UNDERSCORE;
      prevHigh = true;
      written++;
    }
  }
  w.pos = p;
  return written;
}

type RawField = 'hostname' | 'appname' | 'procid' | 'msgid';

/**
 * Writes a header field, sanitised to `t` and `max`: the override, else the raw bytes while
 * the event holds no value of its own, else the event's value (decoded or set: for valid
 * UTF-8 both give the same bytes). Returns the bytes written (0 = absent or empty).
 */
export function writeField(
  w: ByteWriter, ev: LogEvent, key: RawField, s: number, e: number, override: string | undefined, t: Uint8Array, max: number,
): number {
  if (override !== undefined) return writeSanitizedText(w, t, max, override);
  if (s >= 0 && (ev.d === null || ev.d[key] === undefined)) return writeSanitizedRaw(w, t, max, ev.buf, s, e);
  const v = ev[key];
  return v === null ? 0 : writeSanitizedText(w, t, max, v);
}

/**
 * The message is the raw range [msgStart, end) (which may be absent): not decoded yet, or
 * decoded unchanged from bytes that are not valid UTF-8. Only then do bytes and text
 * differ (the text has U+FFFD), and the bytes are what was received.
 */
export function messageIsRaw(ev: LogEvent): boolean {
  const d = ev.d;
  if (d === null || d.message === undefined) return true;
  const v = d.message;
  if (v === null || v.indexOf('\uFFFD') < 0 || ev.msgStart < 0 || ev.msgStart > ev.end) return false;
  // UTF-16 length never exceeds the UTF-8 byte length (a bad byte decodes to one U+FFFD).
  return v.length <= ev.end - ev.msgStart && ev.buf.toString('utf8', ev.msgStart, ev.end) === v;
}

/** Writes MSG as bytes: raw when unchanged (invalid UTF-8 passes through), else UTF-8 text. */
export function writeMessage(ev: LogEvent, w: ByteWriter): void {
  if (messageIsRaw(ev)) {
    if (ev.msgStart >= 0 && ev.msgStart < ev.end) w.range(ev.buf, ev.msgStart, ev.end);
  } else {
    const m = ev.message;
    if (m) w.text(m);
  }
}

export function writeUint(w: ByteWriter, n: number): void {
  if (n < 10) { w.byte(0x30 + n); return; }
  if (n < 100) { w.ensure(2); w.buf[w.pos++] = 0x30 + ((n / 10) | 0); w.buf[w.pos++] = 0x30 + (n % 10); return; }
  if (n < 1000) {
    w.ensure(3);
    w.buf[w.pos++] = 0x30 + ((n / 100) | 0);
    w.buf[w.pos++] = 0x30 + (((n / 10) | 0) % 10);
    w.buf[w.pos++] = 0x30 + (n % 10);
    return;
  }
  w.text(String(n));
}

export function facilityOf(ev: LogEvent, opts: EncodeOptions): number {
  const f = opts.facility ?? ev.facility;
  return f === null || f < 0 || f > 23 ? 1 : f;
}

export function severityOf(ev: LogEvent, opts: EncodeOptions): number {
  const s = opts.severity ?? ev.severity;
  return s === null || s < 0 || s > 7 ? 5 : s;
}

/** "<PRI>"; events without facility or severity get user.notice, as RFC 3164 §4.3.3 says. */
export function writePri(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  w.byte(0x3c);
  writeUint(w, facilityOf(ev, opts) * 8 + severityOf(ev, opts));
  w.byte(0x3e);
}

/** The event's time in ms: its timestamp if it parses, else the time it was received. */
export function eventTimeMs(ev: LogEvent): number {
  // A received RFC 5424 stamp is read from its bytes: no string, no Date.parse.
  if (ev.asReceived('timestamp') && isRfc5424Timestamp(ev.buf, ev.tsStart, ev.tsEnd)) return rfc5424TimestampMs(ev.buf, ev.tsStart, ev.tsEnd);
  const ts = ev.timestamp;
  if (ts !== null) {
    const t = Date.parse(ts);
    if (!Number.isNaN(t)) return t;
  }
  return ev.receivedAt;
}

function digit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function two(buf: Buffer, p: number): number {
  return (buf[p]! - 0x30) * 10 + buf[p + 1]! - 0x30;
}

const STAMP_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/** RFC 5424 TIMESTAMP (RFC 3339, 1-6 fraction digits) over bytes, without making a string. */
export function isRfc5424Timestamp(buf: Buffer, s: number, e: number): boolean {
  if (e - s < 20) return false;
  for (let k = 0; k < STAMP_DIGITS.length; k++) if (!digit(buf[s + STAMP_DIGITS[k]!])) return false;
  if (buf[s + 4] !== 0x2d || buf[s + 7] !== 0x2d || buf[s + 10] !== 0x54 || buf[s + 13] !== 0x3a || buf[s + 16] !== 0x3a) return false;
  const mo = two(buf, s + 5), d = two(buf, s + 8), h = two(buf, s + 11), mi = two(buf, s + 14), se = two(buf, s + 17);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  let p = s + 19;
  if (buf[p] === 0x2e) {
    const f = ++p;
    while (p < e && digit(buf[p])) p++;
    if (p === f || p - f > 6) return false;
  }
  if (p + 1 === e && buf[p] === 0x5a) return true;
  if (p + 6 !== e || (buf[p] !== 0x2b && buf[p] !== 0x2d) || !digit(buf[p + 1]) || !digit(buf[p + 2]) ||
    buf[p + 3] !== 0x3a || !digit(buf[p + 4]) || !digit(buf[p + 5])) return false;
  return two(buf, p + 1) <= 23 && two(buf, p + 4) <= 59;
}

/** Milliseconds since the epoch of a stamp that isRfc5424Timestamp accepted (fraction cut to ms). */
function rfc5424TimestampMs(buf: Buffer, s: number, e: number): number {
  const year = two(buf, s) * 100 + two(buf, s + 2);
  let ms = Date.UTC(year, two(buf, s + 5) - 1, two(buf, s + 8), two(buf, s + 11), two(buf, s + 14), two(buf, s + 17));
  // Date.UTC reads years 0-99 as 1900-1999.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  let p = s + 19;
  if (buf[p] === 0x2e) {
    p++;
    let frac = 0, scale = 100;
    while (p < e && digit(buf[p])) {
      if (scale >= 1) frac += (buf[p]! - 0x30) * scale;
      scale /= 10;
      p++;
    }
    ms += frac;
  }
  if (buf[p] !== 0x5a) {
    const off = two(buf, p + 1) * 60 + two(buf, p + 4);
    ms -= (buf[p] === 0x2b ? 1 : -1) * off * 60_000;
  }
  return ms;
}

const LOOSE_ISO = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An ISO 8601 text as a valid RFC 5424 TIMESTAMP: as is when it already is one; more than
 * six fraction digits cut, "+0100"/"+01" offsets and a lower-case "z" fixed; other
 * parseable dates in UTC; null when it is no date.
 */
export function toRfc5424Timestamp(ts: string): string | null {
  if (RFC5424_TIMESTAMP.test(ts)) return ts;
  const m = LOOSE_ISO.exec(ts);
  if (m && m[4]) {
    let zone = m[4];
    if (zone === 'z') zone = 'Z';
    else if (zone.length === 3) zone += ':00';
    else if (zone.length === 5) zone = zone.slice(0, 3) + ':' + zone.slice(3);
    const out = `${m[1]}T${m[2]}${m[3] ? '.' + m[3].slice(0, 6) : ''}${zone}`;
    if (RFC5424_TIMESTAMP.test(out)) return out;
  }
  const t = Date.parse(ts);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** TIMESTAMP: the received RFC 5424 stamp as bytes, the event's ISO stamp, or the receive time (UTC, ms). */
export function write5424Timestamp(ev: LogEvent, w: ByteWriter): void {
  if (ev.asReceived('timestamp') && isRfc5424Timestamp(ev.buf, ev.tsStart, ev.tsEnd)) {
    w.range(ev.buf, ev.tsStart, ev.tsEnd);
    return;
  }
  const ts = ev.timestamp;
  const out = ts === null ? null : toRfc5424Timestamp(ts);
  w.text(out ?? new Date(ev.receivedAt).toISOString());
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let stampSecond = NaN;
let stampText = '';

/** "Mmm dd hh:mm:ss" in local time (day padded with a space), cached per second. */
export function rfc3164Stamp(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== stampSecond) {
    const t = new Date(sec * 1000);
    const day = t.getDate();
    const p2 = (n: number) => (n < 10 ? '0' + n : String(n));
    stampText = `${MONTHS[t.getMonth()]} ${day < 10 ? ' ' + day : day} ${p2(t.getHours())}:${p2(t.getMinutes())}:${p2(t.getSeconds())}`;
    stampSecond = sec;
  }
  return stampText;
}

/** The RFC 3164 TIMESTAMP: the received stamp as bytes when it is one, else the event time converted to local time. */
export function write3164Timestamp(ev: LogEvent, w: ByteWriter): void {
  if (ev.tsStart >= 0 && (ev.flags & EventFlag.TS_RFC3164) !== 0 && ev.tsEnd - ev.tsStart === 15 &&
    (ev.d === null || ev.d.timestamp === undefined)) {
    w.range(ev.buf, ev.tsStart, ev.tsEnd);
    return;
  }
  w.text(rfc3164Stamp(eventTimeMs(ev)));
}

/**
 * RFC 5424 header "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID", without the SP that
 * follows; absent fields are NILVALUE, every field PRINTUSASCII within RFC 5424's lengths.
 */
export function write5424Header(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  writePri(ev, w, opts);
  w.byte(0x31);
  w.byte(SP);
  write5424Timestamp(ev, w);
  w.byte(SP);
  if (writeField(w, ev, 'hostname', ev.hostStart, ev.hostEnd, opts.hostname, PRINTUSASCII, MAX_HOSTNAME) === 0) w.byte(NIL);
  w.byte(SP);
  if (writeField(w, ev, 'appname', ev.appStart, ev.appEnd, opts.appname, PRINTUSASCII, MAX_APPNAME) === 0) w.byte(NIL);
  w.byte(SP);
  if (writeField(w, ev, 'procid', ev.pidStart, ev.pidEnd, undefined, PRINTUSASCII, MAX_PROCID) === 0) w.byte(NIL);
  w.byte(SP);
  if (writeField(w, ev, 'msgid', ev.msgidStart, ev.msgidEnd, undefined, PRINTUSASCII, MAX_MSGID) === 0) w.byte(NIL);
}

/** STRUCTURED-DATA: the received elements as bytes when unchanged and valid, else formatted from ev.structuredData. */
export function writeStructuredData(ev: LogEvent, w: ByteWriter): void {
  const d = ev.d;
  if (d === null || d.structuredData === undefined) {
    if (ev.sdStart < 0) { w.byte(NIL); return; }
    if (scanStructuredData(ev.buf, ev.sdStart, ev.sdEnd, true) === ev.sdEnd) {
      w.range(ev.buf, ev.sdStart, ev.sdEnd);
      return;
    }
  }
  const sd = ev.structuredData;
  let any = false;
  if (sd !== null) {
    for (const id of Object.keys(sd)) {
      any = true;
      w.byte(0x5b);
      if (writeSanitizedText(w, SD_NAME_CHARS, MAX_SD_NAME, id) === 0) w.byte(UNDERSCORE);
      const params = sd[id]!;
      for (const name of Object.keys(params)) {
        const v = params[name]!;
        for (const value of typeof v === 'string' ? [v] : v) {
          w.byte(SP);
          if (writeSanitizedText(w, SD_NAME_CHARS, MAX_SD_NAME, name) === 0) w.byte(UNDERSCORE);
          w.byte(0x3d);
          w.byte(0x22);
          // RFC 5424 §6.3.3: '"', '\' and ']' are escaped with a backslash in PARAM-VALUE.
          w.text(/["\\\]]/.test(value) ? value.replace(/["\\\]]/g, '\\$&') : value);
          w.byte(0x22);
        }
      }
      w.byte(0x5d);
    }
  }
  if (!any) w.byte(NIL);
}

/**
 * RFC 3164 header "<PRI>Mmm dd hh:mm:ss HOST " and, with `tag`, "TAG[PID]: " (nothing when
 * the event has no program). HOST falls back to the peer address, then "-".
 */
export function write3164Header(ev: LogEvent, w: ByteWriter, opts: EncodeOptions, tag: boolean): void {
  writePri(ev, w, opts);
  write3164Timestamp(ev, w);
  w.byte(SP);
  if (writeField(w, ev, 'hostname', ev.hostStart, ev.hostEnd, opts.hostname, PRINTUSASCII, MAX_HOSTNAME) === 0) {
    const peer = ev.source.address;
    if (!peer || writeSanitizedText(w, PRINTUSASCII, MAX_HOSTNAME, peer) === 0) w.byte(NIL);
  }
  w.byte(SP);
  if (!tag) return;
  if (writeField(w, ev, 'appname', ev.appStart, ev.appEnd, opts.appname, TAG_CHARS, MAX_APPNAME) === 0) return;
  const pidAt = w.pos;
  w.byte(0x5b);
  if (writeField(w, ev, 'procid', ev.pidStart, ev.pidEnd, undefined, PID_CHARS, MAX_PROCID) === 0) w.pos = pidAt;
  else w.byte(0x5d);
  w.byte(0x3a);
  w.byte(SP);
}

/** The syslog header before a payload format (cef, leef, kv, json, template), with its trailing SP. */
export function writePayloadHeader(ev: LogEvent, w: ByteWriter, opts: EncodeOptions, dflt: SyslogHeader, tag: boolean): void {
  const h = opts.header ?? dflt;
  if (h === 'rfc3164') write3164Header(ev, w, opts, tag);
  else if (h === 'rfc5424') {
    write5424Header(ev, w, opts);
    w.byte(SP);
    w.byte(NIL); // the payload is the message; structured data has no place in it
    w.byte(SP);
  }
}

const ipOfSource = new WeakMap<EventSource, string | null>();

/** The peer's IP address, or null (a unix socket path, or no peer); cached per source. */
export function sourceIp(ev: LogEvent): string | null {
  const s = ev.source;
  let ip = ipOfSource.get(s);
  if (ip === undefined) {
    ip = s.address !== null && isIP(s.address) !== 0 ? s.address : null;
    ipOfSource.set(s, ip);
  }
  return ip;
}

/** A parsed field as text: strings as they are, other values as JSON; null when absent. */
export function fieldText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Syslog severity 0..7 as a SIEM severity 0..10 (CEF Severity, LEEF sev). */
export const SIEM_SEVERITY = [10, 9, 8, 7, 6, 4, 3, 1] as const;

/** Event id for CEF SignatureID and LEEF EventID: MSGID, else APP-NAME, else "syslog". */
export function eventId(ev: LogEvent, opts: EncodeOptions): string {
  return ev.msgid || opts.appname || ev.appname || 'syslog';
}

/** The package version, for the CEF/LEEF device version default. */
export const SLUICE_VERSION = '0.1.0';
