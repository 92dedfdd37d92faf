// Export of a large result set (NDJSON and CSV, streamed through pages) and live tail over SSE.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CSV_COLUMNS, csvCell } from '../../src/web/export.js';
import { bearer, readSse, startApi, type TestApi } from '../helpers/api.js';
import { WebTestStore } from '../helpers/web-store.js';

const N = 50_000;

describe('web API: export', () => {
  let store: WebTestStore;
  let t: TestApi;
  before(async () => {
    store = await WebTestStore.open();
    const now = Date.now();
    const specs = [];
    for (let i = 0; i < N; i++) specs.push({ time: now - 3600_000 + Math.floor((i * 3000_000) / N), host: `h${i % 7}`, message: `event seq=${i} with, "quotes" and\nnewline` });
    await store.add(specs);
    t = await startApi(store.reader);
  });
  after(async () => { await t.stop(); await store.close(); });

  it(`streams all ${N} events as NDJSON, newest first, paging through the reader`, async () => {
    const before = store.reader.searches;
    const r = await fetch(`${t.url}/api/export?since=2h&format=ndjson`, { headers: bearer(t.admin) });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /application\/x-ndjson/);
    assert.match(r.headers.get('content-disposition')!, /attachment; filename="sluice-.*\.ndjson"/);
    const lines = (await r.text()).split('\n').filter(Boolean);
    assert.equal(lines.length, N);
    const seqs = new Set(lines.map((l) => /seq=(\d+)/.exec(JSON.parse(l).message)![1]));
    assert.equal(seqs.size, N, 'every event once');
    assert.equal(JSON.parse(lines[0]!).message.startsWith(`event seq=${N - 1} `), true, 'newest first');
    assert.ok(store.reader.searches - before >= N / 1000, 'paged through the reader');
  });

  it(`streams all ${N} events as CSV with quoting`, async () => {
    const r = await fetch(`${t.url}/api/export?since=2h&format=csv&q=host:h3`, { headers: bearer(t.admin) });
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.ok(text.startsWith(CSV_COLUMNS.join(',') + '\r\n'));
    const rows = text.split('\r\n').filter(Boolean);
    // Messages hold a newline inside quotes: the record separator is CRLF.
    const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 7 === 3).length;
    assert.equal(rows.length - 1, expected);
    for (const row of rows.slice(1)) assert.ok(row.includes(',h3,'), row);
    const all = await (await fetch(`${t.url}/api/export?since=2h&format=csv`, { headers: bearer(t.admin) })).text();
    const records = all.split('\r\n').filter(Boolean);
    assert.equal(records.length, N + 1);
    assert.ok(records[1]!.includes('"event seq=49999 with, ""quotes"" and\nnewline"'));
  });

  it('a client that reads slowly still gets everything (backpressure, not buffering)', async () => {
    const r = await fetch(`${t.url}/api/export?since=2h&format=ndjson`, { headers: bearer(t.admin) });
    let n = 0;
    let buf = '';
    const decoder = new TextDecoder();
    let chunks = 0;
    for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(c, { stream: true });
      const parts = buf.split('\n');
      buf = parts.pop()!;
      n += parts.length;
      if (++chunks % 50 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    assert.equal(n, N);
  });

  it('CSV cells: quoting and formula neutralising', () => {
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(5), '5');
  });

  it('a bad format or query answers 400 before any stream starts', async () => {
    assert.equal((await fetch(`${t.url}/api/export?format=xml`, { headers: bearer(t.admin) })).status, 400);
    const r = await fetch(`${t.url}/api/export?q=${encodeURIComponent('nosuch:x')}`, { headers: bearer(t.admin) });
    assert.equal(r.status, 400);
    assert.equal(typeof ((await r.json()) as { error: { column: number } }).error.column, 'number');
  });
});

describe('web API: live tail', () => {
  let store: WebTestStore;
  let t: TestApi;
  before(async () => {
    store = await WebTestStore.open();
    await store.add([{ message: 'old one' }]);
    t = await startApi(store.reader, { tailRateCap: 20, tailPollMs: 50 });
  });
  after(async () => { await t.stop(); await store.close(); });

  it('delivers events stored after it started (and only matching ones), in order', async () => {
    // Events are stored once the stream said hello (it starts at the store's last seq then).
    let added: Promise<number[]> | null = null;
    const events = await readSse(`${t.url}/api/tail?q=${encodeURIComponent('app:api')}`, bearer(t.admin), (evs) => {
      if (!added && evs.some((e) => e.event === 'hello')) {
        added = store.add([{ message: 'new 1', app: 'api' }, { message: 'skip me', app: 'cron' }, { message: 'new 2', app: 'api' }, { message: 'new 3', app: 'api' }]);
      }
      return evs.filter((e) => e.event === 'log').length >= 3;
    });
    assert.ok(added);
    await added;
    assert.equal(events[0]!.event, 'hello');
    const logs = events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data));
    assert.deepEqual(logs.map((l) => l.event.message), ['new 1', 'new 2', 'new 3']);
    assert.ok(!logs.some((l) => l.event.message === 'old one'), 'starts at the end');
  });

  it('resumes after Last-Event-ID', async () => {
    const last = store.count;
    await store.add([{ message: 'resume a' }, { message: 'resume b' }]);
    const events = await readSse(`${t.url}/api/tail`, { ...bearer(t.admin), 'last-event-id': String(last) }, (evs) => evs.filter((e) => e.event === 'log').length >= 2);
    assert.deepEqual(events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data).event.message), ['resume a', 'resume b']);
  });

  it('above the rate cap it samples and says so in the stream', async () => {
    const start = store.count;
    const burst = Array.from({ length: 500 }, (_, i) => ({ message: `burst ${i}`, app: 'burst' }));
    await store.add(burst);
    const events = await readSse(`${t.url}/api/tail?q=app:burst&after=${start}`, bearer(t.admin), (evs) => evs.some((e) => e.event === 'sampled'));
    const sampled = JSON.parse(events.find((e) => e.event === 'sampled')!.data);
    const logs = events.filter((e) => e.event === 'log');
    assert.equal(sampled.cap, 20);
    assert.equal(sampled.seen, 500);
    assert.ok(sampled.dropped > 0);
    assert.equal(sampled.sent + sampled.dropped, sampled.seen);
    assert.ok(logs.length <= 20, `sent ${logs.length}, at most the cap`);
    assert.equal(logs.length, sampled.sent);
    assert.match(sampled.message, /over the cap/);
  });
});
