// The read API over real HTTP: search pages, query errors, hits, facets, fields, context.
// Runs over the real embedded store (written through the store destination, read by openEmbeddedReader).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getJson, startApi, type TestApi } from '../helpers/api.js';
import { WebTestStore } from '../helpers/web-store.js';

const NOW = Date.now();
const MIN = 60_000;

describe('web API: read routes', () => {
  let store: WebTestStore;
  let seqs: number[] = [];
  let t: TestApi;
  before(async () => {
    store = await WebTestStore.open();
    // 300 events over the last 5 hours: three hosts, two apps, one error every tenth.
    const specs = [];
    for (let i = 0; i < 300; i++) {
      specs.push({
        time: NOW - (300 - i) * MIN,
        host: `web-0${i % 3}`,
        app: i % 2 ? 'nginx' : 'sshd',
        severity: i % 10 === 0 ? 3 : 6,
        message: `request ${i} ${i % 10 === 0 ? 'failed' : 'served'}`,
        fields: { n: i },
        sd: { 'origin@1': { ip: `10.0.0.${i % 5}` } },
      });
    }
    seqs = await store.add(specs);
    t = await startApi(store.reader);
  });
  after(async () => { await t.stop(); await store.close(); });

  it('search returns newest first and the cursor pages through the whole result', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const u = new URL('/api/search', t.url);
      u.searchParams.set('q', 'failed');
      u.searchParams.set('since', '24h');
      u.searchParams.set('limit', '7');
      if (cursor) u.searchParams.set('cursor', cursor);
      const r = await getJson(u.href, t.admin);
      assert.equal(r.status, 200);
      assert.equal(r.body.query, 'failed');
      assert.ok(r.body.events.length <= 7);
      for (const e of r.body.events) {
        assert.match(e.event.message, /failed/);
        seen.push(e.time);
      }
      cursor = r.body.cursor;
      pages++;
    } while (cursor && pages < 20);
    assert.equal(seen.length, 30);
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'newest first across pages');
    assert.equal(new Set(seen).size, 30, 'no event twice');
  });

  it('the range narrows the result: since and from/to', async () => {
    const r = await getJson(`${t.url}/api/search?since=1h&limit=1000`, t.admin);
    assert.equal(r.status, 200);
    assert.ok(r.body.events.length >= 59 && r.body.events.length <= 60, `got ${r.body.events.length}`);
    const from = new Date(NOW - 100 * MIN).toISOString();
    const to = new Date(NOW - 90 * MIN).toISOString();
    const r2 = await getJson(`${t.url}/api/search?from=${from}&to=${to}&limit=1000`, t.admin);
    assert.equal(r2.body.events.length, 10);
    for (const e of r2.body.events) assert.ok(e.time >= NOW - 100 * MIN && e.time < NOW - 90 * MIN);
  });

  it('a query ending in | stats or | top answers rows', async () => {
    const r = await getJson(`${t.url}/api/search?since=24h&q=${encodeURIComponent('failed | stats count() by (host)')}`, t.admin);
    assert.equal(r.status, 200);
    assert.equal(r.body.events, undefined);
    assert.deepEqual(r.body.rows.map((x: { count: number }) => x.count), [10, 10, 10]);
    assert.ok(r.body.rows.every((x: { host: string }) => /^web-0[0-2]$/.test(x.host)));
    const top = await getJson(`${t.url}/api/search?since=24h&q=${encodeURIComponent('| top 1 app')}`, t.admin);
    assert.equal(top.body.rows.length, 1);
    assert.equal(top.body.rows[0].count, 150);
    const csv = await (await fetch(`${t.url}/api/export?since=24h&format=csv&q=${encodeURIComponent('| top 2 host')}`, { headers: { authorization: `Bearer ${t.admin}` } })).text();
    assert.deepEqual(csv.split('\r\n').filter(Boolean).map((l) => l.split(',').at(-1)), ['count', '100', '100']);
  });

  it('a query error answers 400 with the column', async () => {
    const r = await getJson(`${t.url}/api/search?q=${encodeURIComponent('failed nosuchfield:x')}`, t.admin);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'SLUICE_ERR_QUERY');
    assert.equal(typeof r.body.error.column, 'number');
    assert.ok(r.body.error.column >= 8, `column ${r.body.error.column} points into the query`);
  });

  it('bad parameters answer 400 naming the parameter', async () => {
    for (const [qs, param] of [['since=5x', 'since'], ['limit=0', 'limit'], ['from=yesterday', 'from'], ['since=1h&from=1', 'since']]) {
      const r = await getJson(`${t.url}/api/search?${qs}`, t.admin);
      assert.equal(r.status, 400, qs);
      assert.equal(r.body.error.param, param, qs);
    }
    const c = await getJson(`${t.url}/api/context?seq=abc`, t.admin);
    assert.equal(c.status, 400);
    assert.equal(c.body.error.param, 'seq');
  });

  it('hits: at most ~100 buckets from the ladder, aligned to the step, counts add up', async () => {
    const r = await getJson(`${t.url}/api/hits?since=24h`, t.admin);
    assert.equal(r.status, 200);
    assert.equal(r.body.step, '30m');
    assert.equal(r.body.step_ms, 30 * MIN);
    assert.ok(r.body.buckets.length <= 101 && r.body.buckets.length >= 48);
    for (const b of r.body.buckets) assert.equal(b.time % (30 * MIN), 0, 'aligned to :00/:30 UTC');
    assert.equal(r.body.total, 300);
    assert.equal(r.body.buckets.reduce((a: number, b: { count: number }) => a + b.count, 0), 300);
    const e = await getJson(`${t.url}/api/hits?since=1h&q=failed`, t.admin);
    assert.equal(e.body.step, '1m');
    assert.equal(e.body.total, 5); // 10, 20, 30, 40 and 50 minutes ago
  });

  it('facets: top values and counts for host, app, severity and a structured-data field', async () => {
    const r = await getJson(`${t.url}/api/facets?since=24h&fields=host,app,severity,sd.origin@1.ip&limit=2`, t.admin);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.facets.host.map((v: { count: number }) => v.count), [100, 100]);
    assert.deepEqual(new Set(r.body.facets.app.map((v: { value: string }) => v.value)), new Set(['nginx', 'sshd']));
    assert.deepEqual(r.body.facets.severity[0], { value: 6, count: 270 });
    assert.equal(r.body.facets['sd.origin@1.ip'].length, 2);
    assert.equal(r.body.facets['sd.origin@1.ip'][0].count, 60);
    const bad = await getJson(`${t.url}/api/facets?fields=nosuch`, t.admin);
    assert.equal(bad.status, 400);
  });

  it('fields lists names seen with counts', async () => {
    const r = await getJson(`${t.url}/api/fields?since=24h`, t.admin);
    const names = new Map(r.body.fields.map((f: { name: string; count: number }) => [f.name, f.count]));
    assert.equal(names.get('host'), 300);
    assert.equal(names.get('fields.n'), 300);
    assert.equal(names.get('sd.origin@1.ip'), 300);
  });

  it('context: N before and after one event, same host, oldest first', async () => {
    const target = { seq: seqs[150]!, hostname: 'web-00' }; // i = 150: host web-0${150 % 3}
    const r = await getJson(`${t.url}/api/context?seq=${target.seq}&before=3&after=2&by=host`, t.admin);
    assert.equal(r.status, 200);
    assert.equal(r.body.events.length, 6);
    assert.equal(r.body.events[3].seq, target.seq);
    assert.equal(r.body.events[3].event.fields.n, 150, 'the seq the store gave event 150');
    for (const e of r.body.events) assert.equal(e.event.hostname, target.hostname);
    const times = r.body.events.map((e: { time: number }) => e.time);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
  });

  it('without a store the data routes answer 503, the rest still works', async () => {
    const bare = await startApi(undefined);
    try {
      const r = await getJson(`${bare.url}/api/search`, bare.admin);
      assert.equal(r.status, 503);
      const s = await getJson(`${bare.url}/api/session`, bare.admin);
      assert.equal(s.status, 200);
      assert.equal(s.body.role, 'admin');
    } finally {
      await bare.stop();
    }
  });
});
