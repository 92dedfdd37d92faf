// The canonical record bytes of a stored event: what the seal hashes and verify recomputes.
//
// recordBytes(row) covers every column of the row except `hash` (which is derived from it),
// in this fixed order:
//   seq, time, received, host, app, procid, msgid, facility, severity, source, transport,
//   peer, raw, event
// each as a tagged value:
//   0x00                         null
//   0x01 f64 big-endian          number (all numbers here are integers below 2^53)
//   0x02 u32 big-endian n, bytes text, UTF-8
//   0x03 u32 big-endian n, bytes blob
// preceded by the 4-byte magic "SLR1" for a row whose event column is the whole EventJson
// (store format 1) or "SLR2" for the compact form (format 2, event-form.ts). Whatever a row holds (an edited host, message or raw
// byte) changes these bytes, so verify only needs the row's column values to check it.
//
// The same encoding is the transfer form between the store and its writer thread: the writer
// decodes the columns from the record bytes, so what is stored is exactly what was hashed.

import { isWholeEvent } from './event-form.js';

export const RECORD_MAGIC = Buffer.from('SLR1', 'latin1');
export const RECORD_MAGIC_2 = Buffer.from('SLR2', 'latin1');
const MAGIC_1 = RECORD_MAGIC.readUInt32BE(0);
const MAGIC_2 = RECORD_MAGIC_2.readUInt32BE(0);

export const COLUMNS = ['seq', 'time', 'received', 'host', 'app', 'procid', 'msgid', 'facility', 'severity', 'source', 'transport', 'peer', 'raw', 'event'] as const;

export type ColumnValue = number | string | Buffer | null;

/** A stored row as SQLite returns it (hash included). */
export interface StoredRow {
  seq: number;
  time: number;
  received: number;
  host: string | null;
  app: string | null;
  procid: string | null;
  msgid: string | null;
  facility: number | null;
  severity: number | null;
  source: string | null;
  transport: string | null;
  peer: string | null;
  raw: Buffer | null;
  event: string;
  hash: Buffer | null;
}

const TAG_NULL = 0;
const TAG_NUMBER = 1;
const TAG_TEXT = 2;
const TAG_BLOB = 3;

/** A growable buffer that writes tagged values; one per batch, reused. */
export class RecordWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 1 << 20) {
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

  magic(magic: Buffer = RECORD_MAGIC_2): void {
    this.ensure(4);
    magic.copy(this.buf, this.pos);
    this.pos += 4;
  }

  null(): void {
    this.ensure(1);
    this.buf[this.pos++] = TAG_NULL;
  }

  number(v: number): void {
    this.ensure(9);
    this.buf[this.pos] = TAG_NUMBER;
    this.buf.writeDoubleBE(v, this.pos + 1);
    this.pos += 9;
  }

  text(s: string | null): void {
    if (s === null) { this.null(); return; }
    const max = s.length * 3;
    this.ensure(5 + max);
    const at = this.pos;
    this.buf[at] = TAG_TEXT;
    const n = s.length === 0 ? 0 : this.buf.write(s, at + 5, max, 'utf8');
    this.buf.writeUInt32BE(n, at + 1);
    this.pos = at + 5 + n;
  }

  /**
   * b[from, to) as a text value when every byte is ASCII (the bytes are then exactly the
   * string's UTF-8, so the record is what text(b.toString()) writes); false, writing nothing,
   * otherwise (invalid UTF-8 would decode to U+FFFD, which is other bytes).
   */
  asciiText(b: Buffer, from: number, to: number): boolean {
    const n = to - from;
    this.ensure(5 + n);
    const out = this.buf;
    const at = this.pos;
    // A byte loop: header fields are a few bytes, shorter than a call into Buffer.copy costs.
    for (let i = 0; i < n; i++) {
      const c = b[from + i]!;
      if (c > 0x7f) return false;
      out[at + 5 + i] = c;
    }
    out[at] = TAG_TEXT;
    out.writeUInt32BE(n, at + 1);
    this.pos = at + 5 + n;
    return true;
  }

  /** b[from, to) as a blob (the whole of b without from/to). */
  blob(b: Buffer | null, from = 0, to = b?.length ?? 0): void {
    if (b === null) { this.null(); return; }
    const n = to - from;
    this.ensure(5 + n);
    this.buf[this.pos] = TAG_BLOB;
    this.buf.writeUInt32BE(n, this.pos + 1);
    b.copy(this.buf, this.pos + 5, from, to);
    this.pos += 5 + n;
  }

