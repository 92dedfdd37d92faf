// Syslog message parsing on Buffers: RFC 5424, RFC 3164 and the loose variants devices send.
//
// The parser fills a LogEvent with offsets into the buffer; it makes no strings. Field
// values are decoded only when something reads them (see LogEvent).

import { EventFlag, Format, type LogEvent } from '../event/log-event.js';
import { scanStructuredData } from './structured-data.js';
import { monthAt, RFC5424_TIMESTAMP } from './timestamp.js';

export type ParseMode = 'auto' | 'rfc5424' | 'rfc3164' | 'none';

const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const DASH = 0x2d;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/**
 * Parses buf[start, end) into ev. Returns null on success, or a reason when `mode` is
 * strict and the message does not conform; the event then holds the whole text as MSG
 * with the UNPARSED flag, so nothing is lost.
 */
export function parseSyslog(ev: LogEvent, buf: Buffer, start: number, end: number, mode: ParseMode): string | null {
  ev.buf = buf;
  ev.start = start;
  ev.end = end;
  if (mode === 'none') {
    ev.format = Format.NONE;
    ev.msgStart = start;
    return null;
  }
  // PRI
  let p = start;
  let pri = -1;
  if (buf[p] === LT) {
    let q = p + 1;
    let v = 0;
    while (q < end && q - p <= 3 && isDigit(buf[q])) v = v * 10 + buf[q++]! - 0x30;
    if (q > p + 1 && buf[q] === GT && v <= 191) {
      pri = v;
      p = q + 1;
    }
  }
  ev.pri = pri;
  // Without PRI, "1 2026-…" is still RFC 5424 to a loose reader (rsyslog takes it so).
  const looks5424 = pri >= 0 ? isDigit(buf[p]) && buf[p] !== 0x30 : mode === 'auto' && buf[p] === 0x31 && buf[p + 1] === SP && (buf[p + 2] === DASH || isoTimestampLength(buf, p + 2, end) > 0);
  if (mode !== 'rfc3164' && looks5424) {
    const r = parse5424(ev, buf, p, end, mode === 'rfc5424');
    if (r === null) return null;
    if (mode === 'rfc5424') return unparsed(ev, start, r);
  } else if (mode === 'rfc5424') {
    return unparsed(ev, start, pri < 0 ? 'no PRI ("<N>") at the start' : 'no VERSION after PRI');
  }
  const r = parse3164(ev, buf, p, end, mode === 'rfc3164');
  if (r !== null) return unparsed(ev, start, r);
  return null;
}

function unparsed(ev: LogEvent, start: number, reason: string): string {
  reset(ev);
  ev.format = Format.NONE;
  ev.msgStart = start;
  ev.flags |= EventFlag.UNPARSED;
  return reason;
}

function reset(ev: LogEvent): void {
  ev.version = -1;
  ev.tsStart = ev.tsEnd = ev.hostStart = ev.hostEnd = ev.appStart = ev.appEnd = -1;
  ev.pidStart = ev.pidEnd = ev.msgidStart = ev.msgidEnd = ev.sdStart = ev.sdEnd = -1;
  ev.flags &= ~EventFlag.TS_RFC3164;
}

/** Offset of the next SP at or after p, or end. */
function token(buf: Buffer, p: number, end: number): number {
  while (p < end && buf[p] !== SP) p++;
  return p;
}

function printUsAscii(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c < 33 || c > 126) return false;
  }
  return true;
}

const HEADER_NAMES = ['HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID'];
const HEADER_LIMITS = [255, 48, 128, 32];

