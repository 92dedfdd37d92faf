// The StoreReader over real partitions, every query construct checked against compileMatcher.

import assert from 'node:assert/strict';
import { before, after, test } from 'node:test';
import { LogEvent, type EventJson } from '../../../src/event/log-event.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { compileMatcher, fieldValue } from '../../../src/store/query/match.js';
import { runQuery } from '../../../src/store/query/pipes.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import type { StoredEvent, TimeRange } from '../../../src/store/types.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { prng } from '../../helpers/prng.js';
import { tempDir } from '../../helpers/wait.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 10, 0, 0, 0);
const ALL: TimeRange = { from: 0, to: Date.UTC(10000, 0, 1) };
let dir = '';
let reader: SqliteStoreReader;
let everything: StoredEvent[] = [];

const HOSTS = ['web-01', 'WEB-02', 'db-1', 'Ünïcode-Höst', 'mail.example.net'];
const APPS = ['nginx', 'sshd', 'postfix/smtpd', 'cron'];
const WORDS = ['error', 'Failed', 'password', 'disk', 'full', 'user', 'alice', 'bob', 'GET', 'POST', 'timeout', 'connection', 'reset', 'café', 'naïve', 'straße', 'x_y', '10.0.0.1', 'web-01', 'OR', 'NOT', 'near'];

before(async () => {
  dir = tempDir('store-reader');
  const store = await EmbeddedStore.open(dir, { openSealer: async () => new TestSealer(testSealerOptions(dir)) });
  const rnd = prng(42);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const evs: LogEvent[] = [];
  for (let i = 0; i < 400; i++) {
    const time = T0 + Math.floor(rnd() * 3 * DAY);
    const msg = `${Array.from({ length: 3 + Math.floor(rnd() * 6) }, () => pick(WORDS)).join(' ')} n=${i}`;
    const sd = i % 5 === 0 ? `[origin@1 ip="10.0.${i % 3}.1" software="sluice"][meta x="${i % 4}"]` : '-';
    const pri = Math.floor(rnd() * 24) * 8 + Math.floor(rnd() * 8);
    evs.push(parsed(rfc5424({ pri, time: i % 17 === 0 ? null : time, host: pick(HOSTS), app: pick(APPS), procid: String(100 + (i % 7)), msgid: i % 3 ? 'ID47' : '-', sd, msg }), T0 + DAY));
  }
  for (let i = 0; i < 40; i++) {
    evs.push(LogEvent.fromValues({ name: i % 2 ? 'api' : 'net', transport: i % 2 ? 'http' : 'tcp', address: '127.0.0.1', port: null, tlsPeer: null }, T0 + i * 3_600_000, {
      hostname: pick(HOSTS), appname: 'app', severity: i % 8, facility: i % 24, message: `from values ${pick(WORDS)} ${pick(WORDS)}`,
      fields: { bytes: i * 50, user: i % 3 ? 'alice' : 'bob', tags: ['a', i % 2 ? 'b' : 'c'], nested: { id: `x${i % 4}` }, ok: i % 2 === 0, ratio: String(i / 4) },
    }));
  }
  // Several batches, so partitions get several transactions.
  for (let k = 0; k < evs.length; k += 97) await store.write(evs.slice(k, k + 97));
  await store.close();
  reader = new SqliteStoreReader(dir);
  everything = (await reader.search({ query: parseQuery(''), range: ALL, limit: 100_000 })).events;
});
after(async () => { await reader.close(); });

