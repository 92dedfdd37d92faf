// HTTP destination against an HTTPS receiver written here: Loggly single/bulk bytes, splitting, limits, retry/reject mapping, TLS.

import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { HttpDestination, httpDestinationKind, httpDestinationSchema } from '../../src/destinations/http/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { tempDir } from '../helpers/wait.js';

const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '192.0.2.7', port: 40123, tlsPeer: null };
const RECEIVED_AT = Date.UTC(2026, 2, 1, 12, 0, 0, 5);
const TOKEN = 'a1b2c3d4-e5f6-7890-abcd-ef0123456789';

function event(message: string, extra: Partial<{ hostname: string; appname: string; procid: string; severity: number; facility: number }> = {}): LogEvent {
  return LogEvent.fromValues(SOURCE, RECEIVED_AT, {
    timestamp: '2026-03-01T12:00:00.000Z', hostname: 'web-1', appname: 'nginx', procid: '42', msgid: null,
    severity: 6, facility: 3, message, ...extra,
  });
}

interface Received { method: string; url: string; headers: IncomingHttpHeaders; raw: Buffer; body: Buffer }
interface Reply { status: number; headers?: Record<string, string>; body?: string }

/** An HTTPS server that records every request (body gunzipped when sent gzip) and answers as told. */
class Receiver {
  readonly requests: Received[] = [];
  reply: (r: Received, n: number) => Reply | null = () => ({ status: 200, body: '{"response":"ok"}' });
  private server!: https.Server;
  port = 0;

