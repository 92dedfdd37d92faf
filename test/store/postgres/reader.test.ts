// PgStoreReader against the machine's PostgreSQL (a fresh database per run, dropped after):
// every query of a table answered by SQL equals the in-memory evaluator (compileMatcher,
// applyPipes) over the same stored events; bad queries get a clear error or a bounded answer.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseSyslog } from '../../../src/codec/syslog-parser.js';
import { PostgresDestination, postgresDestinationSchema } from '../../../src/destinations/postgres/index.js';
import type { SendResult } from '../../../src/destinations/types.js';
import { LogEvent, type EventJson, type EventSource } from '../../../src/event/log-event.js';
import { isSluiceError } from '../../../src/errors.js';
import { setLogSink } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/registry.js';
import type { FieldRef, Query } from '../../../src/store/query/ast.js';
import { compileMatcher } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { applyPipes } from '../../../src/store/query/pipes.js';
import { PgStoreReader } from '../../../src/store/postgres/reader.js';
import type { StoredEvent, TimeRange } from '../../../src/store/types.js';
import { tempDir } from '../../helpers/wait.js';
import { freshDatabase, pgUnavailable, type TestDatabase } from './pg-db.js';

setLogSink(() => {});

// Skipped (with the reason) where no PostgreSQL answers; CI (SLUICE_REQUIRE_ALL=1) fails instead.
const skip = await pgUnavailable();

const TCP: EventSource = { name: 'net', transport: 'tcp', address: '10.0.0.5', port: 51000, tlsPeer: null };
const HTTP: EventSource = { name: 'api', transport: 'https', address: '10.0.0.9', port: 443, tlsPeer: 'CN=client' };
const T0 = Date.parse('2026-03-01T22:00:00Z');
const MIN = 60_000;

function syslog(line: string, receivedAt: number): LogEvent {
  const e = new LogEvent(TCP, receivedAt);
  const b = Buffer.from(line);
  parseSyslog(e, b, 0, b.length, 'auto');
  return e;
}

const iso = (i: number): string => new Date(T0 + i * 7 * MIN).toISOString();

/** Varied events over three UTC days: words, punctuation, paths, unicode, SD, fields of every JSON type. */
function corpus(): LogEvent[] {
  const lines = [
    `<34>1 ${iso(0)} web-01 sshd 4242 AUTH [origin@1 ip="10.1.1.1" user="root"] Failed password for root from 10.1.1.1 port 22 ssh2`,
    `<38>1 ${iso(1)} web-01 sshd 4243 AUTH - Accepted publickey for alice from 10.1.1.2`,
    `<11>1 ${iso(2)} web-02 nginx - ACCESS [meta@2 status="500" bytes="1024"] GET /usr/bin/sshd?x=1 HTTP/1.1 500`,
    `<13>1 ${iso(3)} db-01.example.org postgres 77 - - Disk FULL on /var/lib/postgresql: 100% used, disk full`,
    `<14>1 ${iso(4)} db-01.example.org cron - - - (root) CMD (run-parts /etc/cron.hourly)`,
    `<165>1 ${iso(5)} Web-01 app 9 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event log entry`,
    `<27>1 ${iso(6)} mail mail.local - - - user@example.com: delivery deferred; Grüße an café ÉTÉ`,
    `<30>1 ${iso(7)} web-03 kernel - - - Out of memory: Killed process 1234 (java) total-vm:123456kB`,
    `<13>1 ${iso(8)} web-03 nginx - - - it's a "quoted" message with 'single' quotes; DROP TABLE sluice_events; --`,
    `<13>1 ${iso(9)} web-02 nginx - - - error error error repeated ERROR words`,
    `<13>Mar  2 03:04:05 oldbox legacy[99]: BSD style message about disk errors`,
    `<13>1 ${iso(11)} web-04 app - - [tags@1 t="a" t="B"] multi\nline\nmessage with a tab\there`,
    `<9>1 ${iso(12)} web-04 sudo - - - pam_unix(sudo:session): session opened for user root by alice(uid=0)`,
  ];
  const out = lines.map((l, i) => syslog(l, T0 + i * 7 * MIN + 500));
  const v = (i: number, values: Parameters<typeof LogEvent.fromValues>[2]): LogEvent => LogEvent.fromValues(HTTP, T0 + i * 7 * MIN + 900, { timestamp: iso(i), ...values });
  out.push(
    v(20, { hostname: 'api-01', appname: 'billing', severity: 6, facility: 16, message: 'invoice 42 paid', fields: { bytes: 500, user: 'alice', flag: true, tags: ['a', 'B', 7], rule: { id: 'R1', level: 'high' }, 'dotted.key': 'x' } }),
    v(21, { hostname: 'api-01', appname: 'billing', severity: 4, facility: 16, message: 'invoice 43 overdue', fields: { bytes: '750', user: 'Bob', flag: false, ratio: 1.5, none: null } }),
    v(22, { hostname: 'api-02', appname: 'billing', severity: 3, facility: 16, message: 'payment failed: card declined', fields: { bytes: 'abc', user: 'alice', status: 500 } }),
    v(23, { hostname: null, appname: 'orphan', severity: 5, facility: 1, message: 'no host at all', fields: { bytes: 5 } }),
    v(24, { hostname: 'api-02', appname: null, severity: 7, facility: 23, message: null, fields: { empty: '' } }),
    v(25, { hostname: 'api-03', appname: 'billing', severity: 2, facility: 16, message: 'Ünïcödé wörds and 日本語 text', fields: { bytes: -3.25 } }),
  );
  // A day later and two days later (three partitions in all).
  out.push(v(240, { hostname: 'web-01', appname: 'sshd', severity: 5, facility: 4, message: 'Failed password for invalid user admin', fields: {} }));
  out.push(v(420, { hostname: 'web-01', appname: 'sshd', severity: 5, facility: 4, message: 'session closed for user root', fields: {} }));
  return out;
}

