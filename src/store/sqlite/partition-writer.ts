// Writes encoded batches into day partitions: one transaction per batch, prepared statements.
//
// Runs in the store's writer thread (or inline): it only sees bytes, never LogEvents, so the
// main thread can parse the next data while this one is inside SQLite.
//
// A job's buffer holds, per row: u32le record length, the record bytes (record.ts), u32le
// message length (0xffffffff = null), the message as UTF-8, u8 hash length, the hash.

import type Database from 'better-sqlite3';
import { COLUMNS, decodeRecord, type ColumnValue } from './record.js';
import { openPartitionForWrite, partitionFile } from './schema.js';
import { addBatch } from './rollup.js';

export interface WriteJob {
  day: string;
  buf: Buffer;
  count: number;
}

const NO_MESSAGE = 0xffffffff;
/** Partitions kept open (late events reopen older days; most writes go to today). */
const OPEN_LIMIT = 4;

interface OpenPartition {
  db: Database.Database;
  insert: Database.Statement;
  insertText: Database.Statement;
  write: (job: WriteJob) => void;
}

export class PartitionWriter {
  private readonly open = new Map<string, OpenPartition>();
  private readonly values: ColumnValue[] = new Array(COLUMNS.length + 1).fill(null);

  constructor(private readonly dir: string) {}

  write(job: WriteJob): void {
    this.partition(job.day).write(job);
  }

  private partition(day: string): OpenPartition {
    let p = this.open.get(day);
    if (p) {
      // Most recently used last.
      this.open.delete(day);
      this.open.set(day, p);
      return p;
    }
    if (this.open.size >= OPEN_LIMIT) {
      const [oldest, q] = this.open.entries().next().value as [string, OpenPartition];
      this.open.delete(oldest);
      q.db.close();
    }
    const db = openPartitionForWrite(partitionFile(this.dir, day));
    const insert = db.prepare(`INSERT INTO events (${COLUMNS.join(', ')}, hash) VALUES (${COLUMNS.map(() => '?').join(', ')}, ?)`);
    const insertText = db.prepare('INSERT INTO events_fts (rowid, message) VALUES (?, ?)');
    const values = this.values;
    const write = db.transaction((job: WriteJob) => {
      const buf = job.buf;
      let p = 0;
      for (let i = 0; i < job.count; i++) {
        const len = buf.readUInt32LE(p);
        p += 4;
        decodeRecord(buf, p, p + len, values);
        p += len;
        const mlen = buf.readUInt32LE(p);
        p += 4;
        let message: string | null = null;
        if (mlen !== NO_MESSAGE) { message = buf.toString('utf8', p, p + mlen); p += mlen; }
        const hlen = buf[p]!;
        values[COLUMNS.length] = hlen === 0 ? null : buf.subarray(p + 1, p + 1 + hlen);
        p += 1 + hlen;
        insert.run(values);
        if (message !== null && message.length > 0) insertText.run(values[0], message);
      }
      addBatch(db, job);
    });
    p = { db, insert, insertText, write };
    this.open.set(day, p);
    return p;
  }

  /** Closes one day's handle (before retention deletes its file). */
  closeDay(day: string): void {
    const p = this.open.get(day);
    if (!p) return;
    this.open.delete(day);
    p.db.close();
  }

  close(): void {
    for (const p of this.open.values()) p.db.close();
    this.open.clear();
  }
}

export { NO_MESSAGE };
