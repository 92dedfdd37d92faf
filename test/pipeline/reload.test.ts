// Pipeline.reload in-process: what a replaced or removed destination held, sources added,
// changed and kept, and what a reload refuses. The destination is a real HTTP receiver that
// the test starts after the reload, so the events waited in the buffer meanwhile.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, freePort } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const servers: http.Server[] = [];
const pipelines: Pipeline[] = [];
after(async () => {
  for (const p of pipelines) await p.stop();
  for (const s of servers) { s.closeAllConnections(); s.close(); }
});

/** An NDJSON receiver that records the message of every event. */
async function receiver(port: number): Promise<string[]> {
  const got: string[] = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      for (const l of body.split('\n')) if (l) got.push((JSON.parse(l) as { message: string }).message);
      res.writeHead(200).end('{}');
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
  return got;
}

function cfg(dir: string, o: { tcp: string; httpPort: number; buffer: string; extra?: string; dataDir?: string }): string {
  return `
api: false
data_dir: ${o.dataDir ?? `${dir}/state`}
sources:
  net: { type: syslog, listen: [${o.tcp}] }
${o.extra ?? ''}
destinations:
  out:
    type: http
    url: "http://127.0.0.1:${o.httpPort}/in"
    mode: ndjson
    buffer: ${o.buffer}
    retry: { initial: 20ms, max: 100ms }
log:
  - { from: net, to: out }
`;
}

async function start(yaml: string, dir: string): Promise<Pipeline> {
  const p = await Pipeline.start(loadConfigText(yaml, `${dir}/sluice.yaml`), { baseDir: dir });
  pipelines.push(p);
  return p;
}

async function sendLines(port: number, lines: string[]): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', r));
  s.end(lines.map((l) => `<13>Nov 23 12:00:00 host app: ${l}\n`).join(''));
  await new Promise((r) => s.once('close', r));
}

const msgs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('Pipeline.reload', () => {
  for (const buffer of ['{ type: memory }', '{ type: disk }']) {
    test(`a changed destination hands what its ${buffer.includes('disk') ? 'disk' : 'memory'} buffer holds to its replacement`, async () => {
      const dir = tempDir('reload-dest');
      const [down, up] = [await freePort(), await freePort()];
      const p = await start(cfg(dir, { tcp: 'tcp://127.0.0.1:0', httpPort: down, buffer }), dir);
      const { port } = endpoint(p, 'net', 'tcp');
      await sendLines(port, msgs('held', 500));
      await waitFor(() => p.runners.get('out')!.buffer.events === 500, 'events waiting for the dead receiver');
      const got = await receiver(up);
      const r = await p.reload(loadConfigText(cfg(dir, { tcp: 'tcp://127.0.0.1:0', httpPort: up, buffer }), `${dir}/sluice.yaml`));
      assert.deepEqual(r.destinations.changed, ['out']);
      assert.deepEqual(r.sources.kept, ['net'], 'the source is the same');
      assert.equal(endpoint(p, 'net', 'tcp').port, port, 'and keeps its socket');
      await sendLines(port, msgs('after', 100));
      await waitFor(() => got.length >= 600, 'every event at the new receiver', 20_000);
      assert.deepEqual([...new Set(got)].sort(), [...msgs('held', 500), ...msgs('after', 100)].sort());
      assert.equal(got.length, 600, 'each once');
    });
  }

  test('sources: added start, changed ones move, removed ones stop; data_dir cannot change', async () => {
    const dir = tempDir('reload-src');
    const httpPort = await freePort();
    const got = await receiver(httpPort);
    const [a, b] = [await freePort(), await freePort()];
    const base = { httpPort, buffer: '{ type: memory }' };
    const p = await start(cfg(dir, { ...base, tcp: `tcp://127.0.0.1:${a}` }), dir);
    const extra = `  side: { type: syslog, listen: ["tcp://127.0.0.1:0"] }`;
    const next = cfg(dir, { ...base, tcp: `tcp://127.0.0.1:${b}`, extra }).replace('- { from: net, to: out }', '- { from: [net, side], to: out }');
    const r = await p.reload(loadConfigText(next, `${dir}/sluice.yaml`));
    assert.deepEqual(r.sources, { kept: [], added: ['side'], removed: [], changed: ['net'] });
    assert.equal(p.generation, 2);
    await sendLines(b, ['moved']);
    await sendLines(endpoint(p, 'side', 'tcp').port, ['side']);
    await waitFor(() => got.length === 2, 'both sources deliver');
    await assert.rejects(() => new Promise<void>((res, rej) => { const s = net.connect(a, '127.0.0.1'); s.once('connect', () => { s.destroy(); res(); }); s.once('error', rej); }), /ECONNREFUSED/);

    const moved = cfg(dir, { ...base, tcp: `tcp://127.0.0.1:${b}`, dataDir: `${dir}/elsewhere` });
    await assert.rejects(p.reload(loadConfigText(moved, `${dir}/sluice.yaml`)), /data_dir changed/);
    assert.equal(p.generation, 2, 'a refused reload changes nothing');
    await sendLines(endpoint(p, 'side', 'tcp').port, ['still-side']);
    await waitFor(() => got.includes('still-side'), 'the running config still routes');
  });

  test('a removed destination stops getting events and drains what it held', async () => {
    const dir = tempDir('reload-rm');
    const port = await freePort();
    const got = await receiver(port);
    const two = cfg(dir, { tcp: 'tcp://127.0.0.1:0', httpPort: port, buffer: '{ type: memory }' })
      .replace('destinations:\n', `destinations:\n  file: { type: file, path: ${dir}/f.log, template: "\${MSG}\\n" }\n`)
      .replace('- { from: net, to: out }', '- { from: net, to: [out, file] }');
    const p = await start(two, dir);
    const tcp = endpoint(p, 'net', 'tcp').port;
    await sendLines(tcp, ['both']);
    await waitFor(() => got.length === 1 && readLines(`${dir}/f.log`).length === 1, 'both destinations');
    const r = await p.reload(loadConfigText(cfg(dir, { tcp: 'tcp://127.0.0.1:0', httpPort: port, buffer: '{ type: memory }' }), `${dir}/sluice.yaml`));
    assert.deepEqual(r.destinations.removed, ['file']);
    await sendLines(endpoint(p, 'net', 'tcp').port, ['only-http']);
    await waitFor(() => got.includes('only-http'), 'the kept destination');
    assert.deepEqual(readLines(`${dir}/f.log`), ['both'], 'the removed one got nothing new');
  });
});
