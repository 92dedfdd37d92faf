// The text index in its own file per day: written after the rows, brought level after a crash,
// never indexing a message twice; days from before the split keep their index inline.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parseQuery } from '../../../src/store/query/parse.js';
import { PartitionWriter } from '../../../src/store/sqlite/partition-writer.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { listPartitions, partitionFile, textFile } from '../../../src/store/sqlite/schema.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { TextWriter } from '../../../src/store/sqlite/text-writer.js';
import type { TimeRange } from '../../../src/store/types.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { tempDir } from '../../helpers/wait.js';
import { documents, termSeqs } from './text-index.js';
import { writeJob } from './write-jobs.js';

const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
const DAY = '2026-12-02';
const ALL: TimeRange = { from: 0, to: Date.UTC(10000, 0, 1) };

function open(dir: string, worker: boolean): Promise<EmbeddedStore> {
  return EmbeddedStore.open(dir, { worker, openSealer: async () => new TestSealer(testSealerOptions(dir)) });
}

/** Opens the store, writes each batch, closes it. */
async function writeStore(dir: string, worker: boolean, ...batches: ReturnType<typeof events>[]): Promise<void> {
  const store = await open(dir, worker);
  for (const b of batches) await store.write(b);
  await store.close();
}

const events = (from: number, n: number, word: string) =>
  Array.from({ length: n }, (_, i) => parsed(rfc5424({ time: T0 + from + i, msg: `${word} number${from + i}` }), T0));

async function hits(dir: string, q: string): Promise<number[]> {
  const r = new SqliteStoreReader(dir);
  try {
    const res = await r.search({ query: parseQuery(q), range: ALL, limit: 100_000 });
    return res.events.map((e) => e.seq).sort((a, b) => a - b);
  } finally {
    await r.close();
  }
}

/** Deletes a day's text index (its file, WAL and shared memory). */
function removeText(partition: string): void {
  for (const f of [textFile(partition), `${textFile(partition)}-wal`, `${textFile(partition)}-shm`]) fs.rmSync(f, { force: true });
}

function highWater(dir: string): number {
  const db = new Database(textFile(partitionFile(dir, DAY)), { readonly: true });
  try {
    return (db.prepare('SELECT high_water AS h FROM text_state').get() as { h: number }).h;
  } finally {
    db.close();
  }
}