const QUERIES = [
  '', 'failed', 'FAILED password', 'root', '"failed password"', '"password for"', '"for root"', 'disk full', '"disk full"',
  'disk*', 'err*', '"invoice 4"*', 'web-01', '10.1.1.1', '10.1.1.*', 'sshd', 'usr', 'x', 'grüße', 'café', 'été', 'wörds', '日本語',
  'error', 'NOT error', '-error', 'failed OR accepted', 'failed OR NOT root', '(disk OR memory) NOT full', 'root -failed',
  'host:web-01', 'host:WEB-01', 'host:web-0*', 'host:*', 'NOT host:*', 'host:web-?1', 'host:*example*', 'host:"db-01.example.org"',
  'app:sshd', 'app:billing', 'procid:4242', 'msgid:auth', 'source:api', 'transport:https', 'transport:tcp',
  'severity:err', 'severity:<=warning', 'severity:>notice', 'severity:[2 TO 4]', 'facility:auth', 'facility:>=local0',
  'sd.origin@1.ip:10.1.1.1', 'sd.meta@2.status:500', 'sd.meta@2.status:>=500', 'sd.tags@1.t:b', 'sd.tags@1.t:*', 'sd.exampleSDID@32473.eventID:[1000 TO 1100]',
  'fields.bytes:500', 'fields.bytes:>500', 'fields.bytes:<=500', 'fields.bytes:[0 TO 1000]', 'fields.bytes:>abc', 'fields.bytes:<b',
  'fields.user:alice', 'fields.user:ALICE', 'fields.user:b*', 'fields.flag:true', 'fields.tags:b', 'fields.tags:7', 'fields.rule.id:r1',
  'fields.rule.level:high', 'fields.dotted.key:x', 'fields.none:*', 'fields.empty:*', 'fields.status:500.0', 'fields.ratio:1.50',
  'fields.bytes:*', 'NOT fields.bytes:*', 'fields.user:/^al/', 'fields.user:/^AL/i',
  '/fail(ed|ure)/', '/FAILED/i', '/^line$/', '/^line$/m', '/multi.line/', '/multi.line/s', '/\\d{4,}/', '/\\bfor\\b root/',
  'host:/^web-0[12]$/', 'app:/^s/', 'er*r', '*rror', 'inv?ice', 'host:w*-0?', 'fields.user:a*e',
  'message:*', 'NOT message:*', 'message:failed',
  'failed | stats count() by (host)', '| stats count() by (app, severity)', '| stats count()', 'nothingmatches | stats count()',
  '| top 3 host', '| top 2 fields.user', '| top 5 fields.bytes', '| top 4 fields.tags', '| stats count() by (fields.flag) | limit 2',
  '| stats count() by (sd.tags@1.t)', 'billing | top 10 fields.bytes',
];

