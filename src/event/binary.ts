// Compact binary form of a batch of LogEvents: what the disk buffer stores, decoded without JSON for raw events.
//
// A batch is self-contained: a small header, a table of the distinct sources in the batch
// (events of one connection share one entry, and share one object again after decoding),
// then the events. A raw event keeps only its bytes buf[start, end) and its header offsets
// relative to start, so the decoded event points straight into the record buffer: no
// string is made and nothing is copied until someone reads a field, as for a fresh event.
//
// Layout (little-endian):
//   batch  := u8 version(1) u8 0 u16 sourceCount u32 eventCount source* event*
//   source := value(name) value(transport) value(address) value(port) value(tlsPeer)
//   event  := u8 shape u8 format u16 sourceIndex u32 flags i32 pri i32 version f64 receivedAt
//             [RAW] u32 length, bytes
//             [OFFS] 13 offsets relative to start: u16 (0xffff = -1), or i32 with WIDE (INT32_MIN = -1)
//             [FIELDS] u32 length, JSON text
//             [D] (u8 key, [u16 length, name if key = 0xfe], value)* u8 0xff
//               (values of d that merely cache what the bytes give are left out: see writeUnlessDerived)
//   value  := u8 tag: 0 null | 1 string (u32 length, UTF-8) | 2 number (f64) | 3 JSON (u32 length, text)

import { parseStructuredData, type StructuredData } from '../codec/structured-data.js';
import { Decoded, EventFlag, LogEvent, type EventSource, type Transport } from './log-event.js';

export const BATCH_VERSION = 1;
/** Bytes of the batch header before the source table. */
export const BATCH_HEADER_BYTES = 8;

const SHAPE_RAW = 1;
const SHAPE_OFFS = 2;
const SHAPE_WIDE = 4;
const SHAPE_FIELDS = 8;
const SHAPE_D = 16;

const TAG_NULL = 0;
const TAG_STRING = 1;
const TAG_NUMBER = 2;
const TAG_JSON = 3;

const KEY_END = 0xff;
const KEY_OTHER = 0xfe;
/** The keys of LogEvent.d, by their one-byte code. */
const D_KEYS = ['timestamp', 'facility', 'severity', 'version', 'hostname', 'appname', 'procid', 'msgid', 'structuredData', 'message'] as const;
const D_KEY_CODE: Record<string, number> = Object.fromEntries(D_KEYS.map((k, i) => [k, i]));
const SD_KEY = 8;
const TIMESTAMP_KEY = 0;

const EVENT_FIXED_BYTES = 24;
const OFFSET_COUNT = 13;
const NARROW_ABSENT = 0xffff;
const WIDE_ABSENT = -0x80000000;
const MAX_SOURCES = 0xffff;

/** A batch that cannot be decoded: names what is wrong and where. */
export class BinaryFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'BinaryFormatError';
  }
}

// ---------------------------------------------------------------------------- encoding

