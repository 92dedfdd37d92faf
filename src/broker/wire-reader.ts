// Reads sluice's own broker lines without JSON.parse: the fixed layout writeEventJson writes.
//
// JSON.parse of a whole line, the object it builds and the checks that it is one of ours were
// most of an aggregator's CPU per event. Sluice's lines always have the same 13 keys in the
// same order with no whitespace, so a reader that walks exactly that layout gets the values
// straight from the bytes. Anything it does not recognise exactly — another key order,
// whitespace, an escape it cannot take as it is, a value of another type, structured data,
// fields with tags, bytes that are not UTF-8 — answers null and the line goes the JSON.parse
// way, so a line read here gives the event JSON.parse would have given, and malformed JSON
// still fails with JSON.parse's own message.

import { isUtf8 } from 'node:buffer';
import type { EventJson } from '../event/log-event.js';
import { plainJsonWord } from '../codec/json-bytes.js';

/** The values of one of sluice's own lines (received_at as its text; the source as its peer's values). */
export type OwnLine = Pick<EventJson, 'timestamp' | 'facility' | 'severity' | 'version' | 'hostname' | 'appname' | 'procid' | 'msgid' | 'message'> & {
  receivedAt: string;
  address: string | null;
  port: number | null;
  tlsPeer: string | null;
  fields: Record<string, unknown> | null;
};

/** Buffer's own decoders, without toString's argument handling (a third of a short string's cost). */
interface Slices { latin1Slice(s: number, e: number): string; utf8Slice(s: number, e: number): string }
const slice = (b: Buffer, s: number, e: number, utf8: boolean): string =>
  utf8 ? (b as unknown as Slices).utf8Slice(s, e) : (b as unknown as Slices).latin1Slice(s, e);

/** A literal as little-endian 32-bit words and its last length % 4 bytes: compared a word at a time. */
interface Literal { words: Int32Array; tail: Uint8Array; length: number }
const ascii = (t: string): Literal => {
  const b = Buffer.from(t, 'latin1');
  const n = b.length >> 2;
  const words = new Int32Array(n);
  for (let i = 0; i < n; i++) words[i] = b.readInt32LE(i * 4);
  return { words, tail: new Uint8Array(b.subarray(n * 4)), length: b.length };
};
const K_TIMESTAMP = ascii('{"timestamp":');
const K_RECEIVED = ascii(',"received_at":"');
const K_FACILITY = ascii('","facility":');
const K_SEVERITY = ascii(',"severity":');
const K_VERSION = ascii(',"version":');
const K_HOSTNAME = ascii(',"hostname":');
const K_APPNAME = ascii(',"appname":');
const K_PROCID = ascii(',"procid":');
const K_MSGID = ascii(',"msgid":');
const K_SD_NULL = ascii(',"structured_data":null,"message":');
const K_SOURCE = ascii(',"source":{"name":');
const K_TRANSPORT = ascii(',"transport":');
const K_ADDRESS = ascii(',"address":');
const K_PORT = ascii(',"port":');
const K_TLS_PEER = ascii(',"tls_peer":');
const K_FIELDS = ascii('},"fields":');

/** A recent string per field, reused while the same bytes come again (host, app, pid, stamp of one second). */
class StringCache {
  private readonly bytes = Buffer.alloc(64);
  private readonly view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
  private len = -1;
  private value = '';

  /** buf[s, e) as a string; dv views buf (the bytes are compared four at a time). */
  get(b: Buffer, dv: DataView<ArrayBufferLike>, s: number, e: number, utf8: boolean): string {
    const n = e - s;
    if (n === this.len) {
      const c = this.view;
      let i = 0;
      for (; i + 4 <= n; i += 4) if (c.getInt32(i, true) !== dv.getInt32(s + i, true)) break;
      if (i + 4 > n) {
        const cb = this.bytes;
        while (i < n && cb[i] === b[s + i]) i++;
        if (i === n) return this.value;
      }
    }
    const v = slice(b, s, e, utf8);
    if (n <= this.bytes.length) {
      b.copy(this.bytes, 0, s, e);
      this.len = n;
      this.value = v;
    }
    return v;
  }
}

