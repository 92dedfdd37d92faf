// The reader thread answers exactly as the in-thread reader does, errors included.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseQuery } from '../../../src/store/query/parse.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { ThreadedStoreReader } from '../../../src/store/sqlite/threaded-reader.js';
import type { TimeRange } from '../../../src/store/types.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { tempDir } from '../../helpers/wait.js';

const T0 = Date.UTC(2026, 10, 10);
const ALL: TimeRange = { from: 0, to: Date.UTC(3000, 0, 1) };
let direct: SqliteStoreReader;
let threaded: ThreadedStoreReader;

before(async () => {
  const dir = tempDir('threaded-reader');
  const store = await EmbeddedStore.open(dir, { openSealer: async () => new TestSealer(testSealerOptions(dir)) });
  const hosts = ['web-01', 'web-02', 'db-1'];
  await store.write(Array.from({ length: 300 }, (_, i) => parsed(rfc5424({
    pri: 8 + (i % 8), time: T0 + i * 60_000, host: hosts[i % 3]!, app: i % 2 ? 'sshd' : 'nginx', procid: String(i), msgid: '-', sd: '-',
    msg: `${i % 7 ? 'request served' : 'Failed password for root'} n=${i}`,
  }))));
  await store.close();
  direct = new SqliteStoreReader(dir);
  threaded = new ThreadedStoreReader(dir);
});
after(async () => { await direct.close(); await threaded.close(); });

test('search, aggregate, hits, facets, fields, context, since and lastSeq agree with the in-thread reader', async () => {
  for (const q of ['', 'failed', 'host:web-0*', '"password for" -host:db-1', 'served | stats count() by (host)', 'n=* | top 2 app']) {
    const query = parseQuery(q);
    const a = await direct.search({ query, range: ALL, limit: 50 });
    const b = await threaded.search({ query, range: ALL, limit: 50 });
    assert.deepEqual(b, a, `search ${q}`);
    if (b.events[0]?.raw) assert.ok(Buffer.isBuffer(b.events[0].raw), 'raw bytes come back as a Buffer');
    if (query.pipes.length) assert.deepEqual(await threaded.aggregate(query, ALL), await direct.aggregate(query, ALL), `aggregate ${q}`);
    assert.deepEqual(await threaded.hits(query, ALL, 3_600_000), await direct.hits(query, ALL, 3_600_000), `hits ${q}`);
  }
  const host = { kind: 'builtin', name: 'host' } as const;
  const q = parseQuery('failed');
  assert.deepEqual(await threaded.facets(q, ALL, [host], 5), await direct.facets(q, ALL, [host], 5));
  assert.deepEqual(await threaded.fields(ALL), await direct.fields(ALL));
  assert.deepEqual(await threaded.context(100, 3, 3, 'host'), await direct.context(100, 3, 3, 'host'));
  assert.deepEqual(await threaded.since(q, 250, 10), await direct.since(q, 250, 10));
  assert.equal(await threaded.lastSeq(), 300);
});

test('an error in the thread arrives as the same error, with its code', async () => {
  const query = parseQuery('failed');
  const args = { query, range: ALL, limit: 10, cursor: 'not-a-cursor' };
  const want = await direct.search(args).then(() => null, (e: Error & { code?: string }) => e);
  const got = await threaded.search(args).then(() => null, (e: Error & { code?: string }) => e);
  assert.ok(want !== null, 'a bad cursor is refused');
  assert.equal(got?.message, want.message);
  assert.equal(got?.code, want.code);
});