/** A growable output buffer; one is kept and reused so a batch costs one allocation. */
class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    const b = this.buf, p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    this.pos = p + 2;
  }

  u32(v: number): void {
    const b = this.buf, p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  f64(v: number): void {
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** u32 length then UTF-8; the caller makes sure the text has no lone surrogates. */
  text(s: string): void {
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.u32(n);
    this.pos += n;
  }
}

const shared = new ByteWriter(64 * 1024);
const SHRINK_ABOVE = 8 * 1024 * 1024;

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** A JSON-able value with a tag; strings that UTF-8 would alter (lone surrogates) go as JSON, which escapes them. */
function writeValue(w: ByteWriter, v: unknown): void {
  w.ensure(9);
  if (v === null || v === undefined) w.u8(TAG_NULL);
  else if (typeof v === 'string' && isWellFormed(v)) { w.u8(TAG_STRING); w.text(v); }
  else if (typeof v === 'number') { w.u8(TAG_NUMBER); w.f64(v); }
  else { w.u8(TAG_JSON); w.text(JSON.stringify(v)); }
}

function writeSource(w: ByteWriter, s: EventSource): void {
  writeValue(w, s.name);
  writeValue(w, s.transport);
  writeValue(w, s.address);
  writeValue(w, s.port);
  writeValue(w, s.tlsPeer);
}

/** True when every present offset fits in u16 relative to start. */
function fitsNarrow(ev: LogEvent, s: number): boolean {
  const lim = s + NARROW_ABSENT;
  const ok = (o: number): boolean => o === -1 || (o >= s && o < lim);
  return ok(ev.tsStart) && ok(ev.tsEnd) && ok(ev.hostStart) && ok(ev.hostEnd) && ok(ev.appStart) && ok(ev.appEnd) &&
    ok(ev.pidStart) && ok(ev.pidEnd) && ok(ev.msgidStart) && ok(ev.msgidEnd) && ok(ev.sdStart) && ok(ev.sdEnd) && ok(ev.msgStart);
}

function hasOffsets(ev: LogEvent): boolean {
  return (ev.tsStart & ev.tsEnd & ev.hostStart & ev.hostEnd & ev.appStart & ev.appEnd & ev.pidStart & ev.pidEnd &
    ev.msgidStart & ev.msgidEnd & ev.sdStart & ev.sdEnd & ev.msgStart) !== -1;
}

function writeOffsets(w: ByteWriter, ev: LogEvent, wide: boolean): void {
  const s = ev.start;
  const offs = [ev.tsStart, ev.tsEnd, ev.hostStart, ev.hostEnd, ev.appStart, ev.appEnd, ev.pidStart, ev.pidEnd,
    ev.msgidStart, ev.msgidEnd, ev.sdStart, ev.sdEnd, ev.msgStart];
  if (wide) {
    for (let i = 0; i < OFFSET_COUNT; i++) {
      const o = offs[i]!;
      w.buf.writeInt32LE(o === -1 ? WIDE_ABSENT : o - s, w.pos);
      w.pos += 4;
    }
  } else {
    for (let i = 0; i < OFFSET_COUNT; i++) {
      const o = offs[i]!;
      w.u16(o === -1 ? NARROW_ABSENT : o - s);
    }
  }
}

// Where a value of `d` would be read from if it were absent: set by derivedRange.
let derivedStart = 0, derivedEnd = 0;

/**
 * True when the getter for key `code` reads a plain slice of the bytes (or null) when `d`
 * has no value; derivedStart/derivedEnd then hold the range, or -1 for null.
 */
function derivedRange(ev: LogEvent, code: number): boolean {
  let s: number, e: number;
  switch (code) {
    case 0: if (ev.tsStart >= 0 && ev.flags & EventFlag.TS_RFC3164) return false; s = ev.tsStart; e = ev.tsEnd; break;
    case 4: s = ev.hostStart; e = ev.hostEnd; break;
    case 5: s = ev.appStart; e = ev.appEnd; break;
    case 6: s = ev.pidStart; e = ev.pidEnd; break;
    case 7: s = ev.msgidStart; e = ev.msgidEnd; break;
    case 8: if (ev.sdStart >= 0) return false; s = e = -1; break;
    case 9: s = ev.msgStart; e = ev.end; if (s > e) s = -1; break;
    default: return false;
  }
  derivedStart = s < 0 ? -1 : s;
  derivedEnd = e;
  return true;
}

/** True if decoding buf[s, e) as the getter does (UTF-8, or Latin-1 for timestamps) gives exactly v. */
function isDerived(v: string, buf: Buffer, s: number, e: number, latin1: boolean): boolean {
  // A decoding never has more UTF-16 units than bytes: a cheap first test.
  return v.length <= e - s && v === buf.toString(latin1 ? 'latin1' : 'utf8', s, e);
}

/**
 * Writes key `code` with string `v` unless `v` is exactly what the getter would read from
 * the bytes (a value it cached): then nothing is written, and the decoded event reads it
 * again from the bytes. Keeps events that were routed (and so read) nearly as cheap as
 * untouched ones. The comparison repeats the getter's own decoding, so it is exact.
 */
function writeUnlessDerived(w: ByteWriter, ev: LogEvent, code: number, v: string): void {
  if (isDerived(v, ev.buf, derivedStart, derivedEnd, code === TIMESTAMP_KEY)) return;
  w.ensure(2);
  w.u8(code);
  w.u8(TAG_STRING);
  w.text(v);
}

/** Deep equality of two structured data values (objects of objects of string or string[]). */
function sdEqual(a: unknown, b: StructuredData): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const x = a as Record<string, unknown>;
  let n = 0;
  for (const id in x) {
    n++;
    const pa = x[id], pb = b[id];
    if (pb === undefined || typeof pa !== 'object' || pa === null) return false;
    let m = 0;
    for (const name in pa as Record<string, unknown>) {
      m++;
      const va = (pa as Record<string, unknown>)[name], vb = pb[name];
      if (vb === undefined) return false;
      if (typeof vb === 'string' ? va !== vb : !Array.isArray(va) || va.length !== vb.length || va.some((y, i) => y !== vb[i])) return false;
    }
    if (m !== Object.keys(pb).length) return false;
  }
  return n === Object.keys(b).length;
}