const QUERIES = [
  '', 'error', 'ERROR', 'Failed password', '"disk full"', '"full disk"', 'erro*', 'pass*', 'web-01', '10.0.0.1', 'café', 'cafe', 'straße', 'x_y',
  'error OR timeout', 'error timeout', 'error -timeout', 'NOT error', 'NOT (error OR disk)', '(alice OR bob) AND NOT reset', 'error OR NOT user',
  'host:web-01', 'host:WEB-01', 'host:web-02', 'host:web-*', 'host:WEB*', 'host:"Ünïcode-Höst"', 'host:ünïcode-höst', 'host:ünï*', 'host:*', 'host:*.example.*',
  'host:WEB-01 app:sshd', 'host:web-02 error', 'severity:err source:net', 'host:web-01 -app:cron', 'host:nosuchhost',
  'app:sshd', 'app:postfix/smtpd', 'app:post*', 'procid:103', 'procid:>103', 'procid:[101 TO 103]', 'msgid:id47', 'msgid:*', '-msgid:*',
  'severity:err', 'severity:<=warning', 'severity:>notice', 'severity:[2 TO 4]', 'facility:local0', 'facility:>=local0', 'facility:[auth TO cron]', 'level:info',
  'source:net', 'source:api', 'transport:http', 'transport:tcp error',
  'sd.origin@1.ip:10.0.1.1', 'sd.origin@1.ip:10.0.*', 'sd.meta.x:[1 TO 2]', 'sd.origin@1.software:*',
  'fields.bytes:>500', 'fields.bytes:[100 TO 300]', 'fields.user:alice', 'fields.tags:b', 'fields.nested.id:x1', 'fields.ok:true', 'fields.ratio:>=2.5', 'fields.missing:*',
  'pa?sword', '*ail*', 'e*r', '/fail(ed)?/i', 'host:/^web/', 'message:/n=1[0-9]$/',
  'error user -timeout', '(error OR disk) full', '"disk full" OR pass*', 'NOT error user OR reset',
  'host:"x\' OR 1=1 --"', 'app:"a\\"b"', '"NEAR(error user)"', 'host:%', 'host:_*', 'procid:"1; DROP TABLE events"',
];

function expected(q: string): number[] {
  const m = compileMatcher(parseQuery(q).filter);
  return everything.filter((e) => m(e.event)).map((e) => e.seq);
}

for (const q of QUERIES) {
  test(`search ${JSON.stringify(q)} = compileMatcher over the same events, newest first`, async () => {
    const r = await reader.search({ query: parseQuery(q), range: ALL, limit: 100_000 });
    assert.deepEqual(r.notices, []);
    assert.deepEqual(r.events.map((e) => e.seq).sort((a, b) => a - b), expected(q).sort((a, b) => a - b));
    for (let i = 1; i < r.events.length; i++) {
      const a = r.events[i - 1]!;
      const b = r.events[i]!;
      assert.ok(a.time > b.time || (a.time === b.time && a.seq > b.seq), 'newest first');
    }
  });
}

test('the sample covers the queries: most match something, some match nothing', () => {
  const hits = QUERIES.map((q) => expected(q).length);
  assert.ok(hits.filter((n) => n > 0).length > QUERIES.length * 0.7, hits.join(','));
  assert.ok(hits.some((n) => n === 0));
});

test('cursors page through a result without duplicates or gaps', async () => {
  for (const q of ['error', 'host:web-*', '*ail*']) {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const r = await reader.search({ query: parseQuery(q), range: ALL, limit: 7, cursor });
      seen.push(...r.events.map((e) => e.seq));
      cursor = r.cursor;
      if (cursor === null) break;
    }
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    assert.deepEqual([...seen].sort((a, b) => a - b), expected(q).sort((a, b) => a - b));
  }
  await assert.rejects(reader.search({ query: parseQuery('error'), range: ALL, limit: 5, cursor: 'garbage' }), /not a cursor/);
});

test('a time range selects by event time; a 100-year range opens only the partitions there are', async () => {
  const range = { from: T0 + DAY, to: T0 + 2 * DAY };
  const r = await reader.search({ query: parseQuery(''), range, limit: 100_000 });
  assert.deepEqual(r.events.map((e) => e.seq).sort((a, b) => a - b), everything.filter((e) => e.time >= range.from && e.time < range.to).map((e) => e.seq).sort((a, b) => a - b));
  const fresh = new SqliteStoreReader(dir);
  const century = await fresh.search({ query: parseQuery('error'), range: { from: Date.UTC(1990, 0, 1), to: Date.UTC(2090, 0, 1) }, limit: 5 });
  assert.equal(century.events.length, 5);
  const few = await fresh.search({ query: parseQuery('error'), range: { from: Date.UTC(1990, 0, 1), to: Date.UTC(2090, 0, 1) }, limit: 1 });
  assert.equal(few.events.length, 1);
  assert.equal((fresh as unknown as { handles: Map<string, unknown> }).handles.size, 1, 'the newest-first search stopped at the newest partition');
  await fresh.close();
});

test('a scan past its budget answers what it found and says scan_bounded', async () => {
  const r = await reader.search({ query: parseQuery('/n=1/'), range: ALL, limit: 100_000, scanBudgetMs: 0 });
  assert.equal(r.notices[0]?.code, 'scan_bounded');
  const all = new Set(expected('/n=1/'));
  for (const e of r.events) assert.ok(all.has(e.seq));
  assert.ok(r.events.length < all.size);
  assert.notEqual(r.cursor, null, 'a cursor to continue from where the scan stopped');
});

