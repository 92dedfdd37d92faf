// Writes encoded batches into day partitions: one transaction per batch, prepared statements.
//
// Runs in the store's writer thread (or inline): it only sees bytes, never LogEvents, so the
// main thread can parse the next data while this one is inside SQLite. The messages go to
// the day's text index afterwards (text-writer.ts, its own thread), except in a partition
// from before the split, whose text index is in the same database and written here.
//
// A job's buffer holds, per row: u32le record length, the record bytes (record.ts), u32le
// message length (0xffffffff = null), the message as UTF-8, u8 hash length, the hash.

import type Database from 'better-sqlite3';
import { COLUMNS, RowDecoder, type ColumnValue } from './record.js';
import { hasInlineText, openPartitionForWrite, partitionFile } from './schema.js';
import { RollupBatch } from './rollup.js';
import { OpenDays } from './open-days.js';

export interface WriteJob {
  day: string;
  buf: Buffer;
  count: number;
}

const NO_MESSAGE = 0xffffffff;
/**
 * Rows per INSERT statement: one statement of 16 rows instead of 16 statements cut the
 * SQLite side's CPU per event by about 10% (fewer calls into SQLite and VDBE program runs).
 */
const ROWS_PER_INSERT = 16;
const ROW_PARAMS = COLUMNS.length + 1;

interface OpenPartition {
  db: Database.Database;
  write: (job: WriteJob) => void;
  /** The text index is in this database (a partition from before the split). */
  inlineText: boolean;
}

const rowValues = (n: number) => Array.from({ length: n }, () => `(${Array.from({ length: ROW_PARAMS }, () => '?').join(', ')})`).join(', ');
const textValues = (n: number) => Array.from({ length: n }, () => '(?, ?)').join(', ');

export class PartitionWriter {
  private readonly days = new OpenDays<OpenPartition>((day) => this.openDay(day));
  /** Parameters of one multi-row INSERT: ROWS_PER_INSERT rows of ROW_PARAMS values. */
  private readonly values: ColumnValue[] = new Array(ROWS_PER_INSERT * ROW_PARAMS).fill(null);
  private readonly texts: (number | string)[] = new Array(ROWS_PER_INSERT * 2).fill(null);
  private readonly row: ColumnValue[] = new Array(ROW_PARAMS).fill(null);
  private readonly rollup = new RollupBatch();
  private readonly decoder = new RowDecoder();

  constructor(private readonly dir: string) {}

  /** Commits the job's rows; true when its messages still go to the day's text index (text-writer.ts). */
  write(job: WriteJob): boolean {
    const p = this.days.get(job.day);
    p.write(job);
    return !p.inlineText;
  }

  private openDay(day: string): OpenPartition {
    const db = openPartitionForWrite(partitionFile(this.dir, day));
    const cols = `${COLUMNS.join(', ')}, hash`;
    // OR FAIL: a multi-row INSERT that may abort half way needs a statement journal (a copy of
    // every page it touches, to undo just that statement); FAIL keeps the rows before the
    // failing one, and the transaction around the job rolls them all back anyway. Writer CPU
    // −0.3 to −0.8 µs per event (3 interleaved pairs).
    const insert = db.prepare(`INSERT OR FAIL INTO events (${cols}) VALUES ${rowValues(1)}`);
    const insertMany = db.prepare(`INSERT OR FAIL INTO events (${cols}) VALUES ${rowValues(ROWS_PER_INSERT)}`);
    const inlineText = hasInlineText(db);
    const insertText = inlineText ? db.prepare('INSERT INTO events_fts (rowid, message) VALUES (?, ?)') : null;
    const insertTexts = inlineText ? db.prepare(`INSERT INTO events_fts (rowid, message) VALUES ${textValues(ROWS_PER_INSERT)}`) : null;
    const { values, texts, row, rollup, decoder } = this;
    const write = db.transaction((job: WriteJob) => {
      const buf = job.buf;
      let p = 0;
      let rows = 0;
      let textRows = 0;
      rollup.clear(); // a job that failed before its write left counts behind
      for (let i = 0; i < job.count; i++) {
        const len = buf.readUInt32LE(p);
        p += 4;
        decoder.decode(buf, p, p + len, row);
        p += len;
        const mlen = buf.readUInt32LE(p);
        p += 4;
        let message: string | null = null;
        if (mlen !== NO_MESSAGE) { if (inlineText) message = buf.toString('utf8', p, p + mlen); p += mlen; }
        const hlen = buf[p]!;
        row[COLUMNS.length] = hlen === 0 ? null : buf.subarray(p + 1, p + 1 + hlen);
        rollup.add(row);
        p += 1 + hlen;
        const at = rows * ROW_PARAMS;
        for (let c = 0; c < ROW_PARAMS; c++) values[at + c] = row[c]!;
        if (++rows === ROWS_PER_INSERT) { insertMany.run(values); rows = 0; }
        if (message !== null && message.length > 0) {
          texts[textRows * 2] = row[0] as number;
          texts[textRows * 2 + 1] = message;
          if (++textRows === ROWS_PER_INSERT) { insertTexts!.run(texts); textRows = 0; }
        }
      }
      for (let r = 0; r < rows; r++) insert.run(values.slice(r * ROW_PARAMS, (r + 1) * ROW_PARAMS));
      for (let r = 0; r < textRows; r++) insertText!.run(texts[r * 2], texts[r * 2 + 1]);
      rollup.write(db);
    });
    return { db, write, inlineText };
  }

  closeDay(day: string): void {
    this.days.closeDay(day);
  }

  close(): void {
    this.days.close();
  }
}

export { NO_MESSAGE };
