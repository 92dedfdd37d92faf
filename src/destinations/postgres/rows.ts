// Events as COPY binary-format tuples for the PostgreSQL store (copy.ts adds the header and trailer).
//
// Binary, not text: the server then parses no timestamps, no hex for the raw bytes and no
// escapes (measured with bench/micro/pg-store.ts, see README "PostgreSQL"), and the writer
// formats no ISO times, hex or escapes either. Each tuple: int16 field count, then per field
// int32 length (-1: NULL) and the value in its type's binary form.

import { ByteWriter } from '../../codec/byte-writer.js';
import { EventFlag, type LogEvent } from '../../event/log-event.js';

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

/** What the columns do not hold, as JSON (jsonb rejects \u0000 escapes, so NULs become U+FFFD). */
function restJson(e: LogEvent): string {
  // Only what is set: the reader reads a missing key as null ({} for fields).
  const rest: Record<string, unknown> = {};
  const ts = e.timestamp;
  if (ts !== null) rest.timestamp = ts;
  const v = e.versionNumber;
  if (v !== null) rest.version = v;
  if (e.sdStart >= 0 || (e.d !== null && e.d.structuredData != null)) rest.structured_data = e.structuredData;
  if (e.source.port !== null) rest.port = e.source.port;
  if (e.source.tlsPeer !== null) rest.tls_peer = e.source.tlsPeer;
  // As toJSON() gives fields (with the truncated / invalid_utf8 marks), without building the whole JSON.
  const marks = e.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8);
  if (marks !== 0) rest.fields = e.toJSON().fields;
  else if (e.fields !== null && Object.keys(e.fields).length > 0) rest.fields = e.fields;
  const s = JSON.stringify(rest);
  return s.includes('\\u0000') ? JSON.stringify(deepNoNul(rest)) : s;
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
function text(w: ByteWriter, s: string | null, prefix = -1): void {
  w.ensure(5);
  if (s === null) { w.buf.writeInt32BE(-1, w.pos); w.pos += 4; return; }
  const at = w.pos;
  w.pos += 4;
  if (prefix >= 0) w.byte(prefix);
  w.text(s);
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
  text(w, nn(e.hostname));
  text(w, nn(e.appname));
  text(w, nn(e.procid));
  text(w, nn(e.msgid));
  int16(w, e.facility);
  int16(w, e.severity);
  text(w, nn(e.source.name));
  text(w, nn(e.source.transport));
  text(w, nn(e.source.address));
  text(w, nn(e.message));
  if (raw.length === 0) text(w, null); else bytes(w, raw);
  // jsonb's binary form: version 1, then the JSON text.
  text(w, restJson(e), 1);
}

function nn(s: string | null): string | null {
  return s === null ? null : noNul(s);
}
