// The tables of the PostgreSQL store, each partitioned by UTC day (one partition per day and table):
//
//   <prefix>events  one row per event (seq, time, the columns, raw bytes, the rest as jsonb);
//                   btree indexes on time and seq only.
//   <prefix>blocks  one row per block of up to BLOCK_EVENTS consecutive events of one COPY and
//                   one day (first_seq..last_seq, t_min, t_max) with a tsvector of the block's
//                   distinct words (blocks.ts), GIN-indexed: the text index.
//   <prefix>counts  events per minute by host, app, facility, severity and source, and in all
//                   (field ''): the rollup that histograms and facet counts read.
//   <prefix>seq     the sequence the writers take seq numbers from, SEQ_STEP at a time.
//
// All three tables of a batch are written in the one transaction of its COPY, so the counts
// and the text index hold exactly the committed events. Retention drops the day's partition
// of each table. Several aggregators may write one database: every DDL statement runs under a
// transaction-scoped advisory lock keyed by the table prefix, and uses IF (NOT) EXISTS, so two
// writers creating the same day's partitions (or dropping expired ones) wait for each other
// instead of failing on the catalog's unique indexes.
//
// Tables made by sluice before this layout (a per-event `words` column, GIN on every row) are
// not read or written: LAYOUT_ERROR says what to do.

import type pg from 'pg';
import { SluiceError } from '../../errors.js';

export const DAY_MS = 86_400_000;

/**
 * Seq numbers a writer takes at once (one nextval per COPY; its rows get base, base+1, …).
 * A COPY holds at most this many events; a smaller one leaves a gap in the numbers.
 */
export const SEQ_STEP = 1000;

export interface StoreTables {
  /** Prefix, e.g. sluice_ (validated by the config schema: [a-z_][a-z0-9_]*). */
  prefix: string;
}

export function eventsTable(t: StoreTables): string {
  return `${t.prefix}events`;
}

export function blocksTable(t: StoreTables): string {
  return `${t.prefix}blocks`;
}

export function countsTable(t: StoreTables): string {
  return `${t.prefix}counts`;
}

export function seqName(t: StoreTables): string {
  return `${t.prefix}seq`;
}

const dayTag = (dayStartMs: number): string => new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '');

export function partitionName(t: StoreTables, dayStartMs: number): string {
  return `${eventsTable(t)}_p${dayTag(dayStartMs)}`;
}

/** Columns in COPY order. */
export function copyColumns(): string[] {
  return ['seq', 'time', 'received', 'host', 'app', 'procid', 'msgid', 'facility', 'severity', 'source', 'transport', 'peer', 'message', 'raw', 'event'];
}

/** A 64-bit advisory lock key per prefix: all sluice writers of one table set agree on it. */
function lockKey(t: StoreTables): string {
  let h = 0x811c9dc5;
  for (const c of `sluice:${t.prefix}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return String(h);
}

async function underLock(client: pg.PoolClient | pg.Client, t: StoreTables, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(t)]);
    await work();
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** The error for tables of the earlier layout (per-event words column): told, not guessed at. */
export function layoutError(t: StoreTables): SluiceError {
  return new SluiceError('SLUICE_ERR_PG', `${eventsTable(t)} has the layout of an earlier sluice (a words column on every event, no ${blocksTable(t)}), which this version neither reads nor writes: `
    + `give the destination a new table prefix (table: ...) or a new database, or drop the old tables (DROP TABLE ${eventsTable(t)} CASCADE) once they are no longer needed`);
}

/** Throws layoutError when the events table exists in the earlier layout. */
export async function checkLayout(client: pg.PoolClient | pg.Client | pg.Pool, t: StoreTables): Promise<void> {
  const r = await client.query(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = $1 AND a.attname = 'words' AND NOT a.attisdropped) AS old`,
    [eventsTable(t)]);
  if (r.rows[0]?.old === true) throw layoutError(t);
}

