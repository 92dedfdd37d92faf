// The on-disk layout of the embedded store: one SQLite file per UTC day, and how each is opened.
//
// <path>/YYYY-MM-DD.db        events whose time (timestamp, else receive time) falls on that day
// <path>/YYYY-MM-DD.text.db   the day's text index (FTS5, 64 messages a document), written by its own thread
// <path>/store.json           format marker (no absolute paths anywhere: a copied directory opens)
//
// The text index has its own file so that a second writer thread keeps it while the first
// inserts rows (SQLite allows one writer per database). It is written after the rows commit,
// never before, and records the highest seq it holds (text_state), so after a crash it can
// only lag the rows, and is brought level from them at the next start (text-writer.ts).
// Partitions made before the split keep events_fts inside the day's database and are written
// and read that way (the query view below is made over whichever database holds events_fts).
//
// Two layouts of events_fts, told apart by its column count (textWidth):
// - 64 columns m0..m63 (text files made since): one document per run of up to 64 consecutive
//   seqs, rowid = the run's first seq, column k = the message of seq rowid + k (NULL when that
//   event has none). FTS5's cost is mostly per document: the text thread went from 2.4 to
//   1.3 µs CPU per event in bench/micro/store-ingest.
// - 1 column `message` (older text files and inline indexes): one document per event, rowid = seq.
// Queries do not MATCH (a hit would name a document of 64 events): they read the index's
// instances (fts5vocab), whose (doc, column) give the seq exactly; openPartitionForQuery
// puts them in a temp view events_terms(term, seq, offset) with the layout's arithmetic.
//
// A partition per day keeps a text-index lookup plus a time filter on a small table: on one large
// table the planner can fall off the index (a published case went from 100 ms to 146 s).

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { eventTimeMs } from '../../codec/encode/common.js';
import type { LogEvent } from '../../event/log-event.js';
import { ensureRollup } from './rollup.js';
import { SluiceError } from '../../errors.js';

/**
 * 2: rows keep the compact event form (event-form.ts). Format 1 rows (whole EventJson) are
 * still read and verified, so a format 1 store opens and continues in format 2.
 */
export const STORE_FORMAT = 2;
const DAY_FILE = /^(\d{4})-(\d{2})-(\d{2})\.db$/;
const DAY_MS = 86_400_000;
/** Times outside this window are not trusted for partitioning: the receive time is used. */
const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31);

export interface PartitionInfo {
  day: string;
  file: string;
  /** UTC midnight starting the day (ms). */
  from: number;
  /** The next midnight (exclusive). */
  to: number;
}

/** The event time used for ranges and partitions: the timestamp when it parses, else receive time. */
export function eventTime(ev: LogEvent): number {
  const t = eventTimeMs(ev);
  return t >= MIN_TIME && t <= MAX_TIME ? t : ev.receivedAt;
}

export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

/** Partitions present under dir, newest first. */
export function listPartitions(dir: string): PartitionInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: PartitionInfo[] = [];
  for (const n of names) {
    if (!DAY_FILE.test(n)) continue;
    const day = n.slice(0, 10);
    const from = dayStart(day);
    if (Number.isNaN(from)) continue;
    out.push({ day, file: path.join(dir, n), from, to: from + DAY_MS });
  }
  return out.sort((a, b) => b.from - a.from);
}

export function partitionFile(dir: string, day: string): string {
  return path.join(dir, `${day}.db`);
}

const ROWS_DDL = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  received INTEGER NOT NULL,
  host TEXT COLLATE NOCASE,
  app TEXT COLLATE NOCASE,
  procid TEXT COLLATE NOCASE,
  msgid TEXT COLLATE NOCASE,
  facility INTEGER,
  severity INTEGER,
  source TEXT COLLATE NOCASE,
  transport TEXT COLLATE NOCASE,
  peer TEXT,
  raw BLOB,
  event TEXT NOT NULL,
  hash BLOB
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
`;
// host, app, severity, facility and source have no index of their own: the per-minute rollup
// (rollup.ts) counts them and tells a search the minutes that hold a value (windowsWith), and
// five more B-trees cost 0.7 µs of writer CPU and 80 bytes per event. Partitions made with
// those indexes keep them; the planner uses them there.

/** Messages per document of a text index in the 64-column layout (schema comment). */
export const TEXT_WIDTH = 64;
/** Column k of a 64-column text index: the message of seq rowid + k. */
export const TEXT_COLUMNS: readonly string[] = Array.from({ length: TEXT_WIDTH }, (_, k) => `m${k}`);

// Contentless: the message text is in events.raw (or events.event) already; the index keeps only tokens and
// positions. Partitions are dropped whole, never row by row.
export const FTS_DDL = `
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(${TEXT_COLUMNS.join(', ')}, content='', columnsize=0, tokenize='unicode61 remove_diacritics 0');
`;

const TEXT_DDL = `${FTS_DDL}
CREATE TABLE IF NOT EXISTS text_state (id INTEGER PRIMARY KEY CHECK (id = 0), high_water INTEGER NOT NULL);
INSERT OR IGNORE INTO text_state (id, high_water) VALUES (0, 0);
`;

/** The day's text index file beside its database. */
export function textFile(partition: string): string {
  return partition.replace(/\.db$/, '.text.db');
}

/** Every file of one day partition (database, text index, their WAL and shared memory). */
export function partitionFiles(partition: string): string[] {
  const text = textFile(partition);
  return [partition, `${partition}-wal`, `${partition}-shm`, text, `${text}-wal`, `${text}-shm`];
}

/** True when the day's database holds its own text index (a partition made before the split). */
export function hasInlineText(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events_fts'").get() !== undefined;
}

/**
 * Messages per document of the events_fts in `schema` ('main' for an inline index, 'text' when
 * attached): 64, or 1 for an index made before the 64-column layout.
 */
export function textWidth(db: Database.Database, schema: 'main' | 'text' = 'main'): 1 | 64 {
  const cols = db.prepare(`PRAGMA ${schema}.table_info(events_fts)`).all().length;
  if (cols === 1 || cols === TEXT_WIDTH) return cols;
  const file = schema === 'text' ? textFile(db.name) : db.name;
  throw new SluiceError('SLUICE_ERR_STORE', `${path.basename(file)}: events_fts has ${cols} columns, not 1 or ${TEXT_WIDTH}: not a text index this sluice wrote (delete the text file and the daemon rebuilds it from the rows at its next start)`);
}

/**
 * Makes the query connection's view of the text index: events_terms(term, seq, offset), one
 * row per token occurrence (offset = its position in the message), read from an fts5vocab
 * table of type instance, which is in temp so a read-only connection can make it. Where the
 * index has 64 columns the seq is the document's rowid plus the column's number (m17: 17).
 */
export function createTermView(db: Database.Database, schema: 'main' | 'text'): void {
  const seq = textWidth(db, schema) === 1 ? 'doc' : 'doc + CAST(substr(col, 2) AS INTEGER)';
  db.exec(`CREATE VIRTUAL TABLE temp.events_vocab USING fts5vocab(${schema}, events_fts, instance);
