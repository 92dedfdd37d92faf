// Forwarding faults through the daemon: each shows its documented behaviour and its counters.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import tls from 'node:tls';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { makeTestPki } from '../helpers/certs.js';
import { endpoint, startPipeline, freePort } from '../helpers/daemon.js';
import { readLines, sleep, tempDir, waitFor } from '../helpers/wait.js';

const open: { close(): unknown }[] = [];
after(async () => { for (const o of open.reverse()) await o.close(); });

async function pipeline(yaml: string, dir: string): Promise<Pipeline> {
  const p = await startPipeline(yaml, dir);
  open.push({ close: () => p.stop() });
  return p;
}

/** Sends lines over TCP to the pipeline's syslog source and closes. */
async function sendLines(p: Pipeline, lines: string[]): Promise<void> {
  const { port } = endpoint(p, 'net', 'tcp');
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.end(lines.map((l) => l + '\n').join(''));
  await new Promise((r) => s.once('close', r));
}

const msgs = (n: number, tag = 'm') => Array.from({ length: n }, (_, i) => `<14>1 - host app - - - ${tag} ${i}`);


/** A line-collecting TCP receiver on a given port. */
async function tcpReceiver(port: number): Promise<{ lines: string[]; server: net.Server }> {
  const lines: string[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((s) => {
    conns.add(s);
    let buf = '';
    s.on('data', (d) => { buf += d; const p = buf.split('\n'); buf = p.pop()!; lines.push(...p); });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  // sluice keeps its connection open; the test ends it so close() does not wait for it.
  open.push({ close: () => { for (const c of conns) c.destroy(); return new Promise((r) => server.close(r)); } });
  return { lines, server };
}

const value = (p: Pipeline, name: string, labels: Record<string, string>) => p.metrics.value(name, labels);

describe('syslog destination faults', () => {
  test('receiver refusing connections: retried with backoff, counted, delivered once it listens', async () => {
    const dir = tempDir('refused');
    const port = await freePort();
    const p = await pipeline(`api: false
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }
destinations: { out: { type: syslog, url: "tcp://127.0.0.1:${port}", retry: { initial: 20ms, max: 100ms } } }
log: [ { from: net, to: out } ]`, dir);
    await sendLines(p, msgs(50));
    await waitFor(async () => (await value(p, 'sluice_retries_total', { component: 'out' })) >= 2, 'retries while refused');
    assert.equal(await value(p, 'sluice_events_sent_total', { component: 'out' }), 0);
    const rx = await tcpReceiver(port);
    await waitFor(() => rx.lines.length >= 50, '50 lines after the receiver came up');
    assert.equal(await value(p, 'sluice_events_sent_total', { component: 'out' }), 50);
    assert.ok(await value(p, 'sluice_errors_total', { component: 'out', stage: 'sending', error_type: 'retry' }) >= 2);
  });

  test('TLS certificate mismatch: nothing sent, retries counted; the right CA then delivers', async () => {
    const dir = tempDir('tlsmismatch');
    const pki = await makeTestPki(path.join(dir, 'pki'));
    const lines: string[] = [];
    const conns = new Set<tls.TLSSocket>();
    const server = tls.createServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) }, (s) => {
      conns.add(s);
      s.on('data', (d) => lines.push(...d.toString().split('\n').filter(Boolean)));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => { for (const c of conns) c.destroy(); return new Promise((r) => server.close(r)); } });
    const port = (server.address() as net.AddressInfo).port;
    // servername "other.example" is not in the certificate: the name check must fail.
    const p = await pipeline(`api: false
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }
destinations:
  bad: { type: syslog, url: "tls://127.0.0.1:${port}", framing: lf, tls: { ca: ${pki.caCert}, servername: other.example }, retry: { initial: 20ms, max: 100ms } }
  good: { type: syslog, url: "tls://127.0.0.1:${port}", framing: lf, tls: { ca: ${pki.caCert} } }
log: [ { from: net, to: [bad, good] } ]`, dir);
    await sendLines(p, msgs(10));
    await waitFor(async () => (await value(p, 'sluice_retries_total', { component: 'bad' })) >= 2, 'bad retries');
    await waitFor(() => lines.length >= 10, 'good delivers');
    assert.equal(lines.length, 10, 'only the verified destination delivered');
    assert.equal(await value(p, 'sluice_events_sent_total', { component: 'bad' }), 0);
  });

  test('receiver hanging without reading: retried after send_timeout, memory bounded by the buffer', async () => {
    const dir = tempDir('hang');
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => { s.pause(); sockets.push(s); s.on('error', () => {}); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); } });
    const port = (server.address() as net.AddressInfo).port;
    const p = await pipeline(`api: false
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }
destinations: { out: { type: syslog, url: "tcp://127.0.0.1:${port}", send_timeout: 300ms, buffer: { max_bytes: 4MiB, when_full: drop_newest }, retry: { initial: 20ms, max: 50ms } } }
log: [ { from: net, to: out } ]`, dir);
    // Far more than the kernel buffers hold, so writes stall.
    const big = Array.from({ length: 20000 }, (_, i) => `<14>1 - host app - - - ${'x'.repeat(2000)} ${i}`);
    await sendLines(p, big);
    await waitFor(async () => (await value(p, 'sluice_retries_total', { component: 'out' })) >= 1, 'a retry after send_timeout');
    await waitFor(async () => (await value(p, 'sluice_events_dropped_total', { component: 'out', reason: 'buffer_full' })) > 0, 'drops once the bounded buffer is full');
    assert.ok(p.runners.get('out')!.buffer.bytes <= 4 * 1024 * 1024 * 1.5, 'buffer stays near its bound');
  });
});

