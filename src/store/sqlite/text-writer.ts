// Writes the messages of committed jobs into the days' text indexes (YYYY-MM-DD.text.db).
//
// Runs in its own thread (text-worker.ts) or inline, after the job's rows committed: the rows
// writer and this one each have a database to themselves, so the two commit side by side.
// Each text transaction also moves text_state.high_water to the job's highest seq. A crash can
// leave the index behind its rows, never ahead of them; catchUp() indexes the rows after
// high_water from the rows themselves (eventJson gives the message the job carried).
//
// In a 64-column index (schema.ts) the messages of consecutive seqs share a document: a run
// starts at an event with a message and takes the next events of the job while their seqs
// follow on and seq - start is below 64, each message in column seq - start (an event without
// one leaves its column NULL). A gap in the seqs (events of another day), the 64th column or
// the end of the job ends it. A document is never added to later: FTS5 cannot
// update a contentless document, and nothing at or below high_water is written again.
// Older one-column indexes get one document per event, as they always did.

import type Database from 'better-sqlite3';
import { EVENT_COLUMNS, eventJson, type EventRow } from './event-form.js';
import { NO_MESSAGE, type WriteJob } from './partition-writer.js';
import { OpenDays } from './open-days.js';
import { hasInlineText, listPartitions, openPartitionForRead, openTextForWrite, partitionFile, TEXT_COLUMNS, textWidth } from './schema.js';

/** Rows per INSERT into a one-column index (as the rows writer does: fewer statement runs). */
const ROWS_PER_INSERT = 16;
/** Rows indexed per transaction while catching up. */
const CATCH_UP_CHUNK = 4096;
const TAG_NUMBER = 1;

interface OpenText {
  db: Database.Database;
  /** Indexes (seq, message) pairs and moves high_water to `top`, in one transaction. */
  write: (seqs: number[], messages: (string | null)[], count: number, top: number) => void;
  /** The highest seq indexed (text_state, as committed). */
  highWater: number;
}

const values = (n: number) => Array.from({ length: n }, () => '(?, ?)').join(', ');

/**
 * Writes the messages of a job's events (null: none, or empty) into events_fts, inside the
 * caller's transaction; seqs ascending.
 */
export type IndexMessages = (seqs: number[], messages: (string | null)[], count: number) => void;

/** The writer for events_fts in db: one document per event, or per run of 64 seqs (header). */
export function messageIndexer(db: Database.Database): IndexMessages {
  return textWidth(db) === 1 ? perEvent(db) : perRun(db);
}

function perEvent(db: Database.Database): IndexMessages {
  const one = db.prepare('INSERT INTO events_fts (rowid, message) VALUES (?, ?)');
  const many = db.prepare(`INSERT INTO events_fts (rowid, message) VALUES ${values(ROWS_PER_INSERT)}`);
  const params: (number | string)[] = new Array(ROWS_PER_INSERT * 2).fill(null);
  return (seqs, messages, count) => {
    let rows = 0;
    for (let k = 0; k < count; k++) {
      const m = messages[k];
      if (m === null) continue;
      params[rows * 2] = seqs[k]!;
      params[rows * 2 + 1] = m;
      if (++rows === ROWS_PER_INSERT) { many.run(params); rows = 0; }
    }
    for (let r = 0; r < rows; r++) one.run(params[r * 2], params[r * 2 + 1]);
  };
}

function perRun(db: Database.Database): IndexMessages {
  const width = TEXT_COLUMNS.length;
  // One statement per run length (the columns after the run's last are left out, so NULL):
  // a cut run does not bind 64 values. One document per INSERT: 4 (or 2) full runs in one
  // multi-row INSERT took 4.5 µs per event against 4.2 (TextWriter alone, 23-word messages),
  // the statement's cost being small beside 64 messages' tokens already.
  const inserts: Database.Statement[] = [];
  const insert = (n: number) =>
    (inserts[n] ??= db.prepare(`INSERT INTO events_fts (rowid, ${TEXT_COLUMNS.slice(0, n).join(', ')}) VALUES (?${', ?'.repeat(n)})`));
  const params: (number | string | null)[][] = Array.from({ length: width + 1 }, (_, n) => new Array(n + 1).fill(null));
  const run: (string | null)[] = new Array(width).fill(null);
  return (seqs, messages, count) => {
    let i = 0;
    while (i < count) {
      if (messages[i] === null) { i++; continue; }
      const start = seqs[i]!;
      run[0] = messages[i++]!;
      // The last column with a message: the document ends there (trailing NULLs left out).
      let last = 0;
      for (let k = 1; i < count && k < width && seqs[i] === start + k; i++, k++) {
        const m = messages[i]!;
        if (m !== null) { run[k] = m; last = k; }
      }
      const p = params[last + 1]!;
      p[0] = start;
      for (let c = 0; c <= last; c++) { p[c + 1] = run[c]!; run[c] = null; }
      insert(last + 1).run(p);
      p.fill(null);
    }
  };
}

export class TextWriter {
  private readonly days = new OpenDays<OpenText>((day) => this.openDay(day));
  private seqs: number[] = [];
  private messages: (string | null)[] = [];

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
      seqs[n] = seq;
      messages[n++] = mlen === NO_MESSAGE || mlen === 0 ? null : buf.toString('utf8', p, p + mlen);
      if (mlen !== NO_MESSAGE) p += mlen;
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
    messages.fill(null, 0, n);
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
          const messages: (string | null)[] = [];
          for (const r of batch) {
            const m = eventJson(r).message;
            seqs.push(r.seq);
            messages.push(m !== null && m.length > 0 ? m : null);
            if (m) indexed++;
          }
          from = batch[batch.length - 1]!.seq;
          text.write(seqs, messages, seqs.length, from);
        }
      } finally {
        rows.close();
      }
    }
    return indexed;
  }

  private openDay(day: string): OpenText {
    const db = openTextForWrite(partitionFile(this.dir, day));
    const index = messageIndexer(db);
    const mark = db.prepare('UPDATE text_state SET high_water = max(high_water, ?) WHERE id = 0');
    const read = db.prepare('SELECT high_water AS h FROM text_state WHERE id = 0');
    const write = db.transaction((seqs: number[], messages: (string | null)[], count: number, top: number) => {
      index(seqs, messages, count);
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
