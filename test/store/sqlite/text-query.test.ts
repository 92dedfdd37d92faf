// Text terms over the 64-column index, end to end: counts and searches of words, prefixes and
// phrases through the reader equal compileMatcher over every stored event, with events
// without a message among them, words repeated in a message, and runs cut across two days.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compileMatcher } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { listPartitions, textFile } from '../../../src/store/sqlite/schema.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import type { StoredEvent, TimeRange } from '../../../src/store/types.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { prng } from '../../helpers/prng.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { tempDir } from '../../helpers/wait.js';
import { documents } from './text-index.js';

const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const ALL: TimeRange = { from: 0, to: Date.UTC(10000, 0, 1) };
const WORDS = ['alpha', 'beta', 'gamma', 'alphabet', 'al', 'café', 'cafés', 'caféine', 'ｆｕｌｌ', '東京', '東京都', 'x1', 'x10'];
let dir = '';
let reader: SqliteStoreReader;
let everything: StoredEvent[] = [];

before(async () => {
  dir = tempDir('store-text-query');
  const store = await EmbeddedStore.open(dir, { worker: true, openSealer: async () => new TestSealer(testSealerOptions(dir)) });
  const rnd = prng(7);
  const pick = () => WORDS[Math.floor(rnd() * WORDS.length)]!;
  for (let b = 0; b < 3; b++) {
    // The last part of each batch alternates between two days, so each day's seqs have gaps.
    const batch = Array.from({ length: 400 }, (_, i) => {
      const time = T0 + (i >= 250 && rnd() < 0.3 ? 86_400_000 : 0) + b * 1000 + i;
      const msg = rnd() < 0.1 ? '' : Array.from({ length: 1 + Math.floor(rnd() * 5) }, pick).join(rnd() < 0.5 ? ' ' : ', ');
      return parsed(rfc5424({ time, msg }), T0);
    });
    await store.write(batch);
  }
  await store.close();
  reader = new SqliteStoreReader(dir);
  everything = (await reader.search({ query: parseQuery(''), range: ALL, limit: 100_000 })).events;
});

after(async () => {
  await reader?.close();
});

test('the sample has runs of 64, cut ones, and events without a message', () => {
  assert.equal(everything.length, 1200);
  assert.ok(everything.filter((e) => !e.event.message).length > 50);
  const parts = listPartitions(dir);
  assert.equal(parts.length, 2);
  for (const p of parts) {
    const docs = documents(textFile(p.file));
    // The first day has runs of 64; both have runs cut by the other's seqs.
    if (p.day === '2026-12-02') assert.ok(docs.some((d) => d.filled.at(-1) === 63), `${p.day} has documents of 64 events`);
    assert.ok(docs.slice(0, -1).some((d) => d.filled.at(-1)! < 63 && d.filled.length > 1), `${p.day} has cut ones`);
  }
});

const QUERIES = [
  'alpha', 'beta', 'al', 'al*', 'alpha*', 'café', 'café*', 'cafés', 'caf*', 'ｆｕｌｌ', 'full', '東京', '東京*', 'x1', 'x1*',
  'alpha beta', 'alpha OR gamma', '-alpha', 'alpha -beta', 'NOT (alpha OR beta OR gamma)', '"alpha beta"', '"beta alpha"*',
  '"alpha alpha"', 'nothing', '-nothing',
];

for (const q of QUERIES) {
  test(`${JSON.stringify(q)}: | stats count() and search = compileMatcher over every event`, async () => {
    const m = compileMatcher(parseQuery(q));
    const want = everything.filter((e) => m(e.event)).map((e) => e.seq).sort((a, b) => a - b);
    const counted = await reader.aggregate(parseQuery(`${q} | stats count()`), ALL);
    assert.deepEqual(counted.rows, [{ count: want.length }]);
    const found = await reader.search({ query: parseQuery(q), range: ALL, limit: 100_000 });
    assert.deepEqual(found.events.map((e) => e.seq).sort((a, b) => a - b), want);
  });
}