function writeDecoded(w: ByteWriter, ev: LogEvent, d: object): void {
  const rec = d as Record<string, unknown>;
  for (const k in rec) {
    const v = rec[k];
    if (v === undefined) continue; // undefined means "read from the bytes", as if absent
    const code = D_KEY_CODE[k];
    if (code === SD_KEY && v !== null && ev.sdStart >= 0 && sdEqual(v, parseStructuredData(ev.buf, ev.sdStart, ev.sdEnd))) continue;
    if (code !== undefined && derivedRange(ev, code)) {
      if (derivedStart < 0 && v === null) continue;
      if (derivedStart >= 0 && typeof v === 'string' && isWellFormed(v)) { writeUnlessDerived(w, ev, code, v); continue; }
    }
    w.ensure(1);
    if (code !== undefined) w.u8(code);
    else {
      w.u8(KEY_OTHER);
      const name = Buffer.from(k, 'utf8');
      w.ensure(2 + name.length);
      w.u16(name.length);
      name.copy(w.buf, w.pos);
      w.pos += name.length;
    }
    writeValue(w, v);
  }
  w.ensure(1);
  w.u8(KEY_END);
}

function writeEvent(w: ByteWriter, ev: LogEvent, sourceIndex: number): void {
  const s = ev.start, len = ev.end - ev.start;
  const offs = hasOffsets(ev);
  const wide = offs && !fitsNarrow(ev, s);
  const shape = (len > 0 ? SHAPE_RAW : 0) | (offs ? SHAPE_OFFS : 0) | (wide ? SHAPE_WIDE : 0) |
    (ev.fields !== null ? SHAPE_FIELDS : 0) | (ev.d !== null ? SHAPE_D : 0);
  w.ensure(EVENT_FIXED_BYTES + 4 + len + OFFSET_COUNT * 4);
  const b = w.buf;
  let p = w.pos;
  b[p] = shape;
  b[p + 1] = ev.format;
  b[p + 2] = sourceIndex;
  b[p + 3] = sourceIndex >>> 8;
  b.writeUInt32LE(ev.flags >>> 0, p + 4);
  b.writeInt32LE(ev.pri, p + 8);
  b.writeInt32LE(ev.version, p + 12);
  b.writeDoubleLE(ev.receivedAt, p + 16);
  p += EVENT_FIXED_BYTES;
  if (len > 0) {
    b.writeUInt32LE(len, p);
    ev.buf.copy(b, p + 4, s, ev.end);
    p += 4 + len;
  }
  w.pos = p;
  if (offs) writeOffsets(w, ev, wide);
  if (ev.fields !== null) w.text(JSON.stringify(ev.fields));
  if (ev.d !== null) writeDecoded(w, ev, ev.d);
}

export interface EncodeOptions {
  /** First event to encode (default 0). */
  from?: number;
  /** One past the last event to encode (default events.length). */
  to?: number;
  /** Bytes left uninitialised before the batch, for a caller's record header. */
  headroom?: number;
}

/**
 * Encodes events[from, to) as one batch. The result is a fresh Buffer of exactly
 * headroom + batch bytes.
 */