async function store(db: TestDatabase, events: LogEvent[]): Promise<void> {
  const d = new PostgresDestination(postgresDestinationSchema.parse({ type: 'postgres', url: db.url }), { name: 'pg', metrics: new Metrics(), dataDir: tempDir('pgreader') });
  await d.start();
  const r = await new Promise<SendResult>((res) => d.send(events, res));
  assert.deepEqual(r, { status: 'ok' });
  await d.stop();
}

/** Newest first, as search orders. */
/** The seqs of every page of a search over the range, following the cursor for at most `pages` pages. */
async function pageAll(reader: PgStoreReader, query: Query, range: TimeRange, limit: number, pages: number): Promise<number[]> {
  const seen: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) {
    const r = await reader.search({ query, range, limit, cursor });
    seen.push(...r.events.map((e) => e.seq));
    cursor = r.cursor;
    if (cursor === null) break;
  }
  return seen;
}

function newestFirst(a: StoredEvent, b: StoredEvent): number {
  return b.time - a.time || b.seq - a.seq;
}

describe('PgStoreReader equals the in-memory evaluator', { skip }, () => {
  let db: TestDatabase;
  let reader: PgStoreReader;
  let stored: StoredEvent[];
  let originals: LogEvent[];
  const ALL: TimeRange = { from: T0 - 86_400_000, to: T0 + 5 * 86_400_000 };

  before(async () => {
    db = await freshDatabase();
    originals = corpus();
    await store(db, originals);
    reader = new PgStoreReader({ url: db.url });
    stored = (await reader.search({ query: parseQuery(''), range: ALL, limit: 1000 })).events;
  });
  after(async () => {
    await reader?.close();
    await db?.drop();
  });

  test('every event reads back as the JSON event it was, newest first, with its raw bytes', () => {
    assert.equal(stored.length, originals.length);
    const byTime = [...originals].sort((a, b) => Date.parse(b.toJSON().timestamp!) - Date.parse(a.toJSON().timestamp!));
    for (let i = 0; i < stored.length; i++) {
      const want = byTime[i]!.toJSON();
      assert.deepEqual(stored[i]!.event, want, `event ${i}: ${want.message}`);
      const raw = byTime[i]!.rawBytes;
      assert.deepEqual(stored[i]!.raw, raw.length > 0 ? raw : null);
    }
    assert.deepEqual([...stored].sort(newestFirst), stored);
  });

  test('search: the same events, in the same order, for every query of the table', async () => {
    let nonTrivial = 0;
    const trivial: string[] = [];
    for (const text of QUERIES) {
      const q = parseQuery(text);
      if (q.pipes.some((p) => p.kind !== 'limit')) continue;
      const m = compileMatcher(q);
      const want = stored.filter((e) => m(e.event)).map((e) => e.seq);
      const got = (await reader.search({ query: q, range: ALL, limit: 1000 })).events.map((e) => e.seq);
      assert.deepEqual(got, want, `query ${JSON.stringify(text)}`);
      if (want.length > 0 && want.length < stored.length) nonTrivial++;
      else trivial.push(text);
    }
    // The table is only a test if most queries pick some events and leave others.
    assert.ok(trivial.length <= 8, `queries matching nothing or everything: ${JSON.stringify(trivial)}`);
    assert.ok(nonTrivial > 90, String(nonTrivial));
  });

  test('aggregate: the same rows as applyPipes for every stats/top query', async () => {
    let n = 0;
    for (const text of QUERIES) {
      const q = parseQuery(text);
      if (!q.pipes.some((p) => p.kind === 'stats' || p.kind === 'top')) continue;
      n++;
      const m = compileMatcher(q);
      const want = applyPipes(q, stored.filter((e) => m(e.event)).map((e) => e.event));
      assert.equal(want.kind, 'rows');
      const got = await reader.aggregate(q, ALL);
      assert.deepEqual(got.rows, want.kind === 'rows' ? want.rows : null, `query ${JSON.stringify(text)}`);
    }
    assert.ok(n >= 10);
  });

  test('time ranges: inclusive from, exclusive to, on the event time', async () => {
    const q = parseQuery('');
    const t = stored[5]!.time;
    const got = await reader.search({ query: q, range: { from: t, to: stored[2]!.time }, limit: 100 });
    assert.deepEqual(got.events.map((e) => e.seq), stored.filter((e) => e.time >= t && e.time < stored[2]!.time).map((e) => e.seq));
    assert.ok(got.events.some((e) => e.time === t));
    assert.ok(!got.events.some((e) => e.time === stored[2]!.time));
  });

  test('search pages with the cursor through everything, newest first, without repeats', async () => {
    assert.deepEqual(await pageAll(reader, parseQuery(''), ALL, 4, 20), stored.map((e) => e.seq));
  });

  test('hits: counts per bucket equal the evaluator, empty buckets included', async () => {
    for (const text of ['', 'failed', 'billing OR sshd']) {
      const q = parseQuery(text);
      const m = compileMatcher(q);
      const step = 3_600_000;
      const range = { from: T0, to: T0 + 3 * 86_400_000 };
      const r = await reader.hits(q, range, step);
      assert.equal(r.buckets.length, 72);
      const want = new Map<number, number>();
      for (const e of stored) if (m(e.event) && e.time >= range.from && e.time < range.to) want.set(Math.floor(e.time / step) * step, (want.get(Math.floor(e.time / step) * step) ?? 0) + 1);
      for (const b of r.buckets) assert.equal(b.count, want.get(b.time) ?? 0, `${text} @ ${new Date(b.time).toISOString()}`);
    }
  });

  test('facets: top values per field as | top', async () => {
    const fields: FieldRef[] = [{ kind: 'builtin', name: 'host' }, { kind: 'builtin', name: 'severity' }, { kind: 'fields', name: 'user' }];
    const r = await reader.facets(parseQuery(''), ALL, fields, 3);
    for (const [name, f] of [['host', fields[0]], ['severity', fields[1]], ['fields.user', fields[2]]] as const) {
      const want = applyPipes({ text: '', filter: { kind: 'all' }, pipes: [{ kind: 'top', n: 3, field: f }], scans: false }, stored.map((e) => e.event));
      assert.deepEqual(r.facets.get(name), want.kind === 'rows' ? want.rows.map((row) => ({ value: row[name], count: row.count })) : null, name);
    }
  });

  test('fields: names seen with their counts', async () => {
    const r = new Map((await reader.fields(ALL)).map((x) => [x.name, x.count]));
    const count = (f: (e: EventJson) => boolean): number => stored.filter((e) => f(e.event)).length;
    assert.equal(r.get('host'), count((e) => e.hostname !== null));
    assert.equal(r.get('message'), count((e) => e.message !== null));
    assert.equal(r.get('fields.bytes'), count((e) => 'bytes' in e.fields));
    assert.equal(r.get('sd.origin@1.ip'), 1);
    assert.equal(r.get('sd.tags@1.t'), 1);
  });

  test('context, since and lastSeq', async () => {
    const web01 = stored.filter((e) => e.event.hostname === 'web-01').reverse(); // oldest first
    const mid = web01[2]!;
    const ctx = await reader.context(mid.seq, 1, 1, 'host');
    assert.deepEqual(ctx.map((e) => e.seq), [web01[1]!.seq, mid.seq, web01[3]!.seq]);
    const max = Math.max(...stored.map((e) => e.seq));
    assert.equal(await reader.lastSeq(), max);
    const bySeq = [...stored].sort((a, b) => a.seq - b.seq);
    const since = await reader.since(parseQuery('failed OR billing'), bySeq[3]!.seq, 100);
    const m = compileMatcher(parseQuery('failed OR billing'));
    assert.deepEqual(since.map((e) => e.seq), bySeq.filter((e) => e.seq > bySeq[3]!.seq && m(e.event)).map((e) => e.seq));
    assert.deepEqual(await reader.context(999_999, 2, 2, 'source'), []);
  });
});