describe('HTTP destination faults', () => {
  type Answer = { status: number; headers?: Record<string, string> };
  async function httpReceiver(answers: Answer[]): Promise<{ url: string; hits: { at: number; body: string }[] }> {
    const hits: { at: number; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        hits.push({ at: Date.now(), body });
        const a = answers[Math.min(hits.length - 1, answers.length - 1)]!;
        res.writeHead(a.status, a.headers).end(a.status === 400 ? 'bad event: field "x" not allowed' : 'ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); } });
    return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/in`, hits };
  }

  const httpPipeline = (url: string, dir: string) => pipeline(`api: false
data_dir: ${dir}/data
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }
destinations: { out: { type: http, url: "${url}", mode: ndjson, body: message, retry: { initial: 20ms, max: 100ms } } }
log: [ { from: net, to: out } ]`, dir);

  test('HTTP 500 then 200: one retry, then delivered', async () => {
    const dir = tempDir('h500');
    const rx = await httpReceiver([{ status: 500 }, { status: 200 }]);
    const p = await httpPipeline(rx.url, dir);
    await sendLines(p, msgs(5));
    await waitFor(async () => (await value(p, 'sluice_events_sent_total', { component: 'out' })) === 5, '5 sent');
    assert.equal(rx.hits.length, 2);
    assert.equal(rx.hits[0]!.body, rx.hits[1]!.body, 'the same batch was sent again');
    assert.equal(await value(p, 'sluice_retries_total', { component: 'out' }), 1);
  });

  test('HTTP 429 with Retry-After: the next attempt waits at least that long', async () => {
    const dir = tempDir('h429');
    const rx = await httpReceiver([{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
    const p = await httpPipeline(rx.url, dir);
    await sendLines(p, msgs(3));
    await waitFor(() => rx.hits.length === 2, 'second attempt');
    assert.ok(rx.hits[1]!.at - rx.hits[0]!.at >= 950, `Retry-After 1 s honoured (waited ${rx.hits[1]!.at - rx.hits[0]!.at} ms), not the 20 ms backoff`);
    await waitFor(async () => (await value(p, 'sluice_events_sent_total', { component: 'out' })) === 3, 'sent');
  });

  test('HTTP 400: rejected for good into the dead-letter file with the reason, counted, never retried', async () => {
    const dir = tempDir('h400');
    const rx = await httpReceiver([{ status: 400 }]);
    const p = await httpPipeline(rx.url, dir);
    await sendLines(p, msgs(4, 'poison'));
    const dl = path.join(dir, 'data', 'dead-letter', 'out.ndjson');
    await waitFor(() => readLines(dl).length === 4, 'dead letters');
    const first = JSON.parse(readLines(dl)[0]!) as { reason: string; destination: string; event: { message: string } };
    assert.equal(first.destination, 'out');
    assert.match(first.reason, /400/);
    assert.match(first.reason, /not allowed/);
    assert.equal(first.event.message, 'poison 0');
    assert.equal(await value(p, 'sluice_events_dropped_total', { component: 'out', reason: 'rejected' }), 4);
    await sleep(200);
    assert.equal(rx.hits.length, 1, 'a permanent rejection is not retried');
  });
});

describe('disk buffer full', () => {
  test('drop_newest: new events are dropped and counted while the destination is down; the rest survive', async () => {
    const dir = tempDir('diskfull');
    const port = await freePort();
    const p = await pipeline(`api: false
data_dir: ${dir}/data
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }
destinations: { out: { type: syslog, url: "tcp://127.0.0.1:${port}", buffer: { type: disk, max_bytes: 200KiB, when_full: drop_newest }, retry: { initial: 20ms, max: 50ms } } }
log: [ { from: net, to: out } ]`, dir);
    const lines = Array.from({ length: 3000 }, (_, i) => `<14>1 - host app - - - ${'y'.repeat(200)} ${i}`);
    for (let i = 0; i < lines.length; i += 300) await sendLines(p, lines.slice(i, i + 300));
    await waitFor(async () => (await value(p, 'sluice_events_dropped_total', { component: 'out', reason: 'buffer_full' })) > 0, 'drops');
    const dropped = await value(p, 'sluice_events_dropped_total', { component: 'out', reason: 'buffer_full' });
    const buffered = p.runners.get('out')!.buffer.events;
    assert.ok(buffered > 0 && buffered + dropped === 3000, `buffered ${buffered} + dropped ${dropped} = 3000 received`);
    const rx = await tcpReceiver(port);
    await waitFor(() => rx.lines.length === buffered, `the ${buffered} buffered events delivered`);
  });

  test('block: a full buffer stops reading from TCP senders instead of dropping', async () => {
    const dir = tempDir('diskblock');
    const port = await freePort();
    const p = await pipeline(`api: false
data_dir: ${dir}/data
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }
destinations: { out: { type: syslog, url: "tcp://127.0.0.1:${port}", buffer: { type: disk, max_bytes: 200KiB, when_full: block }, retry: { initial: 20ms, max: 50ms } } }
log: [ { from: net, to: out } ]`, dir);
    const { port: inPort } = endpoint(p, 'net', 'tcp');
    const s = net.connect(inPort, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    let written = 0;
    let calls = 0;
    const chunk = Buffer.from(Array.from({ length: 100 }, (_, i) => `<14>1 - host app - - - ${'z'.repeat(200)} ${i}\n`).join(''));
    // Write with back-pressure until the socket stays blocked for half a second (bounded: 40 MB).
    let held = false;
    while (written < 40 * 1024 * 1024) {
      calls++;
      written += chunk.length;
      if (s.write(chunk)) continue;
      const drained = await Promise.race([new Promise((r) => s.once('drain', () => r(true))), sleep(500).then(() => false)]);
      if (!drained) { held = true; break; }
    }
    assert.ok(held, 'the sender was held back before 40 MB');
    await sleep(300);
    assert.equal(await value(p, 'sluice_events_dropped_total', { component: 'out', reason: 'buffer_full' }), 0, 'block never drops TCP events');
    const received = await value(p, 'sluice_events_received_total', { component: 'net' });
    assert.ok(received < written / 230, `reading stopped (${received} events read of ${Math.round(written / 230)} written)`);
    const rx = await tcpReceiver(port);
    s.end();
    await waitFor(() => rx.lines.length === calls * 100, `all ${calls * 100} events delivered once the destination is back`, 60_000);
  });
});
