// End to end: syslog TCP → HTTP destination (loggly_bulk) → an HTTPS receiver; HTTP source → file; examples/loggly.yaml validates.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ConfigError, loadConfigText } from '../../src/config/load.js';
import { Metrics } from '../../src/metrics/registry.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { endpoint, REPO, startPipeline } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const RUN = `${process.pid}-${Date.now().toString(36)}`;
const TOKEN = `tok-${RUN}`;

interface Post { url: string; headers: Record<string, string | string[] | undefined>; body: string }

/** A Loggly stand-in: records bulk posts; the first one is answered 503 to make sluice retry. */
async function logglyReceiver(pki: TestPki): Promise<{ server: https.Server; port: number; posts: Post[] }> {
  const posts: Post[] = [];
  let n = 0;
  const server = https.createServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (++n === 1) {
        res.writeHead(503, { 'retry-after': '0' });
        res.end('busy');
        return;
      }
      posts.push({ url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"response":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, posts };
}

function sendTcp(host: string, port: number, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => s.end(lines.map((l) => l + '\n').join('')));
    s.on('error', reject);
    s.resume();
    // The source closes its side once every event is queued.
    s.on('close', () => resolve());
  });
}

describe('syslog TCP → http loggly_bulk → HTTPS receiver', () => {
  let dir: string;
  let pki: TestPki;
  let rx: Awaited<ReturnType<typeof logglyReceiver>>;
  let pipeline: Pipeline | null = null;

  before(async () => {
    dir = tempDir('http-loggly');
    pki = await makeTestPki(dir);
    rx = await logglyReceiver(pki);
    process.env.SLUICE_TEST_LOGGLY_TOKEN = TOKEN;
    pipeline = await startPipeline(`
api: false
data_dir: ./state
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
destinations:
  loggly:
    type: http
    url: "https://127.0.0.1:${rx.port}/bulk/\${env.SLUICE_TEST_LOGGLY_TOKEN}/tag/sluice,it/"
    tls: { ca: ${JSON.stringify(pki.caCert)} }
    max_batch_events: 100
    retry: { initial: 50ms, max: 500ms }
log:
  - { from: net, to: loggly }
`, dir);
  });

  after(async () => {
    await pipeline?.stop();
    rx.server.closeAllConnections();
    await new Promise<void>((resolve) => rx.server.close(() => resolve()));
    delete process.env.SLUICE_TEST_LOGGLY_TOKEN;
  });

  test('every event arrives, in Loggly bulk requests with the token and tags in the path', async () => {
    const N = 500;
    const lines = Array.from({ length: N }, (_, i) => `<134>1 2026-03-01T12:00:00Z web-1 app 42 - - run=${RUN} seq=${i}`);
    const ep = endpoint(pipeline!, 'net', 'tcp');
    await sendTcp(ep.host, ep.port, lines);
    const seen = (): number[] => rx.posts.flatMap((p) => p.body.split('\n').map((l) => Number(/seq=(\d+)/.exec(JSON.parse(l).message)![1])));
    await waitFor(() => new Set(seen()).size === N, `${N} events at the receiver`, 30_000);
    assert.deepEqual([...new Set(seen())].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
    for (const p of rx.posts) {
      assert.equal(p.url, `/bulk/${TOKEN}/tag/sluice,it/`);
      assert.equal(p.headers['content-type'], 'text/plain; charset=utf-8');
      assert.ok(p.body.split('\n').length <= 100);
      const ev = JSON.parse(p.body.split('\n')[0]!);
      assert.equal(ev.hostname, 'web-1');
      assert.equal(ev.appname, 'app');
      assert.equal(ev.source.transport, 'tcp');
    }
  });
});

describe('HTTP source → file destination', () => {
  let dir: string;
  let pipeline: Pipeline | null = null;

  before(async () => {
    dir = tempDir('http-file');
    pipeline = await startPipeline(`
api: false
data_dir: ./state
sources:
  web: { type: http, listen: [http://127.0.0.1:0], tokens: [secret-1] }
destinations:
  out:
    type: file
    path: "out/\${HOST}.log"
    template: "\${HOST} \${PROGRAM} \${LEVEL} \${MSG}\\n"
log:
  - { from: web, to: out }
`, dir);
  });

  after(async () => {
    await pipeline?.stop();
  });

  test('events posted to /bulk/ and / are written to the file after a 200', async () => {
    const ep = endpoint(pipeline!, 'web', 'http');
    const base = `http://${ep.host}:${ep.port}`;
    const bulk = await request(`${base}/bulk/secret-1/tag/it/`, {
      method: 'POST',
      body: `{"host":"h1","app":"api","severity":"err","message":"json ${RUN}"}\n<13>Mar  1 12:00:00 h1 cron[7]: syslog ${RUN}`,
    });
    assert.equal(bulk.statusCode, 200);
    assert.deepEqual(await bulk.body.json(), { response: 'ok', events: 2 });
    const arr = await request(`${base}/`, {
      method: 'POST', headers: { authorization: 'Bearer secret-1', 'content-type': 'application/json' },
      body: JSON.stringify([{ hostname: 'h1', appname: 'worker', severity: 6, message: `array ${RUN}` }]),
    });
    assert.equal(arr.statusCode, 200);
    await arr.body.dump();
    const file = path.join(dir, 'out', 'h1.log');
    await waitFor(() => readLines(file).length === 3, 'three lines in out/h1.log');
    assert.deepEqual(readLines(file), [`h1 api err json ${RUN}`, `h1 cron notice syslog ${RUN}`, `h1 worker info array ${RUN}`]);
  });
});

describe('examples/loggly.yaml', () => {
  const text = fs.readFileSync(path.join(REPO, 'examples', 'loggly.yaml'), 'utf8');

  test('validates with LOGGLY_TOKEN set: syslog on loopback to Loggly bulk over HTTPS with a disk buffer', async () => {
    const cfg = loadConfigText(text, 'examples/loggly.yaml', { LOGGLY_TOKEN: 'abc-123' });
    const src = cfg.sources.get('local')!.config as unknown as { listen: { text: string; host: string }[] };
    assert.deepEqual(src.listen.map((a) => a.text), ['udp://127.0.0.1:5140', 'tcp://127.0.0.1:5140']);
    const d = cfg.destinations.get('loggly')!;
    assert.equal(d.kind.type, 'http');
    const c = d.config as unknown as { url: string; mode?: string; buffer: { type: string; when_full: string }; retry: { initial: number; max: number } };
    assert.equal(c.url, 'https://logs-01.loggly.com/bulk/abc-123/tag/sluice,syslog/');
    assert.equal(c.buffer.type, 'disk');
    assert.equal(c.buffer.when_full, 'block');
    assert.deepEqual(c.retry, { initial: 1000, max: 300_000 });
    const dest = (await d.kind.load()).build(d.config, { name: 'loggly', metrics: new Metrics(), dataDir: '/tmp', baseDir: '/tmp' }) as unknown as { mode: string };
    assert.equal(dest.mode, 'loggly_bulk');
  });

  test('without LOGGLY_TOKEN it is refused, naming the variable', () => {
    assert.throws(() => loadConfigText(text, 'examples/loggly.yaml', {}), (e: unknown) => e instanceof ConfigError && /LOGGLY_TOKEN is not set/.test(e.message));
  });
});
