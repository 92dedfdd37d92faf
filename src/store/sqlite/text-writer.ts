// Writes the messages of committed jobs into the days' text indexes (YYYY-MM-DD.text.db).
//
// Runs in its own thread (text-worker.ts) or inline, after the job's rows committed: the rows
// writer and this one each have a database to themselves, so the two commit side by side.
// Each text transaction also moves text_state.high_water to the job's highest seq. A crash can
// leave the index behind its rows, never ahead of them; catchUp() indexes the rows after
// high_water from the rows themselves (eventJson gives the message the job carried).

import type Database from 'better-sqlite3';
import { EVENT_COLUMNS, eventJson, type EventRow } from './event-form.js';
import { NO_MESSAGE, type WriteJob } from './partition-writer.js';
import { OpenDays } from './open-days.js';
import { hasInlineText, listPartitions, openPartitionForRead, openTextForWrite, partitionFile } from './schema.js';

/** Rows per INSERT into the index (as the rows writer does: fewer statement runs). */
const ROWS_PER_INSERT = 16;
/** Rows indexed per transaction while catching up. */
const CATCH_UP_CHUNK = 4096;
const TAG_NUMBER = 1;

interface OpenText {
  db: Database.Database;
  /** Indexes (seq, message) pairs and moves high_water to `top`, in one transaction. */
  write: (seqs: number[], messages: string[], count: number, top: number) => void;
  /** The highest seq indexed (text_state, as committed). */
  highWater: number;
}

const values = (n: number) => Array.from({ length: n }, () => '(?, ?)').join(', ');

export class TextWriter {
  private readonly days = new OpenDays<OpenText>((day) => this.openDay(day));
  private readonly params: (number | string)[] = new Array(ROWS_PER_INSERT * 2).fill(null);
  private seqs: number[] = [];
  private messages: string[] = [];

  constructor(private readonly dir: string) {}

  /** Indexes the messages of a job whose rows are committed. */
  write(job: WriteJob): void {
    const { buf } = job;
    const seqs = this.seqs;
    const messages = this.messages;
    let n = 0;
    let top = 0;
    let p = 0;
    for (let i = 0; i < job.count; i++) {
      const len = buf.readUInt32LE(p);
      // The record starts with its magic, then seq as a tagged f64 (record.ts).
      if (buf[p + 8] !== TAG_NUMBER) throw new Error(`job row ${i}: record does not start with a seq`);
      const seq = buf.readDoubleBE(p + 9);
      p += 4 + len;
      const mlen = buf.readUInt32LE(p);
      p += 4;
      if (mlen !== NO_MESSAGE) {
        if (mlen > 0) { seqs[n] = seq; messages[n] = buf.toString('utf8', p, p + mlen); n++; }
        p += mlen;
      }
      p += 1 + buf[p]!;
      top = seq;
    }
    if (job.count > 0) {
      const t = this.days.get(job.day);
      // A job can come after a catch-up that indexed its rows already (a reset while it was
      // on its way): what is at or below high_water is not indexed twice.
      let from = 0;
      while (from < n && seqs[from]! <= t.highWater) from++;
      if (top > t.highWater) t.write(seqs.slice(from, n), messages.slice(from, n), n - from, top);
    }
    messages.fill('', 0, n);
  }

  /**
   * Brings every day's index level with its rows (after a crash, or a failed text commit);
   * returns how many messages it indexed. Days from before the split need nothing.
   */
  catchUp(): number {
    let indexed = 0;
    for (const part of listPartitions(this.dir)) {
      const rows = openPartitionForRead(part.file);
      try {
        if (hasInlineText(rows)) continue;
        const text = this.days.get(part.day);
        let from = text.highWater;
        const select = rows.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ${CATCH_UP_CHUNK}`);
        for (;;) {
          const batch = select.all(from) as EventRow[];
          if (batch.length === 0) break;
          const seqs: number[] = [];
          const messages: string[] = [];
          for (const r of batch) {
            const m = eventJson(r).message;
            if (m !== null && m.length > 0) { seqs.push(r.seq); messages.push(m); }
          }
          from = batch[batch.length - 1]!.seq;
          text.write(seqs, messages, seqs.length, from);
          indexed += seqs.length;
        }
      } finally {
        rows.close();
      }
    }
    return indexed;
  }

  private openDay(day: string): OpenText {
    const db = openTextForWrite(partitionFile(this.dir, day));
    const one = db.prepare('INSERT INTO events_fts (rowid, message) VALUES (?, ?)');
    const many = db.prepare(`INSERT INTO events_fts (rowid, message) VALUES ${values(ROWS_PER_INSERT)}`);
    const mark = db.prepare('UPDATE text_state SET high_water = max(high_water, ?) WHERE id = 0');
    const read = db.prepare('SELECT high_water AS h FROM text_state WHERE id = 0');
    const params = this.params;
    const write = db.transaction((seqs: number[], messages: string[], count: number, top: number) => {
      let k = 0;
      for (; k + ROWS_PER_INSERT <= count; k += ROWS_PER_INSERT) {
        for (let r = 0; r < ROWS_PER_INSERT; r++) { params[r * 2] = seqs[k + r]!; params[r * 2 + 1] = messages[k + r]!; }
        many.run(params);
      }
      for (; k < count; k++) one.run(seqs[k], messages[k]);
      mark.run(top);
    });
    const open: OpenText = {
      db,
      highWater: (read.get() as { h: number }).h,
      write: (seqs, messages, count, top) => {
        write(seqs, messages, count, top);
        open.highWater = Math.max(open.highWater, top);
      },
    };
    return open;
  }

  closeDay(day: string): void {
    this.days.closeDay(day);
  }

  close(): void {
    this.days.close();
  }
}
