// PostgreSQL destination against the machine's server: partitions, commit before ok, bad rows, retention, refusals.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { PostgresDestination, postgresDestinationSchema, redact } from '../../src/destinations/postgres/index.js';
import { listPartitions } from '../../src/destinations/postgres/schema.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { setLogSink } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import { endpoint, freePort, startPipeline } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import { freshDatabase, pgUnavailable, type TestDatabase } from '../store/postgres/pg-db.js';

setLogSink(() => {});

// Skipped (with the reason) where no PostgreSQL answers; CI (SLUICE_REQUIRE_ALL=1) fails instead.
const skip = await pgUnavailable();

const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 40000, tlsPeer: null };
const DAY = 86_400_000;

function syslogEvent(line: string, receivedAt = Date.now()): LogEvent {
  const e = new LogEvent(SOURCE, receivedAt);
  const b = Buffer.from(line);
  parseSyslog(e, b, 0, b.length, 'auto');
  return e;
}

function destination(url: string, extra: Record<string, unknown> = {}): PostgresDestination {
  const cfg = postgresDestinationSchema.parse({ type: 'postgres', url, ...extra });
  return new PostgresDestination(cfg, { name: 'pg', metrics: new Metrics(), dataDir: tempDir('pgdest') });
}

function send(d: PostgresDestination, events: LogEvent[]): Promise<SendResult> {
  return new Promise((resolve) => d.send(events, resolve));
}