for (const worker of [true, false]) {
  test(`words are found through the day's own text file, which ends at the highest seq it indexed (${worker ? 'threads' : 'inline'})`, async () => {
    const dir = tempDir('store-text');
    await writeStore(dir, worker, events(0, 30, 'alpha'), events(30, 20, 'beta'));
    assert.ok(fs.existsSync(textFile(partitionFile(dir, DAY))));
    assert.deepEqual(await hits(dir, 'alpha'), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(await hits(dir, '"beta number35"'), [36]);
    assert.equal(highWater(dir), 50);
  });
}

test('after a crash between the rows and the text commit, the next start indexes the rows the text lacks', async () => {
  const dir = tempDir('store-text-crash');
  await writeStore(dir, true, events(0, 10, 'before'));
  // Rows committed, text never written: what a kill -9 between the two commits leaves.
  const rows = new PartitionWriter(dir);
  const job = writeJob(DAY, Array.from({ length: 25 }, (_, i) => i + 11), 'lagging');
  assert.equal(rows.write(job), true, 'a new-layout day sends its messages on to the text writer');
  rows.close();
  assert.deepEqual(await hits(dir, 'lagging'), [], 'the text index lags the rows');
  await writeStore(dir, true, events(35, 5, 'after'));
  assert.deepEqual(await hits(dir, 'lagging'), Array.from({ length: 25 }, (_, i) => i + 11));
  assert.deepEqual(await hits(dir, 'after'), [36, 37, 38, 39, 40]);
  assert.equal(highWater(dir), 40);
  // The same job again (it was on its way during a catch-up): nothing is indexed twice.
  const text = new TextWriter(dir);
  text.write(job);
  text.close();
  assert.deepEqual(await hits(dir, 'lagging'), Array.from({ length: 25 }, (_, i) => i + 11));
  assert.deepEqual(termSeqs(textFile(partitionFile(dir, DAY)), 'lagging'), Array.from({ length: 25 }, (_, i) => i + 11), 'each once');
});

test('a day from before the split keeps its text index inline, is written and searched there, and gets no text file', async () => {
  const dir = tempDir('store-text-legacy');
  await writeStore(dir, false, events(0, 5, 'old'));
  // Make the day what an earlier sluice wrote: events_fts in the day's database, no text file.
  const file = listPartitions(dir)[0]!.file;
  const db = new Database(file);
  db.exec("CREATE VIRTUAL TABLE events_fts USING fts5(message, content='', columnsize=0, tokenize='unicode61 remove_diacritics 0')");
  for (let seq = 1; seq <= 5; seq++) db.prepare('INSERT INTO events_fts (rowid, message) VALUES (?, ?)').run(seq, `old number${seq - 1}`);
  db.close();
  removeText(file);
  await writeStore(dir, true, events(5, 5, 'newer'));
  await writeStore(dir, false, events(10, 5, 'newest'));
  assert.equal(fs.existsSync(textFile(file)), false);
  assert.deepEqual(await hits(dir, 'old'), [1, 2, 3, 4, 5]);
  assert.deepEqual(await hits(dir, 'newer'), [6, 7, 8, 9, 10]);
  assert.deepEqual(await hits(dir, 'newest'), [11, 12, 13, 14, 15]);
});

test('a new-layout day whose text file is gone gets a clear error from queries, and its index back at the next start', async () => {
  const dir = tempDir('store-text-lost');
  await writeStore(dir, true, events(0, 8, 'kept'));
  const file = listPartitions(dir)[0]!.file;
  removeText(file);
  await assert.rejects(hits(dir, 'kept'), (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_STORE' && /text index .*missing.*rebuilds/.test(e.message));
  await writeStore(dir, true, events(8, 1, 'kept'));
  assert.deepEqual(await hits(dir, 'kept'), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('consecutive messages share a document of up to 64; a gap in the seqs, the 64th column or the end of a job starts the next', () => {
  const dir = tempDir('store-text-runs');
  const text = new TextWriter(dir);
  try {
    text.write(writeJob(DAY, [...range(1, 70), ...range(72, 75)]));
    text.write(writeJob(DAY, range(76, 80)));
    // Not ascending within a job (never made by the store, but the seq = rowid + column rule must hold).
    text.write(writeJob(DAY, [90, 85]));
  } finally {
    text.close();
  }
  const file = textFile(partitionFile(dir, DAY));
  assert.deepEqual(documents(file), [
    { rowid: 1, filled: range(0, 63) },
    { rowid: 65, filled: range(0, 5) },
    { rowid: 72, filled: range(0, 3) },
    { rowid: 76, filled: range(0, 4) },
    { rowid: 85, filled: [0] },
    { rowid: 90, filled: [0] },
  ]);
  assert.deepEqual(termSeqs(file, 'event'), [...range(1, 70), ...range(72, 80), 85, 90]);
  for (const seq of [1, 63, 64, 65, 71, 72, 76, 85]) assert.deepEqual(termSeqs(file, `number${seq - 1}`), seq === 71 ? [] : [seq], `number${seq - 1}`);
});

test('an event without a message between two with one leaves its column empty, and each word maps to its own event', async () => {
  const dir = tempDir('store-text-gaps');
  const job = writeJob(DAY, range(1, 8), 'event', (seq) => (seq === 3 ? null : seq === 4 ? '' : seq === 6 ? '!!! ---' : `word${seq} event word${seq}`));
  const rows = new PartitionWriter(dir);
  const text = new TextWriter(dir);
  try {
    assert.equal(rows.write(job), true);
    text.write(job);
  } finally {
    rows.close();
    text.close();
  }
  const file = textFile(partitionFile(dir, DAY));
  assert.deepEqual(documents(file), [{ rowid: 1, filled: [0, 1, 4, 6, 7] }]);
  assert.deepEqual(termSeqs(file, 'word5'), [5, 5], 'twice in its message, both at seq 5');
  assert.deepEqual(await hits(dir, 'event'), [1, 2, 5, 7, 8]);
  assert.deepEqual(await hits(dir, 'word5'), [5]);
  assert.deepEqual(await hits(dir, 'word*'), [1, 2, 5, 7, 8]);
  assert.deepEqual(await hits(dir, '-event'), [3, 4, 6]);
  assert.deepEqual(await hits(dir, '"event word7"'), [7]);
  assert.equal(highWater(dir), 8);
});

test('catch-up after a crash writes the 64-column layout from high_water on, nothing twice', async () => {
  const dir = tempDir('store-text-crash-runs');
  await writeStore(dir, false, events(0, 10, 'before'));
  const rows = new PartitionWriter(dir);
  rows.write(writeJob(DAY, range(11, 100), 'lagging'));
  rows.close();
  const text = new TextWriter(dir);
  try {
    assert.equal(text.catchUp(), 90);
    assert.equal(text.catchUp(), 0, 'level already');
    // The crashed job arriving after all (it was on its way): below high_water, so skipped.
    text.write(writeJob(DAY, range(11, 100), 'lagging'));
  } finally {
    text.close();
  }
  const file = textFile(partitionFile(dir, DAY));
  assert.deepEqual(documents(file).map((d) => [d.rowid, d.filled.length]), [[1, 10], [11, 64], [75, 26]]);
  assert.deepEqual(termSeqs(file, 'lagging'), range(11, 100));
  assert.deepEqual(await hits(dir, 'lagging'), range(11, 100));
  assert.deepEqual(await hits(dir, 'number57'), [58]);
  assert.equal(highWater(dir), 100);
});

test('a text file with the one-column layout (before 64 columns) is still written one document per event, and a query spans it and a new day', async () => {
  const dir = tempDir('store-text-one-column');
  // The day as a sluice before the 64-column layout made it: its text file exists before its rows.
  fs.mkdirSync(dir, { recursive: true });
  const old = new Database(textFile(partitionFile(dir, DAY)));
  old.pragma('journal_mode = WAL');
  old.exec(`CREATE VIRTUAL TABLE events_fts USING fts5(message, content='', columnsize=0, tokenize='unicode61 remove_diacritics 0');
CREATE TABLE text_state (id INTEGER PRIMARY KEY CHECK (id = 0), high_water INTEGER NOT NULL);
INSERT INTO text_state (id, high_water) VALUES (0, 0);`);
  old.close();
  const nextDay = (from: number, n: number, word: string) =>
    Array.from({ length: n }, (_, i) => parsed(rfc5424({ time: T0 + 86_400_000 + from + i, msg: `${word} number${from + i} ${word}` }), T0));
  await writeStore(dir, true, events(0, 20, 'shared'), nextDay(0, 30, 'shared'));
  await writeStore(dir, false, events(20, 5, 'shared'));
  const oldDocs = documents(textFile(partitionFile(dir, DAY)));
  assert.deepEqual(oldDocs, range(1, 20).concat(range(51, 55)).map((rowid) => ({ rowid, filled: [0] })));
  const newDocs = documents(textFile(partitionFile(dir, '2026-12-03')));
  assert.deepEqual(newDocs, [{ rowid: 21, filled: range(0, 29) }]);
  assert.deepEqual(await hits(dir, 'shared'), range(1, 55));
  assert.deepEqual(await hits(dir, 'number3'), [4, 24]);
  assert.deepEqual(await hits(dir, 'number2*'), [3, 23, ...range(41, 55)]);
  const r = new SqliteStoreReader(dir);
  try {
    const counted = await r.aggregate(parseQuery('shared | stats count()'), ALL);
    assert.deepEqual(counted.rows, [{ count: 55 }], 'each event once although its message has the word twice');
  } finally {
    await r.close();
  }
});

test('a text file whose events_fts is neither layout is refused by queries and the writer, naming the file', async () => {
  const dir = tempDir('store-text-odd');
  fs.mkdirSync(dir, { recursive: true });
  const odd = new Database(textFile(partitionFile(dir, DAY)));
  odd.exec(`CREATE VIRTUAL TABLE events_fts USING fts5(a, b, c, content='');
CREATE TABLE text_state (id INTEGER PRIMARY KEY CHECK (id = 0), high_water INTEGER NOT NULL);
INSERT INTO text_state (id, high_water) VALUES (0, 0);`);
  odd.close();
  const refused = (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_STORE' && /2026-12-02\.text\.db: events_fts has 3 columns/.test(e.message);
  const text = new TextWriter(dir);
  assert.throws(() => text.write(writeJob(DAY, [1, 2])), refused);
  text.close();
  const rows = new PartitionWriter(dir);
  rows.write(writeJob(DAY, [1, 2]));
  rows.close();
  await assert.rejects(hits(dir, 'event'), refused);
});