/** RFC 5424 from just after PRI. Returns null or the reason it does not conform. */
function parse5424(ev: LogEvent, buf: Buffer, p: number, end: number, strict: boolean): string | null {
  // VERSION = NONZERO-DIGIT 0*2DIGIT
  let v = 0;
  const vs = p;
  while (p < end && isDigit(buf[p])) v = v * 10 + buf[p++]! - 0x30;
  if (p - vs > 3 || buf[p] !== SP) return 'VERSION is not 1 to 3 digits followed by a space';
  ev.version = v;
  p++;
  // Loose: runs of spaces between header fields (seen from hand-rolled senders) count as one.
  if (!strict) while (buf[p] === SP) p++;
  // TIMESTAMP
  let e = token(buf, p, end);
  if (e >= end) return 'header ends after VERSION';
  if (e - p === 1 && buf[p] === DASH) ev.tsStart = ev.tsEnd = -1;
  else {
    if (!isDigit(buf[p]) || buf[p + 4] !== DASH) return 'TIMESTAMP is neither "-" nor ISO 8601';
    if (strict && !RFC5424_TIMESTAMP.test(buf.toString('latin1', p, e))) return 'TIMESTAMP is not a valid RFC 3339 date-time';
    ev.tsStart = p;
    ev.tsEnd = e;
  }
  p = e + 1;
  if (!strict) while (buf[p] === SP) p++;
  // HOSTNAME, APP-NAME, PROCID, MSGID: written straight into the event; a failure below
  // sends the message to the RFC 3164 parser, which resets them.
  for (let i = 0; i < 4; i++) {
    e = token(buf, p, end);
    if (e >= end) return `header ends in ${HEADER_NAMES[i]}`;
    if (e === p) return `${HEADER_NAMES[i]} is empty (two spaces)`;
    let s = p, t = e;
    if (e - p === 1 && buf[p] === DASH) s = t = -1;
    else if (strict && (e - p > HEADER_LIMITS[i]! || !printUsAscii(buf, p, e))) {
      return `${HEADER_NAMES[i]} is longer than ${HEADER_LIMITS[i]} or not printable US-ASCII`;
    }
    if (i === 0) { ev.hostStart = s; ev.hostEnd = t; }
    else if (i === 1) { ev.appStart = s; ev.appEnd = t; }
    else if (i === 2) { ev.pidStart = s; ev.pidEnd = t; }
    else { ev.msgidStart = s; ev.msgidEnd = t; }
    p = e + 1;
    if (!strict && i < 3) while (buf[p] === SP) p++;
  }
  // STRUCTURED-DATA
  if (p < end && buf[p] === DASH && (p + 1 === end || buf[p + 1] === SP)) {
    ev.sdStart = ev.sdEnd = -1;
    p++;
  } else if (p < end && buf[p] === LBRACKET) {
    const sdEnd = scanStructuredData(buf, p, end, strict);
    if (sdEnd < 0) {
      if (strict) return 'STRUCTURED-DATA is malformed';
      // Loose: the header stands; the text that is not valid SD is kept as the message.
      ev.sdStart = ev.sdEnd = -1;
      (ev.fields ??= {}).malformed_sd = true;
      ev.msgStart = p;
      ev.format = Format.RFC5424;
      return null;
    }
    ev.sdStart = p;
    ev.sdEnd = sdEnd;
    p = sdEnd;
  } else return 'STRUCTURED-DATA is neither "-" nor "[...]"';
  if (p < end) {
    if (buf[p] !== SP) return 'no space between STRUCTURED-DATA and MSG';
    p++;
    if (buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) {
      ev.flags |= EventFlag.BOM;
      p += 3;
    }
    ev.msgStart = p;
  } else ev.msgStart = -1;
  ev.format = Format.RFC5424;
  return null;
}

/**
 * Length of an RFC 3164 timestamp at p: "Mmm dd hh:mm:ss" with optional year after the
 * day ("Mmm dd yyyy hh:mm:ss") and optional fraction; 0 if none.
 */
function bsdTimestampLength(buf: Buffer, p: number, end: number): number {
  if (p + 15 > end || monthAt(buf, p) < 0 || buf[p + 3] !== SP) return 0;
  let q = p + 4;
  if (buf[q] === SP) q++;
  if (!isDigit(buf[q])) return 0;
  q++;
  if (isDigit(buf[q])) q++;
  if (buf[q] !== SP) return 0;
  q++;
  const hadYear = isDigit(buf[q]) && isDigit(buf[q + 1]) && isDigit(buf[q + 2]) && isDigit(buf[q + 3]) && buf[q + 4] === SP;
  if (hadYear) q += 5;
  if (!(isDigit(buf[q]) && isDigit(buf[q + 1]) && buf[q + 2] === COLON && isDigit(buf[q + 3]) && isDigit(buf[q + 4]) &&
    buf[q + 5] === COLON && isDigit(buf[q + 6]) && isDigit(buf[q + 7]))) return 0;
  q += 8;
  if (buf[q] === 0x2e && isDigit(buf[q + 1])) {
    q++;
    while (isDigit(buf[q])) q++;
  }
  // A year after the time ("Nov 23 12:00:00 2025 host"), as syslog-ng reads it: four digits
  // then a space are a year, not a host, when no year came before.
  if (!hadYear && buf[q] === SP && isYear(buf, q + 1) && buf[q + 5] === SP) q += 5;
  return q <= end ? q - p : 0;
}