/**
 * The reader of one decoder: the position it reached, whether a string had an escape or a
 * non-ASCII byte, and the string caches. Not reentrant (one line at a time).
 */
export class OwnLineReader {
  private p = 0;
  /** End of the line being read. */
  private e = 0;
  /** A view of the buffer being read, for the word compares (made again when the buffer changes). */
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private dvOf: Buffer | null = null;
  /** The line had a byte ≥ 0x80: checked for UTF-8 once at the end. */
  private high = false;
  private readonly tsCache = new StringCache();
  private readonly receivedCache = new StringCache();
  private readonly hostCache = new StringCache();
  private readonly appCache = new StringCache();
  private readonly pidCache = new StringCache();
  private readonly msgidCache = new StringCache();
  private readonly addressCache = new StringCache();
  private readonly peerCache = new StringCache();
  private readonly out: OwnLine = {
    timestamp: null, receivedAt: '', facility: null, severity: null, version: null,
    hostname: null, appname: null, procid: null, msgid: null, message: null,
    address: null, port: null, tlsPeer: null, fields: null,
  };

  /** The values of buf[s, e) when it is exactly one of sluice's lines, else null. The result is reused by the next call. */
  read(b: Buffer, s: number, e: number): OwnLine | null {
    const o = this.out;
    if (b !== this.dvOf) { this.dv = new DataView(b.buffer, b.byteOffset, b.length); this.dvOf = b; }
    this.p = s;
    this.e = e;
    this.high = false;
    if (!this.lit(b, K_TIMESTAMP)) return null;
    const ts = this.string(b, e, this.tsCache);
    if (ts === undefined || !this.lit(b, K_RECEIVED)) return null;
    o.timestamp = ts;
    // An ISO time: no quote, backslash, control or non-ASCII byte inside (anything else is left to JSON.parse).
    let p = this.p;
    const r = p;
    while (p < e && b[p]! > 0x22 && b[p] !== 0x5c && b[p]! < 0x80) p++;
    o.receivedAt = this.receivedCache.get(b, this.dv, r, p, false);
    this.p = p;
    if (!this.lit(b, K_FACILITY)) return null;
    const facility = this.int(b, e, 23);
    if (facility === undefined || !this.lit(b, K_SEVERITY)) return null;
    const severity = this.int(b, e, 7);
    if (severity === undefined || !this.lit(b, K_VERSION)) return null;
    const version = this.int(b, e, Number.MAX_SAFE_INTEGER);
    if (version === undefined || !this.lit(b, K_HOSTNAME)) return null;
    o.facility = facility; o.severity = severity; o.version = version;
    const hostname = this.string(b, e, this.hostCache);
    if (hostname === undefined || !this.lit(b, K_APPNAME)) return null;
    const appname = this.string(b, e, this.appCache);
    if (appname === undefined || !this.lit(b, K_PROCID)) return null;
    const procid = this.string(b, e, this.pidCache);
    if (procid === undefined || !this.lit(b, K_MSGID)) return null;
    const msgid = this.string(b, e, this.msgidCache);
    if (msgid === undefined || !this.lit(b, K_SD_NULL)) return null;
    const message = this.string(b, e, null);
    if (message === undefined) return null;
    o.hostname = hostname; o.appname = appname; o.procid = procid; o.msgid = msgid; o.message = message;
    // name and transport become the broker source's: only their form is checked.
    if (!this.lit(b, K_SOURCE) || this.string(b, e, null, true) == null || !this.lit(b, K_TRANSPORT) || this.string(b, e, null, true) == null) return null;
    if (!this.lit(b, K_ADDRESS)) return null;
    const address = this.string(b, e, this.addressCache);
    if (address === undefined || !this.lit(b, K_PORT)) return null;
    const port = this.int(b, e, Number.MAX_SAFE_INTEGER);
    if (port === undefined || !this.lit(b, K_TLS_PEER)) return null;
    const tlsPeer = this.string(b, e, this.peerCache);
    if (tlsPeer === undefined) return null;
    if (!this.lit(b, K_FIELDS)) return null;
    o.address = address; o.port = port; o.tlsPeer = tlsPeer;
    p = this.p;
    if (b[e - 1] !== 0x7d || b[p] !== 0x7b) return null;
    if (p + 3 === e && b[p + 1] === 0x7d) o.fields = null;
    else {
      const fields = parseFields(b, p, e - 1);
      if (fields === null) return null;
      o.fields = fields;
      this.high = true; // not scanned here: the UTF-8 check below covers it
    }
    // JSON.parse would have read the line's text with U+FFFD for bytes that are not UTF-8.
    if (this.high && !isUtf8(b.subarray(s, e))) return null;
    return o;
  }