describe('PgStoreReader: bad queries get a clear error or a bounded answer', { skip }, () => {
  let db: TestDatabase;
  let reader: PgStoreReader;
  const ALL: TimeRange = { from: T0 - 86_400_000, to: T0 + 5 * 86_400_000 };

  before(async () => {
    db = await freshDatabase();
    await store(db, corpus());
    reader = new PgStoreReader({ url: db.url });
  });
  after(async () => {
    await reader?.close();
    await db?.drop();
  });

  async function count(): Promise<number> {
    return Number((await db.client.query('SELECT count(*) AS n FROM sluice_events')).rows[0].n);
  }

  test('SQL metacharacters in values are values: no injection, the table is intact', async () => {
    const before0 = await count();
    for (const text of [
      `host:"x'; DROP TABLE sluice_events; --"`, `"'); DELETE FROM sluice_events; --"`, `fields.user:"a' OR '1'='1"`,
      `app:"\\\\'"`, `host:x\\'*`, `sd.a@1.b:"$1"`, `fields.x:"%_"`, `/'; DROP TABLE x; --/`, `"it's"`, `DROP TABLE sluice_events`,
    ]) {
      const q = parseQuery(text);
      const m = compileMatcher(q);
      const all = (await reader.search({ query: parseQuery(''), range: ALL, limit: 1000 })).events;
      const got = await reader.search({ query: q, range: ALL, limit: 1000 });
      assert.deepEqual(got.events.map((e) => e.seq), all.filter((e) => m(e.event)).map((e) => e.seq), text);
    }
    assert.equal(await count(), before0);
    // The one event whose message holds the SQL text is found by its words, as any other.
    const hit = await reader.search({ query: parseQuery('"DROP TABLE sluice_events"'), range: ALL, limit: 10 });
    assert.equal(hit.events.length, 1);
  });

  test('a 100-year range: search answers (bounded by limit), a fine histogram is refused clearly', async () => {
    const century = { from: Date.parse('1970-01-01T00:00:00Z'), to: Date.parse('2070-01-01T00:00:00Z') };
    const r = await reader.search({ query: parseQuery('failed OR billing'), range: century, limit: 3 });
    assert.equal(r.events.length, 3);
    assert.ok(r.cursor !== null);
    const agg = await reader.aggregate(parseQuery('| stats count()'), century);
    assert.equal(agg.rows[0]!.count, corpus().length);
    await assert.rejects(reader.hits(parseQuery(''), century, 60_000), (e: unknown) => isSluiceError(e) && /too many.*buckets|buckets.*too many/i.test(e.message));
    const coarse = await reader.hits(parseQuery(''), century, 365 * 86_400_000);
    assert.equal(coarse.buckets.reduce((s, b) => s + b.count, 0), corpus().length);
    await assert.rejects(reader.search({ query: parseQuery(''), range: { from: Number.NaN, to: 1 }, limit: 1 }), (e: unknown) => isSluiceError(e));
  });

  test('scan-only plans are bounded by the scan budget and say so', async () => {
    const q: Query = parseQuery('/fail(ed|ure)/ OR er*r');
    assert.equal(q.scans, true);
    const bounded = await reader.search({ query: q, range: ALL, limit: 100, scanBudgetMs: 0 });
    assert.ok(bounded.notices.some((n) => n.code === 'scan_bounded' && /scan/.test(n.message)), JSON.stringify(bounded.notices));
    const full = await reader.search({ query: q, range: ALL, limit: 100, scanBudgetMs: 10_000 });
    assert.deepEqual(full.notices, []);
    assert.ok(full.events.length > 0);
  });

  test('a regular expression PostgreSQL cannot run is a clear error, not a crash', async () => {
    const q = parseQuery('/a\\p{L}/');
    await assert.rejects(reader.search({ query: q, range: ALL, limit: 10 }), (e: unknown) => isSluiceError(e) && /regular expression/i.test(e.message));
  });

  test('a bad cursor is a clear error', async () => {
    await assert.rejects(reader.search({ query: parseQuery(''), range: ALL, limit: 10, cursor: 'garbage' }), (e: unknown) => isSluiceError(e) && /cursor/.test(e.message));
  });

  test('an empty database (nothing stored yet) answers empty, not an error', async () => {
    const empty = await freshDatabase();
    const r = new PgStoreReader({ url: empty.url });
    try {
      assert.deepEqual((await r.search({ query: parseQuery('x'), range: ALL, limit: 10 })).events, []);
      assert.equal(await r.lastSeq(), 0);
    } finally {
      await r.close();
      await empty.drop();
    }
  });
});

