// Reading every partition in sequence order: the seal's catch-up, verify's SealSource, the highest seq.

import path from 'node:path';
import type Database from 'better-sqlite3';
import { recordBytes, type StoredRow } from './record.js';
import { listPartitions, openPartitionForRead } from './schema.js';

/** The highest seq in any partition (0 when empty). */
export function maxSeq(dir: string): number {
  let max = 0;
  for (const p of listPartitions(dir)) {
    const db = openPartitionForRead(p.file);
    try {
      const r = db.prepare('SELECT max(seq) AS m FROM events').get() as { m: number | null };
      if (r.m !== null && r.m > max) max = r.m;
    } finally {
      db.close();
    }
  }
  return max;
}

export interface SeqRecord {
  seq: number;
  bytes: Buffer;
  storedHash: Buffer | null;
  time: number;
  /** The partition file (relative name). */
  where: string;
}

/**
 * Rows of `sql` (ordered by seq) from every partition, merged into ascending seq order, each
 * with the partition file it came from.
 */
function* mergedBySeq<R extends { seq: number }>(dir: string, sql: string, params: unknown[]): Generator<{ row: R; where: string }> {
  const cursors: { db: Database.Database; it: Iterator<R>; head: R | null; where: string }[] = [];
  try {
    for (const p of listPartitions(dir)) {
      const db = openPartitionForRead(p.file);
      const it = (db.prepare(sql).iterate(...params) as IterableIterator<R>)[Symbol.iterator]();
      const first = it.next();
      cursors.push({ db, it, head: first.done ? null : first.value, where: path.basename(p.file) });
    }
    for (;;) {
      let best = -1;
      for (let i = 0; i < cursors.length; i++) {
        const h = cursors[i]!.head;
        if (h !== null && (best < 0 || h.seq < cursors[best]!.head!.seq)) best = i;
      }
      if (best < 0) return;
      const c = cursors[best]!;
      const row = c.head!;
      const n = c.it.next();
      c.head = n.done ? null : n.value;
      yield { row, where: c.where };
    }
  } finally {
    for (const c of cursors) {
      c.it.return?.();
      c.db.close();
    }
  }
}

/**
 * Records with seq > afterSeq from every partition, merged into ascending seq order. A row
 * that sits in the wrong place (edited seq) is yielded where its seq puts it; duplicates of a
 * seq across partitions are yielded twice, so verify sees them.
 */
export function* recordsInSeqOrder(dir: string, afterSeq: number): Generator<SeqRecord> {
  for (const { row, where } of mergedBySeq<StoredRow>(dir, 'SELECT * FROM events WHERE seq > ? ORDER BY seq', [afterSeq])) {
    yield { seq: row.seq, bytes: recordBytes(row), storedHash: row.hash, time: row.time, where };
  }
}

/**
 * The stored leaf hashes of seq fromSeq..toSeq in seq order (what the seal rebuilds its tree
 * from after a restart). A row without a hash gives 32 zero bytes, which no tree accepts.
 */
export function* hashesInSeqOrder(dir: string, fromSeq: number, toSeq: number): Generator<Buffer> {
  for (const { row } of mergedBySeq<{ seq: number; hash: Buffer | null }>(dir, 'SELECT seq, hash FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq', [fromSeq, toSeq])) {
    yield row.hash ?? Buffer.alloc(32);
  }
}