CREATE TEMP VIEW events_terms AS SELECT term, ${seq} AS seq, offset FROM temp.events_vocab;`);
}

/** Makes `file` with the given tables under a temporary name, renamed once they exist. */
function createWithTables(file: string, ddl: string, after?: (db: Database.Database) => void): void {
  const tmp = `${file}.new`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) fs.rmSync(f, { force: true });
  const fresh = new Database(tmp);
  fresh.pragma('journal_mode = WAL');
  fresh.exec(ddl);
  after?.(fresh);
  fresh.close();
  fs.renameSync(tmp, file);
}

/** The pragmas of a database one writer thread appends to. */
function tuneForWriting(db: Database.Database): void {
  // WAL with synchronous=NORMAL: a committed transaction is in the WAL file before the commit
  // returns, so it survives kill -9 of the process (only a power loss or OS crash can lose the
  // last transactions, and never corrupts the database). FULL would fsync on every commit.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -32768');
  // Fewer, larger WAL checkpoints: the writer is the only one and readers see the WAL anyway.
  db.pragma('wal_autocheckpoint = 4000');
}

/** Makes the day's text index when it is missing (a new day, or one whose index was lost). */
export function ensureTextFile(partition: string): void {
  const file = textFile(partition);
  if (fs.existsSync(file)) return;
  // FTS5 merges index segments while inserting; merging 16 at a level instead of 4 cut the
  // insert CPU per row by about 15% here (measured with CPU time) at a small cost to MATCH.
  createWithTables(file, TEXT_DDL, (db) => db.exec("INSERT INTO events_fts(events_fts, rank) VALUES('automerge', 16)"));
}

/**
 * Opens one day's database for writing. A new one is made under a temporary name and renamed
 * once its tables exist, so a reader never finds a day file without them; its text index is
 * made first, so a reader never finds a new-layout day without one.
 */
export function openPartitionForWrite(file: string): Database.Database {
  if (!fs.existsSync(file)) {
    ensureTextFile(file);
    createWithTables(file, ROWS_DDL, ensureRollup);
  }
  const db = new Database(file);
  tuneForWriting(db);
  db.exec(ROWS_DDL);
  // A partition from before the rollup (rollup.ts) gets it now, built from its rows.
  ensureRollup(db);
  return db;
}

/** Opens one day's text index for writing (text-writer.ts). */
export function openTextForWrite(partition: string): Database.Database {
  ensureTextFile(partition);
  const db = new Database(textFile(partition));
  tuneForWriting(db);
  db.exec(TEXT_DDL);
  return db;
}

/** Opens one day's database for reading (another process may be writing it). */
export function openPartitionForRead(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
  return db;
}

/**
 * openPartitionForRead with the day's text index attached when it has its own file, and its
 * instances as events_terms (createTermView), which compiled queries read.
 */
export function openPartitionForQuery(file: string): Database.Database {
  const db = openPartitionForRead(file);
  try {
    if (hasInlineText(db)) createTermView(db, 'main');
    else {
      const text = textFile(file);
      if (!fs.existsSync(text)) throw new SluiceError('SLUICE_ERR_STORE', `the text index ${path.basename(text)} is missing: the daemon rebuilds it from the rows when it next starts`);
      db.prepare('ATTACH DATABASE ? AS text').run(text);
      createTermView(db, 'text');
    }
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

export function writeStoreMarker(dir: string): void {
  const f = path.join(dir, 'store.json');
  if (fs.existsSync(f)) {
    let format: unknown;
    try {
      format = (JSON.parse(fs.readFileSync(f, 'utf8')) as { format?: unknown }).format;
    } catch (e) {
      throw new SluiceError('SLUICE_ERR_STORE', `store ${dir}: store.json is not readable JSON: ${(e as Error).message}`, { cause: e });
    }
    if (format === STORE_FORMAT) return;
    if (typeof format !== 'number' || !Number.isInteger(format) || format < 1 || format > STORE_FORMAT) {
      throw new SluiceError('SLUICE_ERR_STORE', `store ${dir}: format ${JSON.stringify(format)} in store.json is not one this sluice reads (1 to ${STORE_FORMAT}); a newer sluice wrote it`);
    }
  }
  fs.writeFileSync(f, JSON.stringify({ format: STORE_FORMAT, kind: 'sluice-store', partition: 'day' }) + '\n');
}

/** True when dir holds an embedded store (its marker file). */
export function isEmbeddedStore(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'store.json'));
}