  value(v: ColumnValue): void {
    if (v === null) this.null();
    else if (typeof v === 'number') this.number(v);
    else if (typeof v === 'string') this.text(v);
    else this.blob(v);
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  /** b[from, to) untagged. */
  bytes(b: Buffer, from = 0, to = b.length): void {
    this.ensure(to - from);
    b.copy(this.buf, this.pos, from, to);
    this.pos += to - from;
  }
}

/** recordBytes of a row read back from the database (what verify recomputes). */
export function recordBytes(row: Omit<StoredRow, 'hash'>): Buffer {
  const w = new RecordWriter(256 + (row.raw?.length ?? 0) + row.event.length * 3);
  w.magic(isWholeEvent(row.event) ? RECORD_MAGIC : RECORD_MAGIC_2);
  w.number(row.seq);
  w.number(row.time);
  w.number(row.received);
  w.text(row.host);
  w.text(row.app);
  w.text(row.procid);
  w.text(row.msgid);
  numberOrNull(w, row.facility);
  numberOrNull(w, row.severity);
  w.text(row.source);
  w.text(row.transport);
  w.text(row.peer);
  w.blob(row.raw);
  w.text(row.event);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function numberOrNull(w: RecordWriter, v: number | null): void {
  if (v === null) w.null();
  else w.number(v);
}

/** Texts up to this many bytes are compared with the previous row's before a new string is made. */
const REUSE_MAX = 64;

/**
 * decodeRecord for the rows of one buffer in turn: a text column whose bytes equal the previous
 * row's (host, app, source, transport, peer: the same for long runs of a batch) gets the
 * previous string back instead of a new one, which saves the UTF-8 decode and the garbage.
 */
export class RowDecoder {
  private buf: Buffer | null = null;
  /** Per column: where the previous row's text bytes lie in buf, and its string. */
  private readonly at = new Int32Array(COLUMNS.length);
  private readonly len = new Int32Array(COLUMNS.length).fill(-1);
  private readonly text: (string | null)[] = new Array(COLUMNS.length).fill(null);

  decode(buf: Buffer, pos: number, end: number, out: ColumnValue[]): void {
    if (buf !== this.buf) { this.buf = buf; this.len.fill(-1); }
    decodeRecord(buf, pos, end, out, this);
  }

  /** The text of buf[from, from + n) for column i. */
  textOf(buf: Buffer, i: number, from: number, n: number): string {
    if (n <= REUSE_MAX && this.len[i] === n) {
      const prev = this.at[i]!;
      let k = 0;
      while (k < n && buf[prev + k] === buf[from + k]) k++;
      if (k === n) { this.at[i] = from; return this.text[i]!; }
    }
    const t = buf.toString('utf8', from, from + n);
    if (n <= REUSE_MAX) { this.at[i] = from; this.len[i] = n; this.text[i] = t; }
    return t;
  }
}

/** Decodes the 14 column values of record bytes at [pos, end); throws on malformed input. */
export function decodeRecord(buf: Buffer, pos: number, end: number, out: ColumnValue[], texts: RowDecoder | null = null): void {
  const magic = buf.readUInt32BE(pos);
  if (magic !== MAGIC_2 && magic !== MAGIC_1) throw new Error(`record at ${pos}: bad magic`);
  let p = pos + 4;
  for (let i = 0; i < COLUMNS.length; i++) {
    const tag = buf[p]!;
    if (tag === TAG_NULL) { out[i] = null; p += 1; }
    else if (tag === TAG_NUMBER) { out[i] = buf.readDoubleBE(p + 1); p += 9; }
    else if (tag === TAG_TEXT) {
      const n = buf.readUInt32BE(p + 1);
      if (p + 5 + n > end) throw new Error(`record at ${pos}: ${COLUMNS[i]} runs past the record`);
      out[i] = texts === null ? buf.toString('utf8', p + 5, p + 5 + n) : texts.textOf(buf, i, p + 5, n);
      p += 5 + n;
    }
    else if (tag === TAG_BLOB) { const n = buf.readUInt32BE(p + 1); out[i] = buf.subarray(p + 5, p + 5 + n); p += 5 + n; }
    else throw new Error(`record at ${pos}: bad tag ${tag} for ${COLUMNS[i]}`);
  }
  if (p !== end) throw new Error(`record at ${pos}: ${end - p} bytes left over`);
}

