// Must-show 7 against the embedded store: every bad query gets a clear error or a bounded answer.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isQueryError } from '../../../src/store/query/error.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { listPartitions } from '../../../src/store/sqlite/schema.js';
import { recordsInSeqOrder } from '../../../src/store/sqlite/scan.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { tempDir } from '../../helpers/wait.js';

const T0 = Date.UTC(2026, 10, 1);
const ALL = { from: 0, to: Date.UTC(10000, 0, 1) };
let dir = '';
let reader: SqliteStoreReader;

before(async () => {
  dir = tempDir('store-bad-queries');
  const store = await EmbeddedStore.open(dir, { openSealer: async () => new TestSealer(testSealerOptions(dir)) });
  const evs = [];
  for (let i = 0; i < 3000; i++) evs.push(parsed(rfc5424({ time: T0 + i * 1000, host: `h${i % 5}`, msg: `${'a'.repeat(30)} event ${i} it's "quoted" 100% done_${i}` }), T0));
  await store.write(evs);
  await store.close();
  reader = new SqliteStoreReader(dir);
});
after(async () => { await reader.close(); });

function refused(text: string, column?: number): void {
  assert.throws(() => parseQuery(text), (e: unknown) => {
    assert.ok(isQueryError(e), `a QueryError for ${JSON.stringify(text.slice(0, 40))}`);
    if (column !== undefined) assert.equal(e.column, column);
    return true;
  });
}

test('unbalanced quotes and parentheses, an unknown field: errors with a column', () => {
  refused('"unclosed phrase');
  refused('(error OR disk', 1);
  refused('error)');
  refused('nosuchfield:x');
});

test('a 1 MB query is refused before it is read', () => {
  refused('a '.repeat(512 * 1024));
});

test('a catastrophic regular expression is refused; a slow accepted one is bounded by the scan budget', async () => {
  refused('/(a+)+$/');
  const q = parseQuery('/a{1,5}[^a]{1,5}b$/');
  const r = await reader.search({ query: q, range: ALL, limit: 100_000, scanBudgetMs: 0 });
  assert.equal(r.notices[0]?.code, 'scan_bounded');
});

test('SQL and FTS5 metacharacters in values are values: no injection, no error', async () => {
  const before = [...recordsInSeqOrder(dir, 0)].length;
  for (const text of [
    `host:"h1' OR '1'='1"`, 'host:"h1\\"; DROP TABLE events; --"', `"it's"`, '"100%"', 'done_1*', 'host:h_', 'host:h%', '"a" "b" NEAR', '"NEAR(a b, 2)"', 'app:"*"', '"quoted"',
    'msgid:"\\\\"', 'procid:"\'); DELETE FROM events; --"',
  ]) {
    const r = await reader.search({ query: parseQuery(text), range: ALL, limit: 10 });
    assert.ok(Array.isArray(r.events), text);
  }
  assert.equal((await reader.search({ query: parseQuery(`host:"h1' OR '1'='1"`), range: ALL, limit: 10 })).events.length, 0);
  assert.equal((await reader.search({ query: parseQuery('host:h_'), range: ALL, limit: 10 })).events.length, 0, '_ is not a LIKE wildcard here');
  assert.equal((await reader.search({ query: parseQuery('"100%"'), range: ALL, limit: 5000 })).events.length, 3000);
  assert.equal([...recordsInSeqOrder(dir, 0)].length, before, 'nothing was deleted');
});

test('a 100-year range is answered from the partitions there are', async () => {
  const r = await reader.search({ query: parseQuery('event'), range: { from: Date.UTC(1950, 0, 1), to: Date.UTC(2050, 0, 1) }, limit: 10 });
  assert.equal(r.events.length, 10);
  const h = await reader.hits(parseQuery(''), { from: Date.UTC(1950, 0, 1), to: Date.UTC(2050, 0, 1) }, 86_400_000);
  assert.equal(h.buckets.reduce((n, b) => n + b.count, 0), 3000);
  assert.equal(listPartitions(dir).length, 1);
});