export function encodeEvents(events: readonly LogEvent[], opts: EncodeOptions = {}): Buffer {
  const from = opts.from ?? 0, to = opts.to ?? events.length, headroom = opts.headroom ?? 0;
  const w = shared;
  w.pos = 0;
  w.ensure(headroom + BATCH_HEADER_BYTES);
  w.pos = headroom;
  // Source table: almost always one source per batch, so compare with the last one first.
  const sources: EventSource[] = [];
  const index: number[] = new Array(to - from);
  let last: EventSource | null = null, lastIdx = -1;
  let map: Map<EventSource, number> | null = null;
  for (let i = from; i < to; i++) {
    const src = events[i]!.source;
    if (src !== last) {
      map ??= new Map(sources.map((x, j) => [x, j]));
      let j = map.get(src);
      if (j === undefined) {
        if (sources.length === MAX_SOURCES) throw new RangeError(`a batch may hold at most ${MAX_SOURCES} distinct sources`);
        j = sources.length;
        sources.push(src);
        map.set(src, j);
      }
      last = src;
      lastIdx = j;
    }
    index[i - from] = lastIdx;
  }
  w.u8(BATCH_VERSION);
  w.u8(0);
  w.u16(sources.length);
  w.u32(to - from);
  for (const s of sources) writeSource(w, s);
  for (let i = from; i < to; i++) writeEvent(w, events[i]!, index[i - from]!);
  const out = Buffer.allocUnsafe(w.pos);
  w.buf.copy(out, 0, 0, w.pos);
  if (w.buf.length > SHRINK_ABOVE) w.buf = Buffer.allocUnsafe(64 * 1024);
  return out;
}

// ---------------------------------------------------------------------------- decoding

/**
 * Gives back one shared object per distinct source, so that events of one connection
 * decoded from different batches still share their source. Bounded: forgets all when full.
 */
export class SourceInterner {
  private readonly map = new Map<string, EventSource>();
  constructor(private readonly limit = 10_000) {}

  intern(s: EventSource): EventSource {
    const key = `${s.name}\0${s.transport}\0${s.address}\0${s.port}\0${s.tlsPeer}`;
    const hit = this.map.get(key);
    if (hit !== undefined) return hit;
    if (this.map.size >= this.limit) this.map.clear();
    this.map.set(key, s);
    return s;
  }
}

const defaultInterner = new SourceInterner();

/** A read cursor over one batch, with bounds checks that name the offset. */
class ByteReader {
  constructor(readonly buf: Buffer, public pos: number, readonly end: number) {}

  need(n: number): void {
    if (this.pos + n > this.end) throw new BinaryFormatError(`batch truncated: ${n} bytes needed, ${this.end - this.pos} left`, this.pos);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  text(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  json(): unknown {
    const at = this.pos;
    const t = this.text();
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new BinaryFormatError(`invalid JSON (${(e as Error).message})`, at);
    }
  }

  value(): unknown {
    const at = this.pos;
    const tag = this.u8();
    switch (tag) {
      case TAG_NULL: return null;
      case TAG_STRING: return this.text();
      case TAG_NUMBER: {
        this.need(8);
        const v = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
      }
      case TAG_JSON: return this.json();
      default: throw new BinaryFormatError(`unknown value tag ${tag}`, at);
    }
  }
}

function readSource(r: ByteReader): EventSource {
  const at = r.pos;
  const name = r.value(), transport = r.value(), address = r.value(), port = r.value(), tlsPeer = r.value();
  if (typeof name !== 'string' || typeof transport !== 'string') throw new BinaryFormatError('source without name or transport', at);
  return {
    name,
    transport: transport as Transport,
    address: typeof address === 'string' ? address : null,
    port: typeof port === 'number' ? port : null,
    tlsPeer: typeof tlsPeer === 'string' ? tlsPeer : null,
  };
}

function readOffsets(r: ByteReader, ev: LogEvent, base: number, wide: boolean): void {
  const b = r.buf;
  let p = r.pos;
  const o = new Array<number>(OFFSET_COUNT);
  if (wide) {
    r.need(OFFSET_COUNT * 4);
    for (let i = 0; i < OFFSET_COUNT; i++, p += 4) {
      const v = b.readInt32LE(p);
      o[i] = v === WIDE_ABSENT ? -1 : base + v;
    }
  } else {
    r.need(OFFSET_COUNT * 2);
    for (let i = 0; i < OFFSET_COUNT; i++, p += 2) {
      const v = b[p]! | (b[p + 1]! << 8);
      o[i] = v === NARROW_ABSENT ? -1 : base + v;
    }
  }
  r.pos = p;
  ev.tsStart = o[0]!; ev.tsEnd = o[1]!;
  ev.hostStart = o[2]!; ev.hostEnd = o[3]!;
  ev.appStart = o[4]!; ev.appEnd = o[5]!;
  ev.pidStart = o[6]!; ev.pidEnd = o[7]!;
  ev.msgidStart = o[8]!; ev.msgidEnd = o[9]!;
  ev.sdStart = o[10]!; ev.sdEnd = o[11]!;
  ev.msgStart = o[12]!;
}

function readDecoded(r: ByteReader): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (;;) {
    const at = r.pos;
    const code = r.u8();
    if (code === KEY_END) return d;
    let key: string;
    if (code < D_KEYS.length) key = D_KEYS[code]!;
    else if (code === KEY_OTHER) {
      const n = r.u16();
      r.need(n);
      key = r.buf.toString('utf8', r.pos, r.pos + n);
      r.pos += n;
    } else throw new BinaryFormatError(`unknown decoded-value key ${code}`, at);
    d[key] = r.value();
  }
}