  async start(pki: TestPki): Promise<void> {
    this.server = https.createServer({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw;
        const r: Received = { method: req.method!, url: req.url!, headers: req.headers, raw, body };
        this.requests.push(r);
        const a = this.reply(r, this.requests.length);
        if (a === null) return; // never answer: the client's timeout must fire
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  url(path: string): string {
    return `https://127.0.0.1:${this.port}${path}`;
  }

  reset(): void {
    this.requests.length = 0;
    this.reply = () => ({ status: 200, body: '{"response":"ok"}' });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let pki: TestPki;
let dir: string;
const receiver = new Receiver();
const opened: HttpDestination[] = [];

before(async () => {
  dir = tempDir('http-dest');
  pki = await makeTestPki(dir);
  await receiver.start(pki);
});

after(async () => {
  await Promise.all(opened.map((d) => d.stop()));
  await receiver.stop();
});

async function destination(cfg: Record<string, unknown>): Promise<HttpDestination> {
  const parsed = httpDestinationSchema.parse({ type: 'http', tls: { ca: pki.caCert }, ...cfg });
  const d = httpDestinationKind.build(parsed, { name: 'loggly', metrics: new Metrics(), dataDir: dir, baseDir: dir }) as HttpDestination;
  await d.start();
  opened.push(d);
  return d;
}

function send(d: HttpDestination, events: LogEvent[]): Promise<SendResult> {
  return new Promise((resolve) => d.send(events, resolve));
}

/** The JSON event of DESIGN.md for event('hello'), written out by hand: the bytes on the wire. */
const HELLO_JSON = '{"timestamp":"2026-03-01T12:00:00.000Z","received_at":"2026-03-01T12:00:00.005Z","facility":3,"severity":6,'
  + '"version":null,"hostname":"web-1","appname":"nginx","procid":"42","msgid":null,"structured_data":null,"message":"hello",'
  + '"source":{"name":"net","transport":"tcp","address":"192.0.2.7","port":40123,"tls_peer":null},"fields":{}}';

describe('HTTP destination: Loggly shapes, byte for byte', () => {
  test('loggly_single: one POST per event to /inputs/TOKEN/tag/TAGS/, JSON body, basic auth', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/inputs/${TOKEN}/tag/sluice,web/`), auth: { username: 'ops', password: 's3cret' }, concurrency: 1 });
    assert.equal(d.mode, 'loggly_single');
    const r = await send(d, [event('hello'), event('second'), event('third')]);
    assert.deepEqual(r, { status: 'ok' });
    assert.equal(receiver.requests.length, 3);
    for (const q of receiver.requests) {
      assert.equal(q.method, 'POST');
      assert.equal(q.url, `/inputs/${TOKEN}/tag/sluice,web/`);
      assert.equal(q.headers['content-type'], 'application/json');
      assert.equal(q.headers.authorization, `Basic ${Buffer.from('ops:s3cret').toString('base64')}`);
      assert.equal(q.headers['content-encoding'], undefined);
      assert.equal(Number(q.headers['content-length']), q.raw.length);
    }
    assert.equal(receiver.requests[0]!.body.toString('utf8'), HELLO_JSON);
    assert.deepEqual(receiver.requests.map((q) => JSON.parse(q.body.toString()).message), ['hello', 'second', 'third']);
  });

  test('loggly_single with body: message posts the bare message text as text/plain', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/inputs/${TOKEN}/`), body: 'message', concurrency: 1 });
    assert.deepEqual(await send(d, [event('line one\nline two')]), { status: 'ok' });
    const q = receiver.requests[0]!;
    assert.equal(q.headers['content-type'], 'text/plain; charset=utf-8');
    assert.deepEqual(q.body, Buffer.from('line one\nline two'));
  });

  test('loggly_bulk: newline-separated events to /bulk/TOKEN/tag/TAGS/, gzip, bearer, custom header', async () => {
    receiver.reset();
    const d = await destination({
      url: receiver.url(`/bulk/${TOKEN}/tag/sluice/`), gzip: true, auth: { bearer: 'tok-123' }, headers: { 'X-Team': 'ops' },
    });
    assert.equal(d.mode, 'loggly_bulk');
    assert.deepEqual(await send(d, [event('hello'), event('two'), event('three')]), { status: 'ok' });
    assert.equal(receiver.requests.length, 1);
    const q = receiver.requests[0]!;
    assert.equal(q.method, 'POST');
    assert.equal(q.url, `/bulk/${TOKEN}/tag/sluice/`);
    assert.equal(q.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(q.headers['content-encoding'], 'gzip');
    assert.equal(q.headers.authorization, 'Bearer tok-123');
    assert.equal(q.headers['x-team'], 'ops');
    assert.equal(q.raw[0], 0x1f); // gzip magic on the wire
    const expected = [HELLO_JSON, HELLO_JSON.replace('"hello"', '"two"'), HELLO_JSON.replace('"hello"', '"three"')].join('\n');
    assert.equal(q.body.toString('utf8'), expected);
  });

  test('loggly_bulk with body: message escapes newlines so one event stays one line', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`), body: 'message' });
    assert.deepEqual(await send(d, [event('a\nb'), event('c\r\nd'), event('e')]), { status: 'ok' });
    assert.deepEqual(receiver.requests[0]!.body, Buffer.from('a\\nb\nc\\r\\nd\ne'));
  });

  test('ndjson (the default for other paths) and json_array bodies, PUT', async () => {
    receiver.reset();
    const nd = await destination({ url: receiver.url('/ingest?src=sluice') });
    assert.equal(nd.mode, 'ndjson');
    assert.deepEqual(await send(nd, [event('hello'), event('hello')]), { status: 'ok' });
    let q = receiver.requests[0]!;
    assert.equal(q.url, '/ingest?src=sluice');
    assert.equal(q.headers['content-type'], 'application/x-ndjson');
    assert.equal(q.body.toString('utf8'), `${HELLO_JSON}\n${HELLO_JSON}\n`);

    receiver.reset();
    const arr = await destination({ url: receiver.url('/api/v2/events'), mode: 'json_array', method: 'PUT' });
    assert.deepEqual(await send(arr, [event('hello'), event('hello')]), { status: 'ok' });
    q = receiver.requests[0]!;
    assert.equal(q.method, 'PUT');
    assert.equal(q.headers['content-type'], 'application/json');
    assert.equal(q.body.toString('utf8'), `[${HELLO_JSON},${HELLO_JSON}]`);

    receiver.reset();
    const msgs = await destination({ url: receiver.url('/api/v2/events'), mode: 'json_array', body: 'message' });
    assert.deepEqual(await send(msgs, [event('say "hi"'), event('x\ny')]), { status: 'ok' });
    assert.equal(receiver.requests[0]!.body.toString('utf8'), '["say \\"hi\\"","x\\ny"]');
  });
});

describe('HTTP destination: limits', () => {
  test('a batch is split so that no request exceeds max_batch_bytes; every event is sent once', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`), body: 'message', max_batch_bytes: 250, max_event_bytes: 200 });
    const msgs = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(100));
    assert.deepEqual(await send(d, msgs.map((m) => event(m))), { status: 'ok' });
    // 100 + 1 + 100 = 201 fits; a third event would make 302.
    assert.deepEqual(receiver.requests.map((q) => q.body.length), [201, 201, 100]);
    for (const q of receiver.requests) assert.ok(q.body.length <= 250);
    const all = receiver.requests.flatMap((q) => q.body.toString().split('\n'));
    assert.deepEqual(all.sort(), msgs);
  });

  test('an event over max_event_bytes (1 MB) is rejected with the reason and not sent; the rest goes', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`), body: 'message' });
    const huge = event('x'.repeat(1_000_001));
    const r = await send(d, [event('small-1'), huge, event('small-2')]);
    assert.equal(r.status, 'reject');
    assert.ok(r.status === 'reject');
    assert.deepEqual(r.events, [huge]);
    assert.match(r.error, /event of 1000001 bytes exceeds max_event_bytes 1000000/);
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0]!.body.toString(), 'small-1\nsmall-2');
  });
});

describe('HTTP destination: results', () => {
  test('HTTP 500 → retry; the same batch then 200 → ok', async () => {
    receiver.reset();
    receiver.reply = (_r, n) => (n === 1 ? { status: 500, body: 'upstream broke' } : { status: 200 });
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`) });
    const batch = [event('hello')];
    const r1 = await send(d, batch);
    assert.equal(r1.status, 'retry');
    assert.ok(r1.status === 'retry');
    assert.match(r1.error, /HTTP 500: upstream broke/);
    assert.equal(r1.retryAfterMs, undefined);
    assert.deepEqual(await send(d, batch), { status: 'ok' });
    assert.equal(receiver.requests.length, 2);
    assert.deepEqual(receiver.requests[0]!.body, receiver.requests[1]!.body);
  });

  test('429 with Retry-After (seconds, and an HTTP date) → retry with retryAfterMs', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`) });
    receiver.reply = () => ({ status: 429, headers: { 'retry-after': '7' }, body: '{"response":"slow down"}' });
    const r = await send(d, [event('hello')]);
    assert.ok(r.status === 'retry');
    assert.equal(r.retryAfterMs, 7000);
    assert.match(r.error, /HTTP 429/);

    const at = new Date(Date.now() + 120_000).toUTCString();
    receiver.reply = () => ({ status: 503, headers: { 'retry-after': at } });
    const r2 = await send(d, [event('hello')]);
    assert.ok(r2.status === 'retry');
    assert.ok(r2.retryAfterMs !== undefined && r2.retryAfterMs > 60_000 && r2.retryAfterMs <= 120_000, `retryAfterMs ${r2.retryAfterMs}`);

    receiver.reply = () => ({ status: 408 });
    assert.equal((await send(d, [event('hello')])).status, 'retry');
  });

  test('400 → reject with the status and the first 200 bytes of the body; the token is not in the reason', async () => {
    receiver.reset();
    const body = '{"response":"invalid event"}' + 'z'.repeat(500);
    receiver.reply = () => ({ status: 400, body });
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`) });
    const batch = [event('hello'), event('two')];
    const r = await send(d, batch);
    assert.ok(r.status === 'reject');
    assert.match(r.error, /HTTP 400/);
    assert.ok(r.error.endsWith(': ' + body.slice(0, 200)), r.error);
    assert.ok(r.error.includes(`https://127.0.0.1:${receiver.port}/bulk/<token>/tag/x/`), r.error);
    assert.ok(!r.error.includes(TOKEN));
    assert.deepEqual(r.events, batch);
  });

  test('loggly_single: only the rejected events are reported; accepted ones are not sent again on retry', async () => {
    receiver.reset();
    const seen = new Map<string, number>();
    receiver.reply = (q) => {
      const m = JSON.parse(q.body.toString()).message as string;
      seen.set(m, (seen.get(m) ?? 0) + 1);
      if (m === 'bad') return { status: 422, body: 'no' };
      if (m === 'flaky' && seen.get(m) === 1) return { status: 503 };
      return { status: 200 };
    };
    const d = await destination({ url: receiver.url(`/inputs/${TOKEN}/tag/x/`), concurrency: 2 });
    const batch = [event('one'), event('bad'), event('flaky'), event('four')];
    const r1 = await send(d, batch);
    assert.equal(r1.status, 'retry');
    const r2 = await send(d, batch);
    assert.ok(r2.status === 'reject');
    assert.deepEqual(r2.events, [batch[1]]);
    assert.match(r2.error, /HTTP 422: no/);
    // Every event went out once, except the one that needed the retry.
    assert.deepEqual(Object.fromEntries(seen), { one: 1, bad: 1, flaky: 2, four: 1 });
  });

  test('connection refused → retry naming the address', async () => {
    const srv = https.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    const d = await destination({ url: `https://127.0.0.1:${port}/bulk/${TOKEN}/tag/x/` });
    const r = await send(d, [event('hello')]);
    assert.ok(r.status === 'retry');
    assert.match(r.error, new RegExp(`cannot connect to https://127\\.0\\.0\\.1:${port}: connection refused`));
  });

  test('a server certificate that does not verify → retry with a clear TLS error', async () => {
    receiver.reset();
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`), tls: {} }); // system CAs only
    const r = await send(d, [event('hello')]);
    assert.ok(r.status === 'retry');
    assert.match(r.error, /TLS: the certificate of https:\/\/127\.0\.0\.1:\d+ does not verify \([A-Z_]+: .*\); set tls\.ca/);
    assert.equal(receiver.requests.length, 0);

    const wrongName = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`), tls: { ca: pki.caCert, servername: 'elsewhere.example' } });
    const r2 = await send(wrongName, [event('hello')]);
    assert.ok(r2.status === 'retry');
    assert.match(r2.error, /ERR_TLS_CERT_ALTNAME_INVALID.*tls\.servername/);
  });

  test('no answer within timeout → retry', async () => {
    receiver.reset();
    receiver.reply = () => null;
    const d = await destination({ url: receiver.url(`/bulk/${TOKEN}/tag/x/`), timeout: '300ms' });
    const r = await send(d, [event('hello')]);
    assert.ok(r.status === 'retry');
    assert.match(r.error, /within 300 ms \(timeout\)/);
  });
});