  /** Matches a literal at p and moves past it. */
  private lit(b: Buffer, k: Literal): boolean {
    let p = this.p;
    if (p + k.length > this.e) return false;
    const dv = this.dv;
    const words = k.words;
    for (let i = 0; i < words.length; i++, p += 4) if (dv.getInt32(p, true) !== words[i]) return false;
    const tail = k.tail;
    for (let i = 0; i < tail.length; i++) if (b[p + i] !== tail[i]) return false;
    this.p = p + tail.length;
    return true;
  }

  /** `null` at p (after its n): null, else undefined (a form left to JSON.parse). */
  private nullAt(b: Buffer, p: number): null | undefined {
    if (b[p + 1] !== 0x75 || b[p + 2] !== 0x6c || b[p + 3] !== 0x6c) return undefined;
    this.p = p + 4;
    return null;
  }

  /**
   * A JSON string or null at p (undefined: neither, or a form left to JSON.parse). Strings
   * with escapes are decoded by JSON.parse of just that string. `check` only validates.
   */
  private string(b: Buffer, e: number, cache: StringCache | null, check = false): string | null | undefined {
    let p = this.p;
    const c0 = b[p];
    if (c0 === 0x6e) return this.nullAt(b, p);
    if (c0 !== 0x22) return undefined;
    const start = ++p;
    let high = false;
    let escaped = false;
    // Plain printable ASCII four bytes at a time (SWAR): no control, quote, backslash or high bit in the word.
    const dv = this.dv;
    while (p + 4 <= e) {
      if (!plainJsonWord(dv.getInt32(p, true))) break;
      p += 4;
    }
    for (;;) {
      if (p >= e) return undefined;
      const c = b[p]!;
      if (c === 0x22) break;
      if (c < 0x20) return undefined; // a raw control: malformed, JSON.parse says why
      if (c === 0x5c) { escaped = true; p += 2; continue; }
      if (c >= 0x80) high = true;
      p++;
    }
    this.p = p + 1;
    if (high) this.high = true;
    if (check) return '';
    if (escaped) {
      try {
        return JSON.parse(b.toString('utf8', start - 1, p + 1)) as string;
      } catch {
        return undefined;
      }
    }
    if (cache !== null) return cache.get(b, dv, start, p, high);
    return slice(b, start, p, high);
  }

  /** null, or a non-negative integer ≤ max written as JSON.stringify writes it (undefined otherwise). */
  private int(b: Buffer, e: number, max: number): number | null | undefined {
    let p = this.p;
    const c0 = b[p];
    if (c0 === 0x6e) return this.nullAt(b, p);
    if (c0 === undefined || c0 < 0x30 || c0 > 0x39) return undefined;
    let v = c0 - 0x30;
    p++;
    while (p < e) {
      const c = b[p]!;
      if (c < 0x30 || c > 0x39) break;
      if (v === 0) return undefined; // a leading zero is not JSON
      v = v * 10 + (c - 0x30);
      p++;
    }
    if (v > max || b[p] === 0x2e || b[p] === 0x65 || b[p] === 0x45) return undefined; // 1.5, 1e3: left to JSON.parse
    this.p = p;
    return v;
  }
}

/** The fields object buf[s, e) (an object without tags), or null (left to the whole line's JSON.parse). */
function parseFields(b: Buffer, s: number, e: number): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8', s, e));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.hasOwn(v, 'tags')) return null;
  let any = false;
  for (const _ in v) { any = true; break; }
  return any ? (v as Record<string, unknown>) : null;
}
