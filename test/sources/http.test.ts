// HTTP source through an in-process pipeline (Router, DestinationRunner, MemoryBuffer): routes, tokens, decoding, and when 200 is sent.

import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import type { WhenFull } from '../../src/buffer/types.js';
import type { Destination, SendResult } from '../../src/destinations/types.js';
import { LogEvent } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { DeadLetterFile } from '../../src/pipeline/dead-letter.js';
import { DestinationRunner } from '../../src/pipeline/destination-runner.js';
import { Router } from '../../src/pipeline/router.js';
import { HttpSource, httpSourceKind, httpSourceSchema } from '../../src/sources/http/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { tempDir, waitFor } from '../helpers/wait.js';

/** Records delivered events; while `holding`, sends wait for release() (a slow or stuck receiver). */
class Recorder implements Destination {
  readonly maxBatch = 1000;
  readonly received: LogEvent[] = [];
  holding = false;
  private held: (() => void)[] = [];
  async start(): Promise<void> {}
  send(events: LogEvent[], done: (r: SendResult) => void): void {
    const answer = (): void => { this.received.push(...events); done({ status: 'ok' }); };
    if (this.holding) this.held.push(answer);
    else answer();
  }
  get heldCount(): number { return this.held.length; }
  release(): void {
    this.holding = false;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }
  async stop(): Promise<void> { this.release(); }
}

interface Rig {
  metrics: Metrics;
  source: HttpSource;
  dest: Recorder;
  runner: DestinationRunner;
  buffer: MemoryBuffer;
  url: string;
  stop(): Promise<void>;
}

let dir: string;
let pki: TestPki;
const rigs: Rig[] = [];

before(async () => {
  dir = tempDir('http-src');
  pki = await makeTestPki(dir);
});

after(async () => {
  await Promise.all(rigs.map((r) => r.stop()));
});

async function rig(cfg: Record<string, unknown> = {}, buf: { maxBytes?: number; whenFull?: WhenFull } = {}): Promise<Rig> {
  const metrics = new Metrics();
  const dest = new Recorder();
  const buffer = new MemoryBuffer(buf.maxBytes ?? 32 * 1024 * 1024, buf.whenFull ?? 'block');
  const runner = new DestinationRunner('out', dest, buffer, metrics, { initialMs: 10, maxMs: 100 }, new DeadLetterFile(path.join(dir, 'dead.ndjson'), 'out'));
  const router = new Router([{ from: ['web'], filter: null, to: [runner], final: false, fallback: false }], ['web'], [runner]);
  runner.start();
  const parsed = httpSourceSchema.parse({ type: 'http', listen: ['http://127.0.0.1:0'], ...cfg });
  const source = httpSourceKind.build(parsed, { name: 'web', router, metrics, baseDir: dir }) as HttpSource;
  await source.start();
  const r: Rig = {
    metrics, source, dest, runner, buffer, url: source.addresses()[0]!,
    stop: async () => { dest.release(); await source.stop(); await runner.stop(1000); },
  };
  rigs.push(r);
  return r;
}

interface Res { status: number; headers: Record<string, string | string[] | undefined>; json: Record<string, unknown> }

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}, method: 'POST' | 'GET' | 'PUT' = 'POST', dispatcher?: Agent): Promise<Res> {
  const r = await request(url, { method, body: method === 'GET' ? undefined : body, headers, ...(dispatcher ? { dispatcher } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, json: text ? JSON.parse(text) : {} };
}

describe('HTTP source: routes and tokens', () => {
  test('token in the path or as Bearer; 401 without, 403 wrong; 405 and 404 with JSON errors', async () => {
    const r = await rig({ tokens: ['tok-1', 'tok-2'] });
    assert.deepEqual((await post(`${r.url}/inputs/tok-2/`, 'hello')).json, { response: 'ok', events: 1 });
    assert.equal((await post(`${r.url}/bulk/tok-1/tag/a/`, 'one\ntwo')).json.events, 2);
    assert.equal((await post(`${r.url}/events`, '{"message":"x"}', { authorization: 'Bearer tok-1' })).status, 200);

    const none = await post(`${r.url}/`, '{"message":"x"}');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(none.json.response, 'error');
    assert.match(String(none.json.error), /token is required/);

    const wrong = await post(`${r.url}/inputs/nope/`, 'hello');
    assert.equal(wrong.status, 403);
    assert.deepEqual(wrong.json, { response: 'error', error: 'token not accepted' });
    assert.equal((await post(`${r.url}/`, 'x', { authorization: 'Bearer nope' })).status, 403);

    const get = await post(`${r.url}/bulk/tok-1/`, '', {}, 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await post(`${r.url}/bulk/tok-1/`, 'x', {}, 'PUT')).status, 405);
    const missing = await post(`${r.url}/nowhere`, 'x');
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.error), /\/inputs\/TOKEN\//);

    await waitFor(() => r.dest.received.length === 4, '4 events delivered');
  });

  test('without tokens any path token is accepted', async () => {
    const r = await rig();
    assert.equal((await post(`${r.url}/inputs/whatever/`, 'hi')).status, 200);
    assert.equal((await post(`${r.url}/`, 'hi')).status, 200);
  });
});

