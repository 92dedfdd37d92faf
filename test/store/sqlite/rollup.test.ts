// The partitions' per-minute rollup: facets, stats/top by one field and histograms answered from
// it equal the row counts (rollup: false) and the in-memory evaluator, edge minutes included;
// the rollup stays exactly the rows' counts across late events, old partitions and kill -9.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import Database from 'better-sqlite3';
import type { FieldRef } from '../../../src/store/query/ast.js';
import { compileMatcher } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { runQuery } from '../../../src/store/query/pipes.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { listPartitions } from '../../../src/store/sqlite/schema.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import type { StoredEvent, TimeRange } from '../../../src/store/types.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { tempDir } from '../../helpers/wait.js';
import { DAY, T0, rollupEvents } from './rollup-events.js';

const ALL: TimeRange = { from: 0, to: Date.UTC(10000, 0, 1) };
const MIN = 60_000;
const FIELDS: FieldRef[] = (['host', 'app', 'severity', 'facility', 'source'] as const).map((name) => ({ kind: 'builtin', name }));
const RANGES: TimeRange[] = [
  ALL,
  { from: T0, to: T0 + 3 * DAY },
  // Partial minutes at both ends, across the first day boundary.
  { from: T0 + 5 * 3_600_000 + 12_345, to: T0 + DAY + 7 * 3_600_000 + 54_321 },
  // Inside one minute; the last 24 h of the data up to an odd millisecond.
  { from: T0 + DAY + 30 * MIN + 1_000, to: T0 + DAY + 30 * MIN + 59_000 },
  { from: T0 + 2 * DAY - 777, to: T0 + 3 * DAY - 777 },
];

function open(dir: string): Promise<EmbeddedStore> {
  return EmbeddedStore.open(dir, { openSealer: async () => new TestSealer(testSealerOptions(dir)) });
}

/** Every partition's rollup tables (hours, minutes) equal what GROUP BY over its rows gives. */
function assertRollupExact(dir: string): void {
  for (const p of listPartitions(dir)) {
    const db = new Database(p.file, { readonly: true });
    try {
      for (const [table, ms] of [['rollup_hour', 3_600_000], ['rollup_minute', 60_000]] as const) {
        const stored = db.prepare(`SELECT field, value, slot, n FROM ${table} ORDER BY 1, 2, 3`).all();
        const parts = [`SELECT '' AS field, '' AS value, time / ${ms} AS slot, count(*) AS n FROM events GROUP BY 3`];
        for (const f of ['host', 'app', 'facility', 'severity', 'source']) parts.push(`SELECT '${f}', ${f} COLLATE BINARY AS v, time / ${ms} AS s, count(*) FROM events WHERE ${f} IS NOT NULL GROUP BY v, s`);
        const want = db.prepare(`SELECT * FROM (${parts.join(' UNION ALL ')}) ORDER BY 1, 2, 3`).all();
        assert.ok(want.length > 0, `${p.day} has rows`);
        assert.deepEqual(stored, want, `${table} of ${p.day}`);
      }
    } finally {
      db.close();
    }
  }
}

