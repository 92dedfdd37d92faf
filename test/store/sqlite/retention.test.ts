// Retention and archives on the embedded store with the real seal and a clock the test sets:
// old days leave the database (archived first), queries still find them in the archive, the
// highest seq survives, and sluice verify exits 0; the 2-day floor holds under a size limit.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runQuery as runCliQuery } from '../../../src/cli/query.js';
import { runVerify } from '../../../src/cli/verify.js';
import '../../../src/destinations/store/index.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { runQuery } from '../../../src/store/query/pipes.js';
import { openSealer, sealPaths } from '../../../src/store/seal/sealer.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { listPartitions } from '../../../src/store/sqlite/schema.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { tempDir } from '../../helpers/wait.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1, 12);
const ALL = { from: 0, to: Date.UTC(10000, 0, 1) };

async function sixDays(dataDir: string, clock: { now: number }): Promise<{ store: EmbeddedStore; dir: string }> {
  const dir = path.join(dataDir, 'store');
  const store = await EmbeddedStore.open(dir, {
    openSealer: (state) => openSealer({ ...sealPaths(dir, dataDir), everyEvents: 1000, everyMs: 10_000, heartbeatMs: 60_000, now: () => clock.now, ...state }),
  });
  for (let d = 0; d < 6; d++) {
    clock.now = START + d * DAY;
    await store.write(Array.from({ length: 30 }, (_, i) => parsed(rfc5424({ time: START + d * DAY + i * 1000, msg: `day${d} event ${i}${d === 1 && i === 7 ? ' oldneedle' : ''}` }), START + d * DAY)));
  }
  return { store, dir };
}

test('past archive.after days are archived and leave the database; query finds them there; verify exits 0', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('store-retention');
  const clock = { now: START };
  const { store, dir } = await sixDays(dataDir, clock);
  clock.now = START + 5 * DAY + 3_600_000;
  const plan = await store.retention({ archiveAfterMs: 3 * DAY, maxAgeMs: 30 * DAY }, clock.now, { archiveDir: path.join(dir, 'archive'), keyDir: dataDir });
  // Age counts from a day's newest event: 11-03's is 3 days and 1 hour old.
  assert.deepEqual(plan.archive, ['2026-11-01', '2026-11-02', '2026-11-03']);
  assert.deepEqual(listPartitions(dir).map((p) => p.day), ['2026-11-06', '2026-11-05', '2026-11-04']);
  assert.ok(fs.existsSync(path.join(dir, 'archive', '2026-11-02.sla')));
  // Every file of a day that left goes with it (its database, text index and their WALs); the kept days keep theirs.
  const files = fs.readdirSync(dir);
  assert.deepEqual(files.filter((f) => /^2026-11-0[123]/.test(f)), []);
  assert.ok(files.includes('2026-11-04.text.db') && files.includes('2026-11-04.db'));

  const reader = new SqliteStoreReader(dir);
  const r = await reader.search({ query: parseQuery('oldneedle'), range: ALL, limit: 10, archives: true });
  assert.equal(r.events.length, 1);
  assert.equal(r.events[0]!.archived, true);
  assert.equal(r.events[0]!.event.message, 'day1 event 7 oldneedle');
  assert.ok(r.notices.some((n) => n.code === 'archive_read'));
  const db = await reader.search({ query: parseQuery('oldneedle'), range: ALL, limit: 10 });
  assert.equal(db.events.length, 0, 'without archives only the database is read');
  const all = await reader.search({ query: parseQuery('event'), range: ALL, limit: 1000, archives: true });
  assert.equal(all.events.length, 180);
  assert.equal(new Set(all.events.map((e) => e.seq)).size, 180);
  await reader.close();

  await store.write([parsed(rfc5424({ time: clock.now, msg: 'after retention' }), clock.now)]);
  assert.equal(store.lastSeq, 181);
  await store.close();
  const v = runVerify({ store: dir, keyDir: dataDir });
  assert.equal(v.exitCode, 0, v.stdout + v.stderr);
  assert.equal(v.report!.records, 181);
});

