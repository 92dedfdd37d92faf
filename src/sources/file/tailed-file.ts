// One file being read: its descriptor, identity (device, inode, first bytes) and positions.
//
// Positions: `readPos` is where the next read starts; `emittedPos` is just past the last line
// handed to the router (a partial last line or a pending multiline event is not emitted);
// `commit.committed` is what every destination took, the only position checkpointed.

import fs from 'node:fs';
import { OrderedCommit } from '../ordered-commit.js';

export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The state of a file before it was truncated, so a copy made by copytruncate resumes there. */
export interface BeforeTruncate {
  emittedPos: number;
  tail: Buffer;
  fingerprint: Buffer;
  at: number;
}

export class TailedFile {
  /** Generation of the commit tracker: a truncation starts a new one, old acks go to the old one. */
  commit: OrderedCommit<number>;
  readPos: number;
  emittedPos: number;
  /** Bytes of an incomplete line (or the kept part of an over-long one) from the last read. */
  partial: Buffer | null = null;
  /** Inside an over-long line: bytes are dropped until its newline. */
  skippingLongLine = false;
  lastGrowth = Date.now();
  lastSize: number;
  /** No longer at a path the include globs match (renamed away or removed): read to its end, then closed. */
  detached = false;
  /** Up to TAIL_BYTES just before emittedPos, to recognise a copy of this file. */
  tail: Buffer = Buffer.alloc(0);
  beforeTruncate: BeforeTruncate | null = null;
  closed = false;

  constructor(
    public path: string,
    readonly fd: number,
    readonly id: FileIdentity,
    /** The first bytes (up to fingerprint_bytes; fewer while the file is shorter). */
    public fingerprint: Buffer,
    start: number,
    size: number,
  ) {
    this.readPos = start;
    this.emittedPos = start;
    this.commit = new OrderedCommit(start);
    this.lastSize = size;
  }

  get key(): string {
    return identityKey(this.id);
  }

  /** Starts over at offset 0 (truncated, or rewritten under the same inode). */
  restart(now: number): void {
    this.beforeTruncate = { emittedPos: this.emittedPos, tail: this.tail, fingerprint: this.fingerprint, at: now };
    this.readPos = 0;
    this.emittedPos = 0;
    this.partial = null;
    this.skippingLongLine = false;
    this.tail = Buffer.alloc(0);
    this.fingerprint = Buffer.alloc(0);
    this.commit = new OrderedCommit(0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already gone
    }
  }
}

export function identityKey(id: FileIdentity): string {
  return id.dev + ':' + id.ino;
}

/** Reads up to `n` bytes at `pos` (fewer at the end of the file). */
export function readAt(fd: number, pos: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, b, got, n - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return got === n ? b : b.subarray(0, got);
}

/** Reads up to `n` bytes at file position `pos` into `b` at `off`; the count read. */
export function readInto(fd: number, b: Buffer, off: number, n: number, pos: number): number {
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, b, off + got, n - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}