/** The rollup reader, the row-counting reader and the in-memory evaluator agree. */
async function assertAgree(dir: string): Promise<void> {
  const rolled = new SqliteStoreReader(dir);
  const rows = new SqliteStoreReader(dir, { rollup: false });
  try {
    const everything: StoredEvent[] = (await rows.search({ query: parseQuery(''), range: ALL, limit: 1_000_000 })).events;
    for (const range of RANGES) {
      const inRange = everything.filter((e) => e.time >= range.from && e.time < range.to);
      const what = `range ${new Date(range.from).toISOString()}..${new Date(Math.min(range.to, 8.64e15)).toISOString()}`;
      for (const filter of ['', 'host:web-01', 'severity:err', 'app:sshd', 'source:api']) {
        const q = parseQuery(filter);
        const f = await rolled.facets(q, range, FIELDS, 100);
        assert.deepEqual(f, await rows.facets(q, range, FIELDS, 100), `facets ${filter} ${what}`);
        for (const field of ['host', 'app', 'severity', 'facility', 'source']) {
          const want = runQuery(parseQuery(`${filter} | top 100 ${field}`), inRange.map((e) => e.event));
          assert.deepEqual(f.facets.get(field)!.map((v) => ({ [field]: v.value, count: v.count })), want.kind === 'rows' ? want.rows : null, `facet ${field} ${filter} ${what}`);
        }
        for (const step of [MIN, 24 * MIN, 3_600_000, 90_000]) {
          const h = await rolled.hits(q, range, step);
          assert.deepEqual(h, await rows.hits(q, range, step), `hits ${filter} step ${step} ${what}`);
          const m = compileMatcher(q.filter);
          const want = new Map<number, number>();
          for (const e of inRange) if (m(e.event)) { const b = Math.floor(e.time / step) * step; want.set(b, (want.get(b) ?? 0) + 1); }
          assert.deepEqual(new Map(h.buckets.filter((b) => b.count > 0).map((b) => [b.time, b.count])), want, `hits ${filter} step ${step} ${what}: as the matcher`);
        }
      }
      for (const text of ['| stats count()', '| stats count() by (host)', '| top 3 app', '| stats count() by (severity)', 'host:web-01 | stats count() by (host)', 'severity:err | stats count()', 'host:WEB-01 | stats count()', '| stats count() by (host, app)']) {
        const q = parseQuery(text);
        const a = await rolled.aggregate(q, range);
        assert.deepEqual(a, await rows.aggregate(q, range), `${text} ${what}`);
        const want = runQuery(q, inRange.map((e) => e.event));
        assert.deepEqual(a.rows, want.kind === 'rows' ? want.rows : null, `${text} ${what}: as the pipes`);
      }
    }
  } finally {
    await rolled.close();
    await rows.close();
  }
}

let dir = '';
before(async () => {
  dir = tempDir('rollup');
  const store = await open(dir);
  // Day 3 first, then batches that reach back into the older days (late events).
  for (let k = 0; k < 8; k++) await store.write(rollupEvents(k, 400));
  await store.close();
});

test('the rollup of every partition is exactly the counts of its rows (several days, late events)', () => {
  assert.equal(listPartitions(dir).length, 3);
  assertRollupExact(dir);
});

test('facets, hits and stats/top from the rollup = from the rows = the in-memory evaluator, edge minutes included', async () => {
  await assertAgree(dir);
});

test('facets and histograms without a filter read the rollup (a changed counter shows)', async () => {
  const p = listPartitions(dir)[0]!;
  const copy = tempDir('rollup-copy');
  fs.cpSync(dir, copy, { recursive: true });
  const db = new Database(path.join(copy, path.basename(p.file)));
  // A whole day is read from its hours.
  db.prepare("UPDATE rollup_hour SET n = n + 1000 WHERE field = 'host' AND value = 'db-1' AND slot = (SELECT min(slot) FROM rollup_hour WHERE field = 'host' AND value = 'db-1')").run();
  db.prepare("UPDATE rollup_hour SET n = n + 1000 WHERE field = '' AND slot = (SELECT min(slot) FROM rollup_hour)").run();
  db.close();
  const rolled = new SqliteStoreReader(copy);
  const rows = new SqliteStoreReader(copy, { rollup: false });
  const dayRange = { from: p.from, to: p.to };
  const host = async (r: SqliteStoreReader) => (await r.facets(parseQuery(''), dayRange, [FIELDS[0]!], 10)).facets.get('host')!.find((v) => v.value === 'db-1')!.count;
  assert.equal(await host(rolled), (await host(rows)) + 1000);
  const total = async (r: SqliteStoreReader) => (await r.hits(parseQuery(''), dayRange, 3_600_000)).buckets.reduce((s, b) => s + b.count, 0);
  assert.equal(await total(rolled), (await total(rows)) + 1000);
  // A filter the rollup cannot answer counts rows.
  const err = async (r: SqliteStoreReader) => (await r.facets(parseQuery('error'), dayRange, [FIELDS[0]!], 10)).facets;
  assert.deepEqual(await err(rolled), await err(rows));
  await rolled.close();
  await rows.close();
});

