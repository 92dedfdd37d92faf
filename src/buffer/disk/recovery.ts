// Disk buffer recovery at open: which segments remain, what is pending in each, what a crash or damage left behind.

import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../errors.js';
import { log } from '../../log.js';
import type { Checkpoint } from './checkpoint.js';
import { checkSegmentHeader, parseSegmentFileName, readRecords, SEGMENT_HEADER_BYTES, segmentFileName } from './segment-format.js';

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
const RESYNC_PROBE_BYTES = 64 * 1024;

/** What the buffer knows of one segment file. */
export interface Segment {
  readonly id: number;
  readonly path: string;
  /** Write handle; only the segment being appended to has one. */
  fh: FileHandle | null;
  /** End of the records placed here, written or being written. */
  assigned: number;
  /** End of the records whose write completed: readers never go past it. */
  durable: number;
  /** No record will be placed here any more. */
  closed: boolean;
  headerWritten: boolean;
  /** Uncommitted events and record bytes stored here (durable records only). */
  events: number;
  bytes: number;
  /** Damaged records found by recovery, skipped by readers; in file order. */
  holes: { start: number; end: number }[];
}

/** A segment about to be created (the file is made on its first write). */
export function emptySegment(dir: string, id: number): Segment {
  return {
    id, path: join(dir, segmentFileName(id)), fh: null, assigned: SEGMENT_HEADER_BYTES, durable: SEGMENT_HEADER_BYTES,
    closed: false, headerWritten: false, events: 0, bytes: 0, holes: [],
  };
}

export interface Recovery {
  /** Segments still holding uncommitted records (or at least not yet deleted), by ascending id; all closed. */
  segments: Segment[];
  /** The highest segment id seen, 0 if none. */
  lastId: number;
  truncatedTailRecords: number;
  corruptRecords: number;
}

/**
 * Scans the directory from the saved checkpoint. Segments wholly before it are deleted
 * (committed; a crash came before their deletion). Never throws for damaged content, only
 * for I/O errors such as an unreadable directory.
 */
export async function recoverSegments(dir: string, saved: Checkpoint | null, component: string): Promise<Recovery> {
  const ids = (await readdir(dir)).map(parseSegmentFileName).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const out: Recovery = { segments: [], lastId: ids[ids.length - 1] ?? 0, truncatedTailRecords: 0, corruptRecords: 0 };
  for (const id of ids) {
    if (saved !== null && id < saved.seg) await unlinkQuiet(join(dir, segmentFileName(id)), component);
    else await recoverSegment(out, dir, id, id === out.lastId, saved !== null && saved.seg === id ? saved : null, component);
  }
  return out;
}

/** Recovers one segment file: checks its header, then scans its records (see scanSegment). */
async function recoverSegment(out: Recovery, dir: string, id: number, last: boolean, ck: Checkpoint | null, component: string): Promise<void> {
  const path = join(dir, segmentFileName(id));
  const fh = await open(path, 'r+');
  let remove = false;
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
    await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
    const bad = size === 0 ? null : checkSegmentHeader(head.subarray(0, Math.min(size, SEGMENT_HEADER_BYTES)));
    if (size === 0 || (bad !== null && last && size < SEGMENT_HEADER_BYTES)) {
      // Created just before a crash, header unwritten or cut: nothing was ever acknowledged from it.
      if (size > 0) {
        out.truncatedTailRecords++;
        log('warn', component, 'removed a segment whose header was cut short', { file: path, bytes: size });
      }
      remove = true;
      return;
    }
    if (bad !== null) {
      out.corruptRecords++;
      log('error', component, 'unreadable segment skipped and renamed *.corrupt', { file: path, offset: 0, reason: bad });
      await fh.close().catch(() => {});
      await rename(path, path + '.corrupt').catch((e) => log('error', component, 'cannot rename a corrupt segment', { file: path, error: describeError(e) }));
      return;
    }
    out.segments.push(await scanSegment(out, fh, id, path, size, last, ck, component));
  } finally {
    await fh.close().catch(() => {});
    if (remove) await unlinkQuiet(path, component);
  }
}

/**
 * Validates every record from the checkpoint (or the start) and counts what is pending.
 * A bad record whose stated length leads to a valid record is skipped alone (a hole);
 * otherwise the rest of the file is unreadable: cut away in the last segment (a write
 * torn by a crash), skipped in the others.
 */
async function scanSegment(out: Recovery, fh: FileHandle, id: number, path: string, size: number, last: boolean, ck: Checkpoint | null, component: string): Promise<Segment> {
  let pos = ck?.pos ?? SEGMENT_HEADER_BYTES;
  const skip = ck?.skip ?? 0;
  if (pos < SEGMENT_HEADER_BYTES || pos > size) {
    log('warn', component, 'checkpoint outside the segment; treating the segment as consumed', { file: path, offset: pos, size });
    pos = Math.max(size, SEGMENT_HEADER_BYTES);
  }
  const seg: Segment = { id, path, fh: null, assigned: pos, durable: pos, closed: true, headerWritten: true, events: 0, bytes: 0, holes: [] };
  let p = pos;
  for (let guard = 0; p < size && guard < Number.MAX_SAFE_INTEGER; guard++) {
    const r = await readRecords(fh, p, size, SCAN_CHUNK_BYTES);
    for (const rec of r.records) {
      seg.events += rec.pos === pos ? Math.max(0, rec.count - skip) : rec.count;
      seg.bytes += rec.size;
    }
    p = r.next;
    const stop = r.stop;
    if (stop === null) continue;
    if (stop.resume !== null && stop.resume < size && (await readRecords(fh, stop.resume, size, RESYNC_PROBE_BYTES)).records.length > 0) {
      out.corruptRecords++;
      log('error', component, 'corrupt record skipped', { file: path, offset: stop.pos, bytes: stop.resume - stop.pos, reason: stop.reason });
      seg.holes.push({ start: stop.pos, end: stop.resume });
      p = stop.resume;
      continue;
    }
    if (last) {
      out.truncatedTailRecords++;
      log('warn', component, 'cut an unfinished record from the end of the last segment', { file: path, offset: stop.pos, bytes: size - stop.pos, reason: stop.reason });
      // Best effort: the segment is never appended to again, so a failed truncate only leaves junk that is skipped.
      await fh.truncate(stop.pos).catch((e) => log('error', component, 'cannot truncate segment', { file: path, offset: stop.pos, error: describeError(e) }));
    } else {
      out.corruptRecords++;
      log('error', component, 'corrupt record; the rest of the segment is skipped', { file: path, offset: stop.pos, bytes: size - stop.pos, reason: stop.reason });
    }
    break;
  }
  seg.assigned = seg.durable = p;
  return seg;
}

export async function unlinkQuiet(path: string, component: string): Promise<void> {
  await unlink(path).catch((e) => {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log('error', component, 'cannot delete a consumed segment', { file: path, error: describeError(e) });
  });
}