test('aggregate, hits and facets count archived days too when asked; sluice query reads them and says so', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('store-archive-counts');
  const clock = { now: START };
  const { store, dir } = await sixDays(dataDir, clock);
  clock.now = START + 5 * DAY + 3_600_000;
  await store.retention({ archiveAfterMs: 3 * DAY, maxAgeMs: 30 * DAY }, clock.now, { archiveDir: path.join(dir, 'archive'), keyDir: dataDir });
  await store.close();
  const reader = new SqliteStoreReader(dir);
  const everything = (await reader.search({ query: parseQuery(''), range: ALL, limit: 1000, archives: true })).events;
  assert.equal(everything.length, 180);
  // A range from the middle of an archived day to the middle of a stored one.
  const range = { from: START + DAY + 10_500, to: START + 4 * DAY + 20_500 };
  const inRange = everything.filter((e) => e.time >= range.from && e.time < range.to).map((e) => e.event);
  for (const text of ['| stats count()', '| stats count() by (host)', '| top 3 app', 'event | stats count() by (severity)', 'oldneedle | stats count()']) {
    const q = parseQuery(text);
    const r = await reader.aggregate(q, range, { archives: true });
    const want = runQuery(q, inRange);
    assert.deepEqual(r.rows, want.kind === 'rows' ? want.rows : null, text);
    assert.ok(r.notices.some((n) => n.code === 'archive_read'), text);
    const db = await reader.aggregate(q, range);
    assert.deepEqual(db.notices, [], 'without archives only the database is read');
  }
  assert.equal((await reader.aggregate(parseQuery('| stats count()'), range)).rows[0]!.count, inRange.filter((e) => Date.parse(e.timestamp!) >= START + 3 * DAY).length);
  const h = await reader.hits(parseQuery(''), range, DAY, { archives: true });
  assert.deepEqual(h.buckets.map((b) => b.count), [19, 30, 30, 21], 'per UTC day: 19 of day 1 (from 10.5 s), 30, 30 (archived and stored), 21 of day 4 (to 20.5 s)');
  assert.ok(h.notices.some((n) => n.code === 'archive_read'));
  const f = await reader.facets(parseQuery('event'), range, [{ kind: 'builtin', name: 'host' }], 5, { archives: true });
  assert.deepEqual(f.facets.get('host'), [{ value: 'web-01', count: inRange.length }]);
  assert.ok(f.notices.some((n) => n.code === 'archive_read'));
  // sluice query: the aggregate over the archived days, and the notice on stderr.
  const out: string[] = [];
  const err: string[] = [];
  await runCliQuery(reader, parseQuery('| stats count()'), ALL, 100, 'json', { out: (l) => out.push(l), err: (l) => err.push(l) });
  assert.deepEqual(out.map((l) => JSON.parse(l)), [{ count: 180 }]);
  assert.ok(err.some((l) => l.includes('archive_read') && l.includes('3 archived days')), err.join('\n'));
  await reader.close();
});

test('a size limit without archives drops old days under signed drop manifests, keeps the newest 2 days; seq never restarts', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('store-retention-size');
  const clock = { now: START };
  const { store, dir } = await sixDays(dataDir, clock);
  clock.now = START + 5 * DAY + 3_600_000;
  // The newest day is still open; everything else may go for size, but not the newest 2 days.
  const plan = await store.retention({ maxBytes: 1 }, clock.now, { archiveDir: path.join(dir, 'archive'), keyDir: dataDir });
  assert.deepEqual(plan.drop, ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']);
  assert.equal(plan.overBudget, true);
  assert.deepEqual(listPartitions(dir).map((p) => p.day), ['2026-11-06', '2026-11-05']);
  await store.close();
  const v = runVerify({ store: dir, keyDir: dataDir });
  assert.equal(v.exitCode, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /left the store by retention/);

  // Drop the open day too (the next day came): the highest seq is remembered across a restart.
  const again = await EmbeddedStore.open(dir, {
    openSealer: (state) => openSealer({ ...sealPaths(dir, dataDir), everyEvents: 1000, everyMs: 10_000, heartbeatMs: 60_000, now: () => clock.now, ...state }),
  });
  assert.equal(again.lastSeq, 180);
  clock.now = START + 9 * DAY;
  await again.retention({ maxAgeMs: DAY }, clock.now, { archiveDir: path.join(dir, 'archive'), keyDir: dataDir });
  assert.deepEqual(listPartitions(dir).map((p) => p.day), []);
  await again.close();
  const third = await EmbeddedStore.open(dir, {
    openSealer: (state) => openSealer({ ...sealPaths(dir, dataDir), everyEvents: 1000, everyMs: 10_000, heartbeatMs: 60_000, now: () => clock.now, ...state }),
  });
  assert.equal(third.lastSeq, 180, 'seq continues after the dropped days, never below');
  await third.write([parsed(rfc5424({ time: clock.now, msg: 'new' }), clock.now)]);
  assert.equal(third.lastSeq, 181);
  await third.close();
  const v2 = runVerify({ store: dir, keyDir: dataDir });
  assert.equal(v2.exitCode, 0, v2.stdout + v2.stderr);
});