describe('PgStoreReader over many blocks: the text index and the rollup', { skip }, () => {
  let db: TestDatabase;
  let reader: PgStoreReader;
  let counting: PgStoreReader;
  let stored: StoredEvent[];
  const ALL: TimeRange = { from: T0 - 86_400_000, to: T0 + 5 * 86_400_000 };
  // Partial minutes at both ends: the rollup's whole minutes plus rows at the edges.
  const PART: TimeRange = { from: T0 + 12_345, to: T0 + 10 * 3_600_000 + 777 };
  const N = 3000;

  /** Times out of seq order (blocks overlap in time) across a UTC midnight; words in every row, in a third, rarely. */
  function many(): LogEvent[] {
    const out: LogEvent[] = [];
    for (let i = 0; i < N; i++) {
      const t = T0 + ((i * 7919) % N) * 20_000 + (i % 1000);
      const words = ['alpha', `w${i % 400}`];
      if (i % 3 === 0) words.push('beta');
      if (i % 97 === 0) words.push('gamma');
      if (i % 11 === 0) words.push('disk full');
      if (i % 13 === 0) words.push('full disk');
      // Quotes and backslashes in values the blocks and counts hold as SQL literals.
      const odd = i === 1234;
      out.push(LogEvent.fromValues(TCP, t + 5, {
        timestamp: new Date(t).toISOString(), hostname: odd ? "q'uote\\back" : i % 50 === 0 ? `WEB-${i % 7}` : `web-${i % 7}`,
        appname: odd ? "x'); DROP TABLE sluice_counts; --" : ['sshd', 'cron', null][i % 3]!, severity: i % 8, facility: i % 24, message: words.join(' '), fields: {},
      }));
    }
    return out;
  }

  before(async () => {
    db = await freshDatabase();
    const events = many();
    // Several batches of several chunks each (a chunk is one COPY, 1000 events at most).
    for (const [a, b] of [[0, 1000], [1000, 2200], [2200, 2500], [2500, N]] as const) await store(db, events.slice(a, b));
    reader = new PgStoreReader({ url: db.url });
    counting = new PgStoreReader({ url: db.url, rollup: false });
    stored = (await reader.search({ query: parseQuery(''), range: ALL, limit: 10_000 })).events;
  });
  after(async () => {
    await reader?.close();
    await counting?.close();
    await db?.drop();
  });

  test('the blocks hold every event once, within one day each, with lexemes in more rows than positions allow', async () => {
    assert.equal(stored.length, N);
    const b = (await db.client.query(`SELECT sum(last_seq - first_seq + 1)::int AS n, count(*)::int AS blocks,
      bool_and(date_trunc('day', t_min AT TIME ZONE 'UTC') = date_trunc('day', t_max AT TIME ZONE 'UTC')) AS one_day,
      bool_and(words @@ 'alpha') AS alpha FROM sluice_blocks`)).rows[0];
    assert.equal(b.n, N);
    assert.ok(b.blocks >= 5, String(b.blocks));
    assert.equal(b.one_day, true);
    assert.equal(b.alpha, true);
    const counted = Number((await db.client.query(`SELECT sum(n) AS n FROM sluice_counts WHERE field = ''`)).rows[0].n);
    assert.equal(counted, N);
  });

  const SEARCHES = ['host:"q\'uote\\\\back"', 'app:"x\'); drop table sluice_counts; --"', 'alpha', 'beta', 'gamma', '"disk full"', 'disk full', 'gamma OR "full disk"', 'beta -gamma', 'NOT beta', 'host:web-3',
    'host:WEB-0', 'host:web-*', 'app:sshd beta', 'w12*', 'w1?', 'gamma host:web-1', 'severity:3 alpha', 'app:sshd OR gamma', '"full disk" | limit 5'];

  test('search: the evaluator\'s events in its order, whole and paged by cursor', async () => {
    for (const text of SEARCHES) {
      const q = parseQuery(text);
      const m = compileMatcher(q);
      const want = stored.filter((e) => m(e.event)).map((e) => e.seq);
      assert.ok(want.length > 0, text);
      const got = (await reader.search({ query: q, range: ALL, limit: 10_000 })).events.map((e) => e.seq);
      assert.deepEqual(got, want, text);
      assert.deepEqual(await pageAll(reader, q, ALL, 37, 200), want, `${text}, paged`);
      const within = stored.filter((e) => e.time >= PART.from && e.time < PART.to && m(e.event)).slice(0, 50).map((e) => e.seq);
      assert.deepEqual((await reader.search({ query: q, range: PART, limit: 50 })).events.map((e) => e.seq), within, `${text}, part of the range`);
    }
  });

  const COUNTS = ['| stats count()', '| top 5 host', '| stats count() by (host)', '| stats count() by (severity)', '| stats count() by (app)',
    'host:web-3 | stats count()', 'host:web-3 | stats count() by (host)', 'severity:3 | stats count() by (severity)', 'app:cron | top 3 app',
    'gamma | top 3 host', 'beta | stats count() by (facility)', 'NOT beta | stats count()', 'source:net | top 2 source'];

  test('aggregate: the rollup, the rows (rollup: false) and the evaluator agree', async () => {
    for (const range of [ALL, PART]) {
      const inRange = stored.filter((e) => e.time >= range.from && e.time < range.to);
      for (const text of COUNTS) {
        const q = parseQuery(text);
        const m = compileMatcher(q);
        const want = applyPipes(q, inRange.filter((e) => m(e.event)).map((e) => e.event));
        const rolled = await reader.aggregate(q, range);
        const rows = await counting.aggregate(q, range);
        assert.deepEqual(rolled.rows, want.kind === 'rows' ? want.rows : null, `${text} (rollup)`);
        assert.deepEqual(rows.rows, rolled.rows, `${text} (rows)`);
        assert.deepEqual(rolled.notices, []);
      }
    }
  });

  test('hits and facets: the rollup, the rows and the evaluator agree, partial minutes at the edges included', async () => {
    for (const text of ['', 'host:web-2', 'severity:5', 'gamma', 'app:cron']) {
      const q = parseQuery(text);
      const m = compileMatcher(q);
      for (const step of [24 * 60_000, 3_600_000, 90_000]) {
        const a = await reader.hits(q, PART, step);
        const b = await counting.hits(q, PART, step);
        assert.deepEqual(a.buckets, b.buckets, `${text} / ${step}`);
        const want = new Map<number, number>();
        for (const e of stored) if (e.time >= PART.from && e.time < PART.to && m(e.event)) want.set(Math.floor(e.time / step) * step, (want.get(Math.floor(e.time / step) * step) ?? 0) + 1);
        for (const x of a.buckets) assert.equal(x.count, want.get(x.time) ?? 0, `${text} / ${step} @ ${new Date(x.time).toISOString()}`);
      }
      const fields: FieldRef[] = [{ kind: 'builtin', name: 'host' }, { kind: 'builtin', name: 'severity' }];
      assert.deepEqual((await reader.facets(q, PART, fields, 4)).facets, (await counting.facets(q, PART, fields, 4)).facets, text);
    }
  });

  test('the rollup is what answers (a counter added by hand shows in its answer only)', async () => {
    const minute = Math.ceil(PART.from / MIN) * MIN + 10 * MIN;
    await db.client.query(`INSERT INTO sluice_counts (minute, field, value, n) VALUES ($1, '', '', 1000)`, [new Date(minute)]);
    try {
      const q = parseQuery('| stats count()');
      const [a, b] = [await reader.aggregate(q, PART), await counting.aggregate(q, PART)];
      assert.equal(a.rows[0]!.count, b.rows[0]!.count + 1000);
    } finally {
      await db.client.query(`DELETE FROM sluice_counts WHERE n = 1000 AND field = ''`);
    }
  });
});

describe('PostgreSQL store: tables of the earlier layout', { skip }, () => {
  test('are neither written nor read; the error says what to do', async () => {
    const db = await freshDatabase();
    try {
      await db.client.query(`CREATE TABLE sluice_events (seq bigserial, time timestamptz NOT NULL, message text, words tsvector) PARTITION BY RANGE (time)`);
      const d = new PostgresDestination(postgresDestinationSchema.parse({ type: 'postgres', url: db.url }), { name: 'pg', metrics: new Metrics(), dataDir: tempDir('pgold') });
      await d.start();
      const r = await new Promise<SendResult>((res) => d.send([LogEvent.fromValues(TCP, T0, { message: 'x' })], res));
      await d.stop();
      assert.equal(r.status, 'retry');
      assert.match(r.status === 'retry' ? r.error : '', /earlier sluice.*new table prefix/);
      const reader = new PgStoreReader({ url: db.url });
      try {
        await assert.rejects(reader.search({ query: parseQuery('x'), range: { from: 0, to: T0 * 2 }, limit: 1 }), (e: unknown) => isSluiceError(e) && /earlier sluice/.test(e.message));
      } finally { await reader.close(); }
    } finally {
      await db.drop();
    }
  });
});
