// Events as COPY binary-format tuples for the PostgreSQL store (copy.ts adds the header and trailer).
//
// Binary, not text: the server then parses no timestamps, no hex for the raw bytes and no
// escapes (measured with bench/micro/pg-store.ts, see README "PostgreSQL"), and the writer
// formats no ISO times, hex or escapes either. Each tuple: int16 field count, then per field
// int32 length (-1: NULL) and the value in its type's binary form.

import { ByteWriter } from '../../codec/byte-writer.js';
import { EventFlag, type LogEvent } from '../../event/log-event.js';
import { writePlainJsonString, writeStructuredDataJson } from '../../codec/json-bytes.js';

/** PostgreSQL text cannot hold NUL; the raw bytes keep the original. */
function noNul(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, '\uFFFD') : s;
}

function deepNoNul(v: unknown): unknown {
  if (typeof v === 'string') return noNul(v);
  if (Array.isArray(v)) return v.map(deepNoNul);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[noNul(k)] = deepNoNul(x);
    return o;
  }
  return v;
}

/** JSON of a value decoded from the event, with NULs as U+FFFD (jsonb rejects \u0000 escapes). */
function jsonNoNul(v: unknown): string {
  const s = JSON.stringify(v);
  return s.includes('\\u0000') ? JSON.stringify(deepNoNul(v)) : s;
}

const K_TIMESTAMP = Buffer.from('"timestamp":');
const K_VERSION = Buffer.from('"version":');
const K_SD = Buffer.from('"structured_data":');
const K_PORT = Buffer.from('"port":');
const K_TLS_PEER = Buffer.from('"tls_peer":');
const K_FIELDS = Buffer.from('"fields":');

function key(w: ByteWriter, k: Buffer, first: boolean): void {
  if (!first) w.byte(0x2c);
  w.range(k, 0, k.length);
}

/**
 * What the columns do not hold, as the JSON text of a jsonb field, written into w. Only what is
 * set (the reader reads a missing key as null, {} for fields). The timestamp and structured
 * data still as received are copied from the bytes when plain (json-bytes.ts): parsing the
 * structured data into objects only to stringify them was a fifth of the writer's CPU.
 */
function writeRest(w: ByteWriter, e: LogEvent): void {
  const b = e.buf;
  let first = true;
  w.byte(0x7b);
  if (e.asReceived('timestamp')) {
    key(w, K_TIMESTAMP, first); first = false;
    if (!writePlainJsonString(w, b, e.tsStart, e.tsEnd)) w.text(jsonNoNul(e.timestamp));
  } else {
    const ts = e.timestamp;
    if (ts !== null) { key(w, K_TIMESTAMP, first); first = false; w.text(jsonNoNul(ts)); }
  }
  const v = e.versionNumber;
  if (v !== null) { key(w, K_VERSION, first); first = false; w.text(String(v)); }
  if (e.asReceived('structuredData')) {
    key(w, K_SD, first); first = false;
    if (!writeStructuredDataJson(w, b, e.sdStart, e.sdEnd)) w.text(jsonNoNul(e.structuredData));
  } else if (e.d !== null && e.d.structuredData != null) {
    key(w, K_SD, first); first = false; w.text(jsonNoNul(e.structuredData));
  }
  const src = e.source;
  if (src.port !== null) { key(w, K_PORT, first); first = false; w.text(String(src.port)); }
  if (src.tlsPeer !== null) { key(w, K_TLS_PEER, first); first = false; w.text(jsonNoNul(src.tlsPeer)); }
  // As toJSON() gives fields (with the truncated / invalid_utf8 marks), without building the whole JSON.
  const marks = e.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8);
  if (marks !== 0) { key(w, K_FIELDS, first); w.text(jsonNoNul(e.toJSON().fields)); }
  else if (e.fields !== null && Object.keys(e.fields).length > 0) { key(w, K_FIELDS, first); w.text(jsonNoNul(e.fields)); }
  w.byte(0x7d);
}

/** One COPY tuple for `e`, in copyColumns() order (benches, tests). */
export function copyRow(e: LogEvent, seq: number, timeMs: number): Buffer {
  const w = new ByteWriter(2048);
  writeCopyRow(w, e, seq, timeMs);
  return Buffer.from(w.view());
}

/** Microseconds from 1970 to 2000-01-01, PostgreSQL's timestamp epoch. */
const PG_EPOCH_US = 946_684_800_000_000;

