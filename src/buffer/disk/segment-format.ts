// The disk buffer's segment files: naming, the file header, and framing and checking of records.
//
// A segment is `segment-NNNNNNNNNN.log`: an 8-byte header ("SLSG", u16 format version,
// u16 0) then records `[payload length u32][crc32 u32][payload]`, little-endian, where the
// CRC covers the length field and the payload (so a damaged length is caught too) and the
// payload is one batch in the binary event form (src/event/binary.ts).

import { crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';
import { BATCH_HEADER_BYTES, batchEventCount } from '../../event/binary.js';

export const SEGMENT_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 8;
const SEGMENT_MAGIC = 0x47534c53; // "SLSG" read as u32 LE
const SEGMENT_VERSION = 1;
/** Smallest payload: an empty batch header. A zero-filled region (length 0, crc 0) is therefore invalid. */
const MIN_PAYLOAD = BATCH_HEADER_BYTES;
/** Sanity bound on a record's length: a larger one can only be damage. */
export const MAX_PAYLOAD = 256 * 1024 * 1024;

const NAME_RE = /^segment-(\d{10})\.log$/;

export function segmentFileName(id: number): string {
  return `segment-${String(id).padStart(10, '0')}.log`;
}

/** The segment id in a file name, or null for any other file. */
export function parseSegmentFileName(name: string): number | null {
  const m = NAME_RE.exec(name);
  return m ? Number(m[1]) : null;
}

export function segmentHeader(): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt16LE(SEGMENT_VERSION, 4);
  return b;
}

/** Null if buf starts with a valid segment header, else what is wrong with it. */
export function checkSegmentHeader(buf: Buffer): string | null {
  if (buf.length < SEGMENT_HEADER_BYTES) return 'segment header truncated';
  if (buf.readUInt32LE(0) !== SEGMENT_MAGIC) return 'not a segment file (bad magic)';
  const v = buf.readUInt16LE(4);
  return v === SEGMENT_VERSION ? null : `unknown segment format version ${v}`;
}

/** Fills in the length and CRC of a record whose payload follows RECORD_HEADER_BYTES of headroom. */
export function sealRecord(rec: Buffer): void {
  rec.writeUInt32LE(rec.length - RECORD_HEADER_BYTES, 0);
  rec.writeUInt32LE(recordCrc(rec, 0, rec.length - RECORD_HEADER_BYTES), 4);
}

function recordCrc(buf: Buffer, p: number, len: number): number {
  const payload = buf.subarray(p + RECORD_HEADER_BYTES, p + RECORD_HEADER_BYTES + len);
  return crc32(payload, crc32(buf.subarray(p, p + 4)));
}

/** One valid record found in a read: its payload is buf[off, off + len). */
export interface FoundRecord {
  /** File offset of the record header. */
  pos: number;
  /** Whole record size on disk (header + payload). */
  size: number;
  count: number;
  buf: Buffer;
  off: number;
  len: number;
}

/** Why reading stopped before the limit. */
export interface ReadStop {
  pos: number;
  reason: string;
  /**
   * Where the next record would start if the bad one's length is to be believed (set when
   * the length is in range and the record lies within the limit), else null.
   */
  resume: number | null;
}

export interface ReadResult {
  records: FoundRecord[];
  /** File offset after the last valid record returned. */
  next: number;
  stop: ReadStop | null;
}

/**
 * Reads whole records from fh starting at `pos`, not past `limit` (the end of known data),
 * about `chunk` bytes at a time (more when one record is larger). Validates length and
 * CRC; stops at the first bad record.
 */
export async function readRecords(fh: FileHandle, pos: number, limit: number, chunk: number): Promise<ReadResult> {
  const records: FoundRecord[] = [];
  let buf = await readExactly(fh, pos, Math.min(chunk, limit - pos));
  let base = pos, p = 0;
  let direct = false; // buf was read for exactly the record at `base`
  const stop = (at: number, reason: string, resume: number | null = null): ReadResult => ({ records, next: at, stop: { pos: at, reason, resume } });
  for (;;) {
    const at = base + p;
    if (at >= limit) return { records, next: at, stop: null };
    if (at + RECORD_HEADER_BYTES > limit) return stop(at, 'record header cut short');
    const avail = buf.length - p;
    if (avail < RECORD_HEADER_BYTES) {
      if (records.length > 0) return { records, next: at, stop: null };
      if (direct) return stop(at, 'file shorter than expected');
      buf = await readExactly(fh, at, Math.min(limit - at, Math.max(chunk, RECORD_HEADER_BYTES)));
      base = at; p = 0; direct = true;
      continue;
    }
    const len = buf.readUInt32LE(p);
    if (len < MIN_PAYLOAD || len > MAX_PAYLOAD) return stop(at, `record length ${len} out of range`);
    const size = RECORD_HEADER_BYTES + len;
    if (at + size > limit) return stop(at, `record of ${size} bytes cut short at ${limit}`);
    if (avail < size) {
      // The record does not fit in what was read: return what we have, or read just this one.
      if (records.length > 0) return { records, next: at, stop: null };
      if (direct) return stop(at, 'file shorter than expected');
      buf = await readExactly(fh, at, size);
      base = at; p = 0; direct = true;
      continue;
    }
    if (recordCrc(buf, p, len) !== buf.readUInt32LE(p + 4)) return stop(at, 'record CRC mismatch', at + size);
    const off = p + RECORD_HEADER_BYTES;
    let count: number;
    try {
      count = batchEventCount(buf, off);
    } catch (e) {
      return stop(at, (e as Error).message, at + size);
    }
    records.push({ pos: at, size, count, buf, off, len });
    p += size;
    direct = false;
  }
}

/** Reads n bytes at pos; fewer only if the file is shorter. */
async function readExactly(fh: FileHandle, pos: number, n: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === n ? buf : buf.subarray(0, got);
}