describe('HTTP source: decoding', () => {
  test('a JSON object maps contract keys (and aliases) to event fields, the rest to fields, URL tags to fields.tags', async () => {
    const r = await rig();
    const body = JSON.stringify({
      timestamp: '2026-03-01T12:00:00.123Z', host: 'web-9', app: 'api', procid: 77, msgid: 'REQ',
      severity: 'err', facility: 'local0', msg: 'disk full', user: 'alice', tags: ['json-tag'], nested: { a: 1 },
    });
    assert.equal((await post(`${r.url}/inputs/t/tag/prod,eu/`, body)).status, 200);
    await waitFor(() => r.dest.received.length === 1, 'event');
    const j = r.dest.received[0]!.toJSON();
    assert.equal(j.timestamp, '2026-03-01T12:00:00.123Z');
    assert.equal(j.hostname, 'web-9');
    assert.equal(j.appname, 'api');
    assert.equal(j.procid, '77');
    assert.equal(j.msgid, 'REQ');
    assert.equal(j.severity, 3);
    assert.equal(j.facility, 16);
    assert.equal(j.message, 'disk full');
    assert.deepEqual(j.fields, { user: 'alice', nested: { a: 1 }, tags: ['prod', 'eu', 'json-tag'] });
    assert.equal(j.source.name, 'web');
    assert.equal(j.source.transport, 'http');
    assert.equal(j.source.address, '127.0.0.1');
    assert.equal(j.source.tls_peer, null);
  });

  test('a value that does not fit its key is kept in fields; absent values are null', async () => {
    const r = await rig();
    assert.equal((await post(`${r.url}/`, '{"message":"m","severity":"loud","hostname":"h","host":"other"}')).status, 200);
    await waitFor(() => r.dest.received.length === 1, 'event');
    const j = r.dest.received[0]!.toJSON();
    assert.equal(j.severity, null);
    assert.equal(j.hostname, 'h');
    assert.equal(j.timestamp, null);
    assert.deepEqual(j.fields, { severity: 'loud', host: 'other' });
  });

  test('/bulk/: JSON lines, syslog lines and plain text lines in one body', async () => {
    const r = await rig();
    const body = '{"message":"from json"}\r\n\n<34>1 2026-03-01T12:00:00Z host1 su - ID47 - su failed\nplain words here\n';
    assert.deepEqual((await post(`${r.url}/bulk/t/tag/x/`, body, { 'x-loggly-tag': 'y' })).json, { response: 'ok', events: 3 });
    await waitFor(() => r.dest.received.length === 3, 'events');
    const [a, b, c] = r.dest.received.map((e) => e.toJSON());
    assert.equal(a!.message, 'from json');
    assert.equal(b!.hostname, 'host1');
    assert.equal(b!.appname, 'su');
    assert.equal(b!.msgid, 'ID47');
    assert.equal(b!.facility, 4);
    assert.equal(b!.severity, 2);
    assert.equal(b!.message, 'su failed');
    assert.equal(c!.message, 'plain words here');
    for (const e of [a, b, c]) assert.deepEqual(e!.fields.tags, ['x', 'y']);
  });

  test('/ and /events: a JSON array, NDJSON, or one pretty-printed object', async () => {
    const r = await rig();
    assert.equal((await post(`${r.url}/`, '[{"message":"a1"},{"message":"a2"},"a3"]')).json.events, 3);
    assert.equal((await post(`${r.url}/events`, '{"message":"n1"}\n{"message":"n2"}\n')).json.events, 2);
    assert.equal((await post(`${r.url}/events`, '{\n  "message": "pretty",\n  "hostname": "h"\n}\n')).json.events, 1);
    await waitFor(() => r.dest.received.length === 6, 'events');
    assert.deepEqual(r.dest.received.map((e) => e.message), ['a1', 'a2', 'a3', 'n1', 'n2', 'pretty']);
  });

  test('format: json refuses text; format: syslog parses every line', async () => {
    const j = await rig({ format: 'json' });
    const refused = await post(`${j.url}/bulk/t/`, '{"message":"ok"}\nnot json');
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.error), /line 2: malformed JSON/);
    const s = await rig({ format: 'syslog' });
    assert.equal((await post(`${s.url}/bulk/t/`, 'Mar  1 12:00:00 host2 cron[99]: tick')).status, 200);
    await waitFor(() => s.dest.received.length === 1, 'event');
    assert.equal(s.dest.received[0]!.appname, 'cron');
    assert.equal(s.dest.received[0]!.procid, '99');
  });

  test('a gzip body is decoded', async () => {
    const r = await rig();
    assert.equal((await post(`${r.url}/bulk/t/`, zlib.gzipSync('g1\ng2'), { 'content-encoding': 'gzip' })).json.events, 2);
    await waitFor(() => r.dest.received.length === 2, 'events');
    assert.deepEqual(r.dest.received.map((e) => e.message), ['g1', 'g2']);
  });
});