function int64(w: ByteWriter, v: number): void {
  w.ensure(12);
  const hi = Math.floor(v / 4294967296);
  w.buf.writeInt32BE(8, w.pos);
  w.buf.writeInt32BE(hi, w.pos + 4);
  w.buf.writeUInt32BE(v - hi * 4294967296, w.pos + 8);
  w.pos += 12;
}

function timestamp(w: ByteWriter, ms: number): void {
  int64(w, ms * 1000 - PG_EPOCH_US);
}

function int16(w: ByteWriter, v: number | null): void {
  w.ensure(6);
  if (v === null) { w.buf.writeInt32BE(-1, w.pos); w.pos += 4; return; }
  w.buf.writeInt32BE(2, w.pos);
  w.buf.writeInt16BE(v, w.pos + 4);
  w.pos += 6;
}

/** A text field: its UTF-8 bytes after a length (the length written once they are). */
function text(w: ByteWriter, s: string | null): void {
  w.ensure(4);
  if (s === null) { w.buf.writeInt32BE(-1, w.pos); w.pos += 4; return; }
  const at = w.pos;
  w.pos += 4;
  w.text(s);
  w.buf.writeInt32BE(w.pos - at - 4, at);
}

/**
 * A text field still as received, b[s, e), copied when it is ASCII without NUL (then its
 * getter's string is exactly these bytes); false, with nothing written, otherwise. Tested four
 * bytes at a time (no high bit, no zero byte), then copied in one go.
 */
function receivedText(w: ByteWriter, b: Buffer, s: number, e: number): boolean {
  let i = s;
  if (e - s >= 16) {
    if (b !== viewOf) { view = new DataView(b.buffer, b.byteOffset, b.length); viewOf = b; }
    const dv = view;
    for (; i + 4 <= e; i += 4) {
      const x = dv.getInt32(i, true);
      if (((x | ((x - 0x01010101) & ~x)) & 0x80808080) !== 0) return false;
    }
  }
  for (; i < e; i++) {
    const c = b[i]!;
    if (c === 0 || c > 0x7f) return false;
  }
  w.ensure(4);
  w.buf.writeInt32BE(e - s, w.pos);
  w.pos += 4;
  w.range(b, s, e);
  return true;
}

/** A view of the last event buffer (events of a read share their buffer). */
let viewOf: Buffer | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** jsonb's binary form: version 1, then the JSON text (writeRest). */
function restField(w: ByteWriter, e: LogEvent): void {
  w.ensure(5);
  const at = w.pos;
  w.buf[at + 4] = 1;
  w.pos += 5;
  writeRest(w, e);
  w.buf.writeInt32BE(w.pos - at - 4, at);
}

function bytes(w: ByteWriter, b: Buffer): void {
  w.ensure(4);
  w.buf.writeInt32BE(b.length, w.pos);
  w.pos += 4;
  w.range(b, 0, b.length);
}

/**
 * One COPY tuple for `e`, in copyColumns() order, written into `w` (no per-row string: at tens of thousands of
 * events a second the strings and their concatenation were a third of the time, in GC).
 */
export function writeCopyRow(w: ByteWriter, e: LogEvent, seq: number, timeMs: number): void {
  const raw = e.rawBytes;
  w.ensure(2);
  w.buf.writeInt16BE(15, w.pos);
  w.pos += 2;
  int64(w, seq);
  timestamp(w, timeMs);
  timestamp(w, e.receivedAt);
  const b = e.buf;
  // Header fields and the message still as received are copied as bytes: no string, no re-encoding.
  if (!(e.asReceived('hostname') && receivedText(w, b, e.hostStart, e.hostEnd))) text(w, nn(e.hostname));
  if (!(e.asReceived('appname') && receivedText(w, b, e.appStart, e.appEnd))) text(w, nn(e.appname));
  if (!(e.asReceived('procid') && receivedText(w, b, e.pidStart, e.pidEnd))) text(w, nn(e.procid));
  if (!(e.asReceived('msgid') && receivedText(w, b, e.msgidStart, e.msgidEnd))) text(w, nn(e.msgid));
  int16(w, e.facility);
  int16(w, e.severity);
  text(w, nn(e.source.name));
  text(w, nn(e.source.transport));
  text(w, nn(e.source.address));
  if (!(e.asReceived('message') && receivedText(w, b, e.msgStart, e.end))) text(w, nn(e.message));
  if (raw.length === 0) text(w, null); else bytes(w, raw);
  restField(w, e);
}

function nn(s: string | null): string | null {
  return s === null ? null : noNul(s);
}