describe('HTTP destination: config', () => {
  const parse = (cfg: Record<string, unknown>) => httpDestinationSchema.safeParse({ type: 'http', ...cfg });
  const messages = (cfg: Record<string, unknown>): string[] => {
    const r = parse(cfg);
    assert.equal(r.success, false);
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('defaults', () => {
    const r = parse({ url: 'https://logs-01.loggly.com/bulk/T/tag/a/' });
    assert.ok(r.success);
    assert.equal(r.data.max_batch_events, 1000);
    assert.equal(r.data.max_batch_bytes, 5_000_000);
    assert.equal(r.data.max_event_bytes, 1_000_000);
    assert.equal(r.data.body, 'json');
    assert.equal(r.data.method, 'POST');
    assert.equal(r.data.timeout, 30_000);
    assert.equal(r.data.buffer.type, 'memory');
  });

  test('refusals name the key and what is wrong, without printing the token', () => {
    assert.match(messages({ url: 'ftp://x/' }).join('\n'), /url: expected an http:\/\/ or https:\/\/ URL/);
    const m = messages({ url: 'https://h/inputs/SECRET/', mode: 'loggly_bulk' }).join('\n');
    assert.match(m, /mode loggly_bulk posts to Loggly's \/bulk\/TOKEN\/tag\/TAGS\/ endpoint; the URL path is "\/inputs\/<token>\/"/);
    assert.ok(!m.includes('SECRET'));
    assert.match(messages({ url: 'https://h/bulk//tag/x/' }).join('\n'), /token in the URL is empty/);
    assert.match(messages({ url: 'https://u:p@h/x' }).join('\n'), /auth: \{ username, password \}/);
    assert.match(messages({ url: 'http://h/x', tls: {} }).join('\n'), /tls: tls applies to https:\/\/ URLs only/);
    assert.match(messages({ url: 'https://h/x', headers: { 'Content-Length': '1' } }).join('\n'), /headers\.Content-Length: header Content-Length is set by sluice/);
    assert.match(messages({ url: 'https://h/x', auth: { bearer: 'a', username: 'b' } }).join('\n'), /auth/);
    assert.match(messages({ url: 'https://h/x', colour: 'red' }).join('\n'), /colour/);
  });
});