/** Creates the parent tables, the sequence and the partitioned indexes when missing. */
export async function ensureParent(client: pg.PoolClient | pg.Client, t: StoreTables): Promise<void> {
  const ev = eventsTable(t);
  const bl = blocksTable(t);
  const ct = countsTable(t);
  await underLock(client, t, async () => {
    await checkLayout(client, t);
    await client.query(`CREATE SEQUENCE IF NOT EXISTS ${seqName(t)} INCREMENT BY ${SEQ_STEP}`);
    // event holds what the columns do not (timestamp as sent, version, structured data, source
    // port/tls peer, fields); the reader joins both back into the JSON event.
    await client.query(`CREATE TABLE IF NOT EXISTS ${ev} (
      seq bigint NOT NULL,
      time timestamptz NOT NULL,
      received timestamptz NOT NULL,
      host text, app text, procid text, msgid text,
      facility smallint, severity smallint,
      source text NOT NULL, transport text NOT NULL, peer text,
      message text,
      raw bytea,
      event jsonb NOT NULL
    ) PARTITION BY RANGE (time)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${bl} (
      first_seq bigint NOT NULL, last_seq bigint NOT NULL,
      t_min timestamptz NOT NULL, t_max timestamptz NOT NULL,
      words tsvector NOT NULL
    ) PARTITION BY RANGE (t_min)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${ct} (
      minute timestamptz NOT NULL, field text NOT NULL, value text NOT NULL, n integer NOT NULL
    ) PARTITION BY RANGE (minute)`);
    // Measured per event of server CPU (bench/micro/pg-store.ts --layout): a GIN entry per word
    // of every event and its tsvector column were 18 µs of 31; lower(host)/lower(app) 3 µs.
    // Searches find rows through the blocks and seq; counts come from the rollup.
    for (const q of [
      `CREATE INDEX IF NOT EXISTS ${ev}_time ON ${ev} (time)`,
      `CREATE INDEX IF NOT EXISTS ${ev}_seq ON ${ev} (seq)`,
      `CREATE INDEX IF NOT EXISTS ${bl}_words ON ${bl} USING gin (words) WITH (gin_pending_list_limit = 16384)`,
      `CREATE INDEX IF NOT EXISTS ${bl}_time ON ${bl} (t_max, last_seq)`,
      `CREATE INDEX IF NOT EXISTS ${ct}_field ON ${ct} (field, minute)`,
    ]) await client.query(q);
  });
}

/** Creates the partitions (of the three tables) for these UTC days (start of day, ms) when missing. */
export async function ensurePartitions(client: pg.PoolClient | pg.Client, t: StoreTables, days: number[]): Promise<void> {
  await underLock(client, t, async () => {
    for (const day of days) {
      const from = new Date(day).toISOString();
      const to = new Date(day + DAY_MS).toISOString();
      for (const parent of [eventsTable(t), blocksTable(t), countsTable(t)]) {
        await client.query(`CREATE TABLE IF NOT EXISTS ${parent}_p${dayTag(day)} PARTITION OF ${parent} FOR VALUES FROM ('${from}') TO ('${to}')`);
      }
    }
  });
}

/** The partitions that exist, as UTC day starts (ms), oldest first. */
export async function listPartitions(client: pg.PoolClient | pg.Client | pg.Pool, t: StoreTables): Promise<number[]> {
  const r = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1`,
    [eventsTable(t)]);
  const days: number[] = [];
  const prefixLen = `${t.prefix}events_p`.length;
  for (const { name } of r.rows) {
    const d = name.slice(prefixLen);
    const ms = Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T00:00:00Z`);
    if (Number.isFinite(ms)) days.push(ms);
  }
  return days.sort((a, b) => a - b);
}

/** Drops every day (its partitions of the three tables) that ends before `cutoffMs`; returns the days dropped. */
export async function dropPartitionsBefore(client: pg.PoolClient | pg.Client, t: StoreTables, cutoffMs: number): Promise<number[]> {
  const dropped: number[] = [];
  await underLock(client, t, async () => {
    for (const day of await listPartitions(client, t)) {
      if (day + DAY_MS > cutoffMs) continue;
      for (const parent of [eventsTable(t), blocksTable(t), countsTable(t)]) await client.query(`DROP TABLE IF EXISTS ${parent}_p${dayTag(day)}`);
      dropped.push(day);
    }
  });
  return dropped;
}