function isYear(buf: Buffer, p: number): boolean {
  return (buf[p] === 0x31 && buf[p + 1] === 0x39 || buf[p] === 0x32 && buf[p + 1] === 0x30) && isDigit(buf[p + 2]) && isDigit(buf[p + 3]);
}

/** Length of an ISO 8601 timestamp token ("2026-11-23T18:28:41.123+01:00") at p; 0 if none. */
function isoTimestampLength(buf: Buffer, p: number, end: number): number {
  if (!(isDigit(buf[p]) && isDigit(buf[p + 3]) && buf[p + 4] === DASH && isDigit(buf[p + 5]) && buf[p + 7] === DASH && buf[p + 10] === 0x54)) return 0;
  const e = token(buf, p, end);
  return e - p >= 19 ? e - p : 0;
}

/** Letters, digits, `-._:%`, and any byte of a multi-byte UTF-8 character (IDN host names sent as UTF-8). */
function isHostnameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === DASH || c === 0x2e || c === 0x5f || c === COLON || c === 0x25 || c >= 0x80;
}

/** Whether [p, e) could be a host name: hostname characters, not ending in ':' (a TAG). */
function hostnameToken(buf: Buffer, p: number, e: number): boolean {
  if (e <= p || e - p > 255 || buf[e - 1] === COLON) return false;
  for (let i = p; i < e; i++) if (!isHostnameChar(buf[i]!)) return false;
  return true;
}

/** End of a TAG at p ("name:" or "name[pid]:"): the offset after its ':' (or ']'), or -1. */
function tagEnd(buf: Buffer, p: number, end: number): number {
  let q = p;
  while (q < end && q - p < 64) {
    const c = buf[q]!;
    if (c === COLON || c === LBRACKET || c === SP || c < 33 || c > 126) break;
    q++;
  }
  if (q === p) return -1;
  if (buf[q] === COLON) return q + 1 === end || buf[q + 1] === SP ? q + 1 : -1;
  if (buf[q] !== LBRACKET) return -1;
  let r = q + 1;
  while (r < end && r - q <= 129 && buf[r] !== RBRACKET && buf[r] !== SP) r++;
  return buf[r] === RBRACKET && buf[r + 1] === COLON ? r + 2 : -1;
}

/**
 * RFC 3164 and its real-world variants, from just after PRI (or the start without one):
 * optional Cisco sequence number "123: ", optional "*" or "." before the stamp, a BSD or
 * ISO timestamp (optionally followed by ":"), an optional hostname, and an optional
 * TAG ("name:" or "name[pid]:"). Whatever does not match is message text.
 */