describe('HTTP source: refusals', () => {
  test('malformed JSON on a line → 400 naming the line, and none of the request\'s events are queued', async () => {
    const r = await rig();
    const bad = await post(`${r.url}/bulk/t/`, '{"message":"first"}\n{"message":"second"}\n{"message": broken}\n{"message":"fourth"}');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.response, 'error');
    assert.match(String(bad.json.error), /^line 3: malformed JSON/);
    assert.equal((await post(`${r.url}/bulk/t/`, 'after')).status, 200);
    await waitFor(() => r.dest.received.length >= 1, 'the good request');
    assert.deepEqual(r.dest.received.map((e) => e.message), ['after']);
    const arr = await post(`${r.url}/`, '[{"message":"a"},\n{"message":}]');
    assert.equal(arr.status, 400);
    assert.match(String(arr.json.error), /malformed JSON array/);
  });

  test('body over max_body_bytes → 413 (declared or streamed); event over max_event_bytes → 413', async () => {
    const r = await rig({ max_body_bytes: 1024, max_event_bytes: 100 });
    const declared = await post(`${r.url}/bulk/t/`, 'x'.repeat(200_000));
    assert.equal(declared.status, 413);
    assert.match(String(declared.json.error), /body of 200000 bytes exceeds max_body_bytes 1024/);
    // A chunked body (no Content-Length) is cut off as it crosses the limit.
    async function* chunks(): AsyncGenerator<Buffer> { for (let i = 0; i < 50; i++) yield Buffer.alloc(4096, 0x61); }
    const streamed = await request(`${r.url}/bulk/t/`, { method: 'POST', body: Readable.from(chunks()) }).then(async (x) => ({ status: x.statusCode, text: await x.body.text() }), (e: Error) => ({ status: 0, text: e.message }));
    assert.equal(streamed.status, 413, streamed.text);
    const ev = await post(`${r.url}/bulk/t/`, `short\n${'y'.repeat(101)}`);
    assert.equal(ev.status, 413);
    assert.match(String(ev.json.error), /line 2: event of 101 bytes exceeds max_event_bytes 100/);
    const bomb = await post(`${r.url}/bulk/t/`, zlib.gzipSync(Buffer.alloc(100_000, 0x0a)), { 'content-encoding': 'gzip' });
    assert.equal(bomb.status, 413);
    assert.equal((await post(`${r.url}/bulk/t/`, 'x', { 'content-encoding': 'br' })).status, 415);
    assert.equal(r.dest.received.length, 0);
    assert.equal(r.buffer.events, 0);
  });
});