function readEvent(r: ByteReader, sources: EventSource[]): LogEvent {
  const at = r.pos;
  r.need(EVENT_FIXED_BYTES);
  const b = r.buf, p = r.pos;
  const shape = b[p]!;
  const si = b[p + 2]! | (b[p + 3]! << 8);
  const source = sources[si];
  if (source === undefined) throw new BinaryFormatError(`event names source ${si} of ${sources.length}`, at);
  const ev = new LogEvent(source, b.readDoubleLE(p + 16));
  ev.format = b[p + 1]!;
  ev.flags = b.readUInt32LE(p + 4);
  ev.pri = b.readInt32LE(p + 8);
  ev.version = b.readInt32LE(p + 12);
  r.pos = p + EVENT_FIXED_BYTES;
  let base = 0;
  if (shape & SHAPE_RAW) {
    const len = r.u32();
    r.need(len);
    ev.buf = b;
    ev.start = base = r.pos;
    ev.end = r.pos + len;
    r.pos += len;
  }
  if (shape & SHAPE_OFFS) readOffsets(r, ev, base, (shape & SHAPE_WIDE) !== 0);
  if (shape & SHAPE_FIELDS) ev.fields = r.json() as Record<string, unknown>;
  if (shape & SHAPE_D) ev.d = Object.assign(new Decoded(), readDecoded(r));
  return ev;
}

/** The number of events in the batch at buf[offset], read from its header alone. */
export function batchEventCount(buf: Buffer, offset = 0): number {
  if (offset + BATCH_HEADER_BYTES > buf.length) throw new BinaryFormatError('batch header truncated', offset);
  if (buf[offset] !== BATCH_VERSION) throw new BinaryFormatError(`unknown batch version ${buf[offset]}`, offset);
  return buf.readUInt32LE(offset + 4);
}

/**
 * Decodes the batch in buf[offset, end). Raw events keep pointing into `buf` (no copy),
 * so `buf` must not be reused while they live. Throws BinaryFormatError on malformed input.
 */
export function decodeEvents(buf: Buffer, offset = 0, end = buf.length, interner: SourceInterner = defaultInterner): LogEvent[] {
  const r = new ByteReader(buf, offset, end);
  const version = r.u8();
  if (version !== BATCH_VERSION) throw new BinaryFormatError(`unknown batch version ${version}`, offset);
  r.u8();
  const nSources = r.u16();
  const count = r.u32();
  // Each event takes at least EVENT_FIXED_BYTES: reject absurd counts before allocating.
  if (count * EVENT_FIXED_BYTES > end - r.pos) throw new BinaryFormatError(`event count ${count} does not fit in ${end - r.pos} bytes`, offset + 4);
  const sources = new Array<EventSource>(nSources);
  for (let i = 0; i < nSources; i++) sources[i] = interner.intern(readSource(r));
  const out = new Array<LogEvent>(count);
  for (let i = 0; i < count; i++) out[i] = readEvent(r, sources);
  if (r.pos !== end) throw new BinaryFormatError(`${end - r.pos} bytes left after the last event`, r.pos);
  return out;
}