function parse3164(ev: LogEvent, buf: Buffer, p: number, end: number, strict: boolean): string | null {
  reset(ev);
  // Cisco IOS sequence number: "<189>52: *Mar  1 ..."
  if (isDigit(buf[p])) {
    let q = p;
    while (q < end && isDigit(buf[q])) q++;
    if (buf[q] === COLON && buf[q + 1] === SP && q - p <= 10) {
      (ev.fields ??= {}).sequence = Number(buf.toString('latin1', p, q));
      p = q + 2;
    }
  }
  let tsP = p;
  // A space (or a few) between PRI and the date: both rsyslog and syslog-ng skip it.
  if (buf[tsP] === SP) {
    let q = tsP;
    while (buf[q] === SP && q - tsP < 4) q++;
    if (monthAt(buf, q) >= 0 || isDigit(buf[q])) tsP = q;
  }
  if (buf[tsP] === 0x2a || buf[tsP] === 0x2e) tsP++; // Cisco: "*" unsynchronised, "." was synchronised
  let tsLen = bsdTimestampLength(buf, tsP, end);
  if (tsLen > 0) ev.flags |= EventFlag.TS_RFC3164;
  else tsLen = isoTimestampLength(buf, tsP, end);
  let haveTs = false;
  if (tsLen > 0) {
    let q = tsP + tsLen;
    if (buf[q] === COLON) q++; // Cisco "00:01:23.456:"
    if (q === end || buf[q] === SP) {
      ev.tsStart = tsP;
      ev.tsEnd = tsP + tsLen;
      p = q < end ? q + 1 : q;
      haveTs = true;
    } else ev.flags &= ~EventFlag.TS_RFC3164;
  }
  if (strict) {
    if (ev.pri < 0) return 'no PRI ("<N>") at the start';
    if (!haveTs) return 'no RFC 3164 timestamp ("Mmm dd hh:mm:ss") after PRI';
  }
  // HOSTNAME: after a timestamp, a token that is not itself a TAG. Without a timestamp
  // (rsyslog's reading of "<13>web-01 sshd[12]: …"), only when a TAG follows and the token
  // looks like a host (a dot, a digit or a hyphen) or the TAG has a [pid], so that prose
  // such as "<13>Failed password: …" is not cut into a host and a program.
  if (p < end) {
    const e = token(buf, p, end);
    if (e < end && hostnameToken(buf, p, e)) {
      let take = haveTs;
      if (!take) {
        const t = tagEnd(buf, e + 1, end);
        take = t > 0 && (buf[t - 2] === RBRACKET || looksLikeHost(buf, p, e));
      }
      if (take) {
        ev.hostStart = p;
        ev.hostEnd = e;
        p = e + 1;
      }
    }
  }
  // Snare's Windows event form: "MSWinEventLog<TAB>criticality<TAB>log<TAB>…".
  if (end - p > 14 && buf[p + 13] === 0x09 && buf[p] === 0x4d && SNARE_TAG.equals(buf.subarray(p, p + 13))) {
    ev.appStart = p; ev.appEnd = p + 13;
    ev.msgStart = p + 14;
    snareFields(ev, buf, p + 14, end);
    ev.format = Format.RFC3164;
    return null;
  }
  // TAG: up to 48 name characters, optional [pid], then ':'
  let q = p;
  while (q < end && q - p < 64) {
    const c = buf[q]!;
    if (c === COLON || c === LBRACKET || c === SP || c < 33 || c > 126) break;
    q++;
  }
  if (q > p) {
    if (buf[q] === COLON && (q + 1 === end || buf[q + 1] === SP)) {
      ev.appStart = p; ev.appEnd = q;
      p = q + 1;
    } else if (buf[q] === LBRACKET) {
      const ps = q + 1;
      let r = ps;
      while (r < end && r - ps <= 128 && buf[r] !== RBRACKET && buf[r] !== SP) r++;
      if (buf[r] === RBRACKET && (buf[r + 1] === COLON || buf[r + 1] === SP || r + 1 === end)) {
        ev.appStart = p; ev.appEnd = q;
        if (r > ps) { ev.pidStart = ps; ev.pidEnd = r; }
        p = buf[r + 1] === COLON ? r + 2 : r + 1;
      }
    }
  }
  if (ev.appStart >= 0 && buf[p] === SP) p++;
  ev.msgStart = p <= end ? p : end;
  ev.format = Format.RFC3164;
  return null;
}

function looksLikeHost(buf: Buffer, p: number, e: number): boolean {
  for (let i = p; i < e; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === DASH || isDigit(c)) return true;
  }
  return false;
}

const SNARE_TAG = Buffer.from('MSWinEventLog');

/** Snare for Windows' tab-separated columns after "MSWinEventLog", as fields. */
const SNARE_COLUMNS = ['criticality', 'log', 'counter', 'event_time', 'event_id', 'event_source', 'user', 'sid_type', 'event_type', 'computer', 'category', 'data', 'description', 'md5'];

function snareFields(ev: LogEvent, buf: Buffer, p: number, end: number): void {
  const cols = buf.toString('utf8', p, end).split('\t');
  const fields = (ev.fields ??= {});
  const snare: Record<string, string> = {};
  for (let i = 0; i < SNARE_COLUMNS.length && i < cols.length; i++) if (cols[i] !== '') snare[SNARE_COLUMNS[i]!] = cols[i]!;
  fields.snare = snare;
}