describe('HTTP source: acknowledgement', () => {
  test('a full drop_newest buffer → 503 with Retry-After, nothing answered 200', async () => {
    const r = await rig({ ack_timeout: '2s' }, { maxBytes: 2000, whenFull: 'drop_newest' });
    r.dest.holding = true;
    // Fill the buffer behind the source's back, so this request meets a buffer that drops.
    r.runner.push(Array.from({ length: 30 }, () => LogEvent.fromValues({ name: 'x', transport: 'internal', address: null, port: null, tlsPeer: null }, Date.now(), { message: 'filler' })), null, false);
    assert.ok(r.buffer.full);
    const res = await post(`${r.url}/bulk/t/`, 'a\nb');
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.match(String(res.json.error), /buffer is full/);
  });

  test('a blocked destination: the 200 comes only once the router has room; later requests wait before being queued', async () => {
    const r = await rig({}, { maxBytes: 2000, whenFull: 'block' });
    r.dest.holding = true;
    let first: Res | null = null;
    const big = Array.from({ length: 20 }, (_, i) => `first-${i}`).join('\n'); // 20 events ≥ 2000 bytes of buffer
    const p1 = post(`${r.url}/bulk/t/`, big).then((x) => { first = x; return x; });
    await waitFor(() => r.dest.heldCount === 1 && r.buffer.full, 'the destination holding the first batch with the buffer full');
    let second: Res | null = null;
    const p2 = post(`${r.url}/bulk/t/`, 'second').then((x) => { second = x; return x; });
    // The source has read and decoded the second request (counted as received) ...
    await waitFor(async () => (await r.metrics.value('sluice_events_received_total', { component: 'web' })) === 21, 'second request read');
    assert.equal(first, null, 'no answer while the buffer is over its limit');
    assert.equal(second, null);
    // ... but has not queued it while the router is full.
    assert.equal(r.buffer.events, 20, 'the second request is not queued while the router is full');
    r.dest.release();
    assert.deepEqual((await p1).json, { response: 'ok', events: 20 });
    assert.deepEqual((await p2).json, { response: 'ok', events: 1 });
    await waitFor(() => r.dest.received.length === 21, 'all events delivered');
  });

  test('back-pressure that outlasts ack_timeout → 503 and nothing of that request is queued', async () => {
    const r = await rig({ ack_timeout: '300ms' }, { maxBytes: 2000, whenFull: 'block' });
    r.dest.holding = true;
    const big = Array.from({ length: 20 }, (_, i) => `first-${i}`).join('\n');
    // Queued: answered 200 after ack_timeout even though the buffer is still full (a 503 would duplicate it).
    assert.equal((await post(`${r.url}/bulk/t/`, big)).status, 200);
    const later = await post(`${r.url}/bulk/t/`, 'later');
    assert.equal(later.status, 503);
    assert.ok(later.headers['retry-after']);
    assert.match(String(later.json.error), /nothing was queued/);
    r.dest.release();
    await waitFor(() => r.dest.received.length === 20, 'first request delivered');
    assert.ok(!r.dest.received.some((e) => e.message === 'later'));
  });
});

describe('HTTP source: https', () => {
  test('TLS with a client certificate: transport https and the peer identity on events', async () => {
    const r = await rig({
      listen: ['https://127.0.0.1:0'],
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, client_auth: 'optional' },
      tokens: ['t1'],
    });
    assert.match(r.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ connect: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } });
    try {
      assert.equal((await post(`${r.url}/inputs/t1/`, 'over tls', {}, 'POST', agent)).status, 200);
    } finally {
      await agent.close();
    }
    await waitFor(() => r.dest.received.length === 1, 'event');
    const s = r.dest.received[0]!.toJSON().source;
    assert.equal(s.transport, 'https');
    assert.equal(s.tls_peer, 'O=sluice-test,CN=web-01');
  });

  test('config: https needs tls; listen addresses are checked', () => {
    const r = httpSourceSchema.safeParse({ type: 'http', listen: ['https://127.0.0.1:8443'] });
    assert.equal(r.success, false);
    assert.match(r.error!.issues.map((i) => i.message).join('\n'), /https:\/\/ listener needs tls/);
    const bad = httpSourceSchema.safeParse({ type: 'http', listen: ['tcp://127.0.0.1:1'] });
    assert.equal(bad.success, false);
    const ok = httpSourceSchema.parse({ type: 'http', listen: 'http://127.0.0.1:8080' });
    assert.equal(ok.max_body_bytes, 10 * 1024 * 1024);
    assert.equal(ok.max_event_bytes, 1024 * 1024);
    assert.equal(ok.ack_timeout, 30_000);
    assert.equal(ok.format, 'auto');
    assert.deepEqual(httpSourceKind.listens(ok).map((a) => a.text), ['http://127.0.0.1:8080']);
  });
});