test('a partition from before the rollup is answered from its rows, and gets its rollup when next written', async () => {
  const old = tempDir('rollup-old');
  let store = await open(old);
  for (let k = 0; k < 3; k++) await store.write(rollupEvents(k, 300));
  await store.close();
  for (const p of listPartitions(old)) {
    const db = new Database(p.file);
    db.exec('DROP TABLE rollup_hour; DROP TABLE rollup_minute');
    db.close();
  }
  await assertAgree(old);
  // One more batch reaches every day: each partition is opened for writing and builds its rollup.
  store = await open(old);
  await store.write(rollupEvents(3, 300));
  await store.close();
  assertRollupExact(old);
  await assertAgree(old);
});

test('after kill -9 mid-ingest the rollup is exactly the committed rows', { timeout: 60_000 }, async () => {
  const crashed = tempDir('rollup-kill');
  const child = spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'rollup-writer.child.js'), crashed], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // Killed while it keeps writing: batches after the 5th are in flight.
      if ((out.match(/^batch /gm) ?? []).length >= 5) { child.kill('SIGKILL'); resolve(); }
    });
    child.once('exit', (code, signal) => { if (signal !== 'SIGKILL') reject(new Error(`writer ended on its own (${code}): ${out.slice(-200)}`)); });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  // Read as it was left (no writer has opened it since: WAL recovery happens on open).
  assertRollupExact(crashed);
  await assertAgree(crashed);
});

test('windowsWith: the minutes holding every term, merged where they touch, newest first; null past the bound', async () => {
  const dir = tempDir('rollup-windows');
  const store = await EmbeddedStore.open(dir, { openSealer: async () => new TestSealer(testSealerOptions(dir)) });
  const base = Date.UTC(2026, 10, 12, 10, 0, 0);
  const { LogEvent } = await import('../../../src/event/log-event.js');
  const src = { name: 'net', transport: 'tcp' as const, address: '127.0.0.1', port: null, tlsPeer: null };
  const at = (minute: number, hostname: string, severity: number) => LogEvent.fromValues(src, base, { timestamp: new Date(base + minute * MIN + 5000).toISOString(), hostname, appname: 'a', severity, facility: 1, message: 'm' });
  // rare: minutes 3, 4, 5 (touching) and 9; with severity 2 only in 4 and 9. busy: 300 minutes apart.
  const events = [at(3, 'rare', 1), at(4, 'RARE', 2), at(5, 'rare', 1), at(9, 'rare', 2)];
  for (let m = 0; m < 600; m += 2) events.push(at(m, 'busy', 1));
  await store.write(events);
  await store.close();
  const { windowsWith, rolledTerms } = await import('../../../src/store/sqlite/rollup.js');
  const db = new Database(listPartitions(dir)[0]!.file, { readonly: true });
  try {
    const all = [base, base + DAY] as const;
    assert.deepEqual(windowsWith(db, rolledTerms(parseQuery('host:rare').filter), ...all, 10), [[base + 9 * MIN, base + 10 * MIN], [base + 3 * MIN, base + 6 * MIN]]);
    assert.deepEqual(windowsWith(db, rolledTerms(parseQuery('host:rare severity:2 word').filter), ...all, 10), [[base + 9 * MIN, base + 10 * MIN], [base + 4 * MIN, base + 5 * MIN]]);
    assert.deepEqual(windowsWith(db, rolledTerms(parseQuery('host:rare').filter), base + 4 * MIN + 30_000, base + 9 * MIN, 10), [[base + 4 * MIN + 30_000, base + 6 * MIN]], 'clipped to the range');
    assert.equal(windowsWith(db, rolledTerms(parseQuery('host:busy').filter), ...all, 256), null, '300 separate minutes are more than 256 windows');
    assert.equal(windowsWith(db, rolledTerms(parseQuery('host:busy').filter), ...all, 300)!.length, 300);
    assert.deepEqual(windowsWith(db, rolledTerms(parseQuery('host:nobody').filter), ...all, 10), []);
  } finally {
    db.close();
  }
  // And the reader answers through them exactly (newest first).
  const reader = new SqliteStoreReader(dir);
  const r = await reader.search({ query: parseQuery('host:rare'), range: ALL, limit: 10 });
  assert.deepEqual(r.events.map((e) => e.time), [9, 5, 4, 3].map((m) => base + m * MIN + 5000));
  await reader.close();
});