function countBy(q: string, f: (e: EventJson) => unknown): Map<string, number> {
  const m = compileMatcher(parseQuery(q).filter);
  const out = new Map<string, number>();
  for (const e of everything) if (m(e.event)) { const k = JSON.stringify(f(e.event) ?? null); out.set(k, (out.get(k) ?? 0) + 1); }
  return out;
}

const PIPES = [
  'error | stats count() by (app)', '*ail* | stats count() by (severity)', '| stats count() by (fields.user)', '| stats count() by (host)',
  '| stats count() by (source, transport)', 'error | stats count()', 'nothingmatchesthis | stats count()', '| top 2 app', '| top 3 host',
  '| top 5 fields.tags', '| top 4 sd.origin@1.ip', 'NOT error | stats count() by (facility, severity) | limit 5', '| stats count() by (msgid)',
  'host:web-* | top 10 procid', 'pa?sword | top 3 host',
];

for (const q of PIPES) {
  test(`aggregate ${JSON.stringify(q)} = the pipes over compileMatcher's events (SQL GROUP BY or the scan path)`, async () => {
    const r = await reader.aggregate(parseQuery(q), ALL);
    const want = runQuery(parseQuery(q), everything.map((e) => e.event));
    assert.equal(want.kind, 'rows');
    assert.deepEqual(r.rows, want.kind === 'rows' ? want.rows : null);
    assert.deepEqual(r.notices, []);
  });
}

test('hits: buckets aligned to the step, counts as the matcher says', async () => {
  const step = 3_600_000;
  const range = { from: T0, to: T0 + 3 * DAY };
  for (const q of ['error', 'pa?sword']) {
    const r = await reader.hits(parseQuery(q), range, step);
    assert.equal(r.buckets.length, 72);
    assert.ok(r.buckets.every((b, i) => b.time === T0 + i * step));
    const m = compileMatcher(parseQuery(q).filter);
    const want = new Array(72).fill(0);
    for (const e of everything) if (m(e.event) && e.time >= range.from && e.time < range.to) want[Math.floor((e.time - T0) / step)]++;
    assert.deepEqual(r.buckets.map((b) => b.count), want, q);
  }
});

test('facets and fields', async () => {
  const f = await reader.facets(parseQuery('error'), ALL, [{ kind: 'builtin', name: 'host' }, { kind: 'fields', name: 'user' }], 3);
  const hosts = f.facets.get('host')!;
  assert.ok(hosts.length <= 3);
  const want = [...countBy('error', (e) => e.hostname)].sort((a, b) => b[1] - a[1]);
  assert.equal(hosts[0]!.count, want[0]![1]);
  assert.ok(f.facets.has('fields.user'));
  const names = new Map((await reader.fields(ALL)).map((x) => [x.name, x.count]));
  assert.equal(names.get('host'), everything.length);
  assert.equal(names.get('fields.bytes'), 40);
  assert.equal(names.get('sd.origin@1.ip'), 80);
  assert.equal(names.get('msgid'), everything.filter((e) => e.event.msgid !== null).length);
});

test('context: neighbours by host, oldest first, the event in the middle', async () => {
  const mid = everything[Math.floor(everything.length / 2)]!;
  const ctx = await reader.context(mid.seq, 3, 3, 'host');
  const same = everything.filter((e) => e.event.hostname === mid.event.hostname).sort((a, b) => a.time - b.time || a.seq - b.seq);
  const at = same.findIndex((e) => e.seq === mid.seq);
  assert.deepEqual(ctx.map((e) => e.seq), same.slice(Math.max(0, at - 3), at + 4).map((e) => e.seq));
  assert.deepEqual(await reader.context(999_999, 3, 3, 'host'), []);
});

test('since: matches after a seq, oldest first, bounded; lastSeq', async () => {
  assert.equal(await reader.lastSeq(), 440);
  const s = await reader.since(parseQuery('error'), 200, 5);
  const want = expected('error').filter((n) => n > 200).sort((a, b) => a - b).slice(0, 5);
  assert.deepEqual(s.map((e) => e.seq), want);
  const scan = await reader.since(parseQuery('*ail*'), 100, 3);
  assert.deepEqual(scan.map((e) => e.seq), expected('*ail*').filter((n) => n > 100).sort((a, b) => a - b).slice(0, 3));
});

test('fieldValue of stored events reads what the columns hold', () => {
  const e = everything[0]!.event;
  assert.equal(fieldValue(e, { kind: 'builtin', name: 'host' }), e.hostname);
});