async function count(db: TestDatabase, table = 'sluice_events'): Promise<number> {
  return Number((await db.client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
}

describe('postgres destination', { skip }, () => {
  let db: TestDatabase;
  before(async () => { db = await freshDatabase(); });
  after(async () => { await db.drop(); });

  test('stores a batch in one partition per UTC day, committed before it answers ok', async () => {
    const d = destination(db.url);
    await d.start();
    const events = [
      syslogEvent('<34>1 2026-03-01T23:59:59.500Z web-01 sshd 42 ID7 [x@1 a="1"] Failed password for root'),
      syslogEvent('<13>1 2026-03-02T00:00:00.250+00:00 web-02 cron - - - job done'),
      syslogEvent('<13>Mar  2 10:00:00 oldhost app: bsd style', Date.parse('2026-03-02T12:00:00Z')),
    ];
    const r = await send(d, events);
    assert.deepEqual(r, { status: 'ok' });
    // Read on another connection: what ok covers is visible to everyone.
    assert.equal(await count(db), 3);
    const days = await listPartitions(db.client, { prefix: 'sluice_' });
    assert.deepEqual(days.map((x) => new Date(x).toISOString().slice(0, 10)), ['2026-03-01', '2026-03-02']);
    const rows = (await db.client.query('SELECT host, app, procid, msgid, facility, severity, peer, transport, message, raw, event, tableoid::regclass::text AS part FROM sluice_events ORDER BY time')).rows;
    assert.equal(rows[0].part, 'sluice_events_p20260301');
    assert.equal(rows[0].host, 'web-01');
    assert.equal(rows[0].facility, 4);
    assert.equal(rows[0].severity, 2);
    assert.equal(rows[0].msgid, 'ID7');
    assert.equal(rows[0].message, 'Failed password for root');
    assert.equal(rows[0].raw.toString(), '<34>1 2026-03-01T23:59:59.500Z web-01 sshd 42 ID7 [x@1 a="1"] Failed password for root');
    assert.deepEqual(rows[0].event.structured_data, { 'x@1': { a: '1' } });
    assert.equal(rows[1].part, 'sluice_events_p20260302');
    assert.equal(rows[2].host, 'oldhost');
    await d.stop();
  });

  test('a second writer on the same database shares the tables and partitions', async () => {
    const a = destination(db.url);
    const b = destination(db.url);
    await a.start();
    await b.start();
    const before0 = await count(db);
    // Both create the same new days at once; the advisory lock serialises them.
    const mk = (tag: string) => Array.from({ length: 50 }, (_, i) => syslogEvent(`<13>1 2026-04-0${1 + (i % 5)}T10:00:00Z h ${tag} - - - n${i}`));
    const [ra, rb] = await Promise.all([send(a, mk('a')), send(b, mk('b'))]);
    assert.deepEqual([ra, rb], [{ status: 'ok' }, { status: 'ok' }]);
    assert.equal(await count(db), before0 + 100);
    const seqs = (await db.client.query('SELECT count(DISTINCT seq) AS n, count(*) AS m FROM sluice_events')).rows[0];
    assert.equal(seqs.n, seqs.m, 'sequence numbers are unique across writers');
    await a.stop();
    await b.stop();
  });

  test('bad data: only the events PostgreSQL refuses are rejected, with the reason; the rest are stored', async () => {
    const d = destination(db.url, { table: 'bad_' });
    await d.start();
    const good = Array.from({ length: 9 }, (_, i) => syslogEvent(`<13>1 2026-03-05T10:00:0${i}Z h app - - - fine ${i}`));
    // A host name longer than a btree index row could hold: no index on host, so it is stored
    // (its text index lexeme is cut, blocks.ts).
    const huge = syslogEvent(`<13>1 2026-03-05T10:00:00Z ${crypto.randomBytes(9000).toString('base64')} app - - - too big`);
    // A lone surrogate cannot be stored in jsonb.
    const surrogate = LogEvent.fromValues(SOURCE, Date.now(), { message: 'odd', fields: { x: '\ud800' }, timestamp: '2026-03-05T11:00:00Z' });
    const nul = LogEvent.fromValues(SOURCE, Date.now(), { message: 'a\0b', hostname: 'n\0l', timestamp: '2026-03-05T12:00:00Z' });
    const batch = [...good.slice(0, 4), huge, ...good.slice(4), surrogate, nul];
    const r = await send(d, batch);
    assert.equal(r.status, 'reject');
    assert.ok(r.status === 'reject' && r.events !== undefined);
    assert.deepEqual(r.events, [surrogate]);
    assert.match(r.error, /PostgreSQL refused 1 event\(s\): .*(json|Unicode|surrogate)/i);
    assert.equal(await count(db, 'bad_events'), 11, 'the good ones, the huge host and the NUL one (NUL stored as U+FFFD) are stored');
    // The blocks and counts of the refused part went with its rolled-back transaction.
    assert.equal(Number((await db.client.query(`SELECT sum(n) AS n FROM bad_counts WHERE field = ''`)).rows[0].n), 11);
    assert.equal(Number((await db.client.query('SELECT sum(last_seq - first_seq + 1) AS n FROM bad_blocks')).rows[0].n), 11);
    const n = (await db.client.query(`SELECT message, host FROM bad_events WHERE message LIKE 'a%b'`)).rows[0];
    assert.deepEqual(n, { message: 'a\uFFFDb', host: 'n\uFFFDl' });
    await d.stop();
  });

  test('retention drops whole partitions older than max_age, keeps the rest', async () => {
    const d = destination(db.url, { table: 'ret_', retention: { max_age: '10d' } });
    await d.start();
    const now = Date.now();
    const old = syslogEvent(`<13>1 ${new Date(now - 40 * DAY).toISOString()} h app - - - old`);
    const recent = syslogEvent(`<13>1 ${new Date(now - 2 * DAY).toISOString()} h app - - - recent`);
    assert.deepEqual(await send(d, [old, recent]), { status: 'ok' });
    // The first send applied retention before writing; the next one (after an old write) applies it again.
    await d.stop();
    const d2 = destination(db.url, { table: 'ret_', retention: { max_age: '10d' } });
    await d2.start();
    assert.deepEqual(await send(d2, [syslogEvent(`<13>1 ${new Date(now).toISOString()} h app - - - now`)]), { status: 'ok' });
    const msgs = (await db.client.query('SELECT message FROM ret_events ORDER BY time')).rows.map((r) => r.message);
    assert.deepEqual(msgs, ['recent', 'now']);
    const days = await listPartitions(db.client, { prefix: 'ret_' });
    assert.ok(days.every((x) => x + DAY > now - 10 * DAY), 'no partition older than max_age is left');
    // The day's blocks and counts left with it: the same days, in each table.
    const parts = (await db.client.query(`SELECT p.relname AS parent, count(*)::int AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname IN ('ret_events', 'ret_blocks', 'ret_counts') GROUP BY 1`)).rows;
    assert.deepEqual(Object.fromEntries(parts.map((r) => [r.parent, r.n])), { ret_events: days.length, ret_blocks: days.length, ret_counts: days.length });
    assert.equal(Number((await db.client.query(`SELECT sum(n) AS n FROM ret_counts WHERE field = ''`)).rows[0].n), 2);
    await d2.stop();
  });

  test('no server listening: retry, nothing acknowledged; the URL password is not in the error', async () => {
    const port = await freePort();
    const d = destination(`postgres://postgres:secret@127.0.0.1:${port}/x`, { connect_timeout: '2s' });
    await d.start();
    const r = await send(d, [syslogEvent('<13>1 2026-03-01T00:00:00Z h a - - - x')]);
    assert.equal(r.status, 'retry');
    assert.ok(r.status === 'retry' && /ECONNREFUSED|connect/i.test(r.error), r.status === 'retry' ? r.error : '');
    assert.ok(!r.error.includes('secret'));
    assert.equal(redact('postgres://u:pw@h:1/d'), 'postgres://u:***@h:1/d');
    await d.stop();
  });
});

/** A TCP relay to the real server that can cut every connection once some bytes went through. */
class Relay {
  readonly sockets = new Set<net.Socket>();
  private server: net.Server | null = null;
  bytesUp = 0;
  cutAfter = Infinity;
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    this.server = net.createServer((c) => {
      const up = net.connect(5432, '127.0.0.1');
      this.sockets.add(c); this.sockets.add(up);
      c.on('data', (d: Buffer) => {
        this.bytesUp += d.length;
        if (this.bytesUp > this.cutAfter) { this.cut(); return; }
        up.write(d);
      });
      up.pipe(c);
      c.on('error', () => up.destroy()); up.on('error', () => c.destroy());
      c.on('close', () => up.destroy()); up.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

describe('postgres destination: connection lost in the middle of a batch', { skip }, () => {
  let db: TestDatabase;
  before(async () => { db = await freshDatabase(); });
  after(async () => { await db.drop(); });

  test('the batch is a retry; sent again it completes, chunks committed before the cut are not written twice', async () => {
    const relay = new Relay(await freePort());
    await relay.start();
    try {
      const d = destination(db.url.replace('127.0.0.1:5432', `127.0.0.1:${relay.port}`), { writers: 1, connect_timeout: '2s' });
      await d.start();
      const events = Array.from({ length: 5000 }, (_, i) => syslogEvent(`<13>1 2026-03-07T10:00:00Z h app - - - cut test n${i}`));
      assert.deepEqual(await send(d, [events[0]!]), { status: 'ok' }, 'tables made before the cut');
      // About 2 chunks of 1000 rows (~280 bytes each on the wire) get through, then every connection is cut.
      relay.cutAfter = relay.bytesUp + 600_000;
      const r = await send(d, events);
      assert.equal(r.status, 'retry', `relayed ${relay.bytesUp} bytes, cut after ${relay.cutAfter}`);
      const mid = await count(db);
      assert.ok(mid >= 1 && mid < 5001, `part of the batch at most: ${mid}`);
      relay.cutAfter = Infinity;
      assert.deepEqual(await send(d, events), { status: 'ok' });
      const rows = (await db.client.query(`SELECT count(*) AS n, count(DISTINCT message) AS d FROM sluice_events WHERE message LIKE 'cut test %'`)).rows[0];
      assert.equal(Number(rows.d), 5000, 'every event stored');
      assert.equal(Number(rows.n), 5001, 'no duplicates: the retry skipped the chunks committed before the cut');
      await d.stop();
    } finally {
      await relay.stop();
    }
  });
});

describe('postgres destination in a pipeline: PostgreSQL refusing connections, then there', { skip }, () => {
  let db: TestDatabase;
  before(async () => { db = await freshDatabase(); });
  after(async () => { await db.drop(); });

  test('events wait (unacknowledged) while nothing listens, and are all stored once the server is reachable', async () => {
    // A TCP relay on a free port stands for "the server": absent first (connection refused), then started.
    const port = await freePort();
    const dir = tempDir('pgpipe');
    const url = db.url.replace('127.0.0.1:5432', `127.0.0.1:${port}`);
    const p = await startPipeline(JSON.stringify({
      data_dir: `${dir}/data`,
      api: false,
      sources: { net: { type: 'syslog', listen: ['tcp://127.0.0.1:0'] } },
      destinations: { pg: { type: 'postgres', url, connect_timeout: '1s', retry: { initial: '50ms', max: '200ms' } } },
      log: [{ from: 'net', to: 'pg' }],
    }), dir);
    let relay: net.Server | null = null;
    const sockets = new Set<net.Socket>();
    try {
      const tcp = endpoint(p, 'net', 'tcp');
      const sock = net.connect(tcp.port, tcp.host);
      await new Promise((r) => sock.once('connect', r));
      let lines = '';
      for (let i = 0; i < 200; i++) lines += `<13>1 2026-03-01T10:00:00Z web-01 app - - - event ${i}\n`;
      sock.end(lines);
      const metrics = () => p.metrics.registry.getSingleMetricAsString('sluice_retries_total');
      await waitFor(async () => /sluice_retries_total\{component="pg"\} [3-9]\d*/.test(await metrics()), 'a few retries while nothing listens');
      const sent = await p.metrics.registry.getSingleMetricAsString('sluice_events_sent_total');
      assert.ok(!/component="pg"\} [1-9]/.test(sent), `nothing delivered yet: ${sent}`);
      relay = net.createServer((c) => {
        const up = net.connect(5432, '127.0.0.1');
        sockets.add(c); sockets.add(up);
        c.pipe(up); up.pipe(c);
        c.on('error', () => up.destroy()); up.on('error', () => c.destroy());
      });
      await new Promise<void>((r) => relay!.listen(port, '127.0.0.1', r));
      await waitFor(async () => {
        try { return await count(db) === 200; } catch { return false; }
      }, 'all 200 events stored once the server is reachable', 20_000);
    } finally {
      await p.stop();
      for (const s of sockets) s.destroy();
      relay?.close();
    }
  });
});
