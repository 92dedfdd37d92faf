// RELP source against a RELP client written here: open, windowed sends, rsp order, rsp only after delivery, 500s, garbage, TLS.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, describe, test } from 'node:test';
import type { EventBuffer } from '../../src/buffer/types.js';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import type { Destination, SendResult } from '../../src/destinations/types.js';
import type { LogEvent } from '../../src/event/log-event.js';
import { EventFlag } from '../../src/event/log-event.js';
import { setLogSink } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import type { BatchAck } from '../../src/pipeline/acknowledgement.js';
import { DeadLetterFile } from '../../src/pipeline/dead-letter.js';
import { DestinationRunner } from '../../src/pipeline/destination-runner.js';
import { Router } from '../../src/pipeline/router.js';
import { RelpSource, relpSourceKind, relpSourceSchema } from '../../src/sources/relp/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { sleep, tempDir, waitFor } from '../helpers/wait.js';

const logs: string[] = [];
setLogSink((l) => { if (logs.length < 10_000) logs.push(l); });

// ---------------------------------------------------------------- pipeline pieces

/** Records what it is sent; while blocked, holds each send until unblock(). */
class SinkDestination implements Destination {
  readonly maxBatch = 100_000;
  readonly events: LogEvent[] = [];
  blocked = false;
  private held: (() => void)[] = [];
  async start(): Promise<void> {}
  send(events: LogEvent[], done: (r: SendResult) => void): void {
    const go = (): void => { this.events.push(...events); done({ status: 'ok' }); };
    if (this.blocked) this.held.push(go);
    else go();
  }
  unblock(): void {
    this.blocked = false;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }
  async stop(): Promise<void> { this.unblock(); }
}

/**
 * A memory buffer that, like a disk buffer still writing, holds each batch's ack until the
 * test settles it: settle(true) = stored, settle(false) = could not be stored.
 */
class HoldingBuffer implements EventBuffer {
  readonly kind = 'disk' as const;
  readonly acks: BatchAck[] = [];
  private readonly inner = new MemoryBuffer(64 * 1024 * 1024, 'block');
  push(events: LogEvent[], ack: BatchAck | null, canWait: boolean): boolean {
    if (ack) { ack.hold(); this.acks.push(ack); }
    return this.inner.push(events, null, canWait);
  }
  /** Settles the held ack number `i` (in arrival order). */
  settle(i: number, ok: boolean): void { this.acks[i]!.release(ok); }
  take(max: number): LogEvent[] | null { return this.inner.take(max); }
  commit(): void { this.inner.commit(); }
  get full(): boolean { return this.inner.full; }
  readonly whenFull = 'block' as const;
  get events(): number { return this.inner.events; }
  get bytes(): number { return this.inner.bytes; }
  set onReadable(f: () => void) { this.inner.onReadable = f; }
  get onReadable(): () => void { return this.inner.onReadable; }
  set onDrain(f: () => void) { this.inner.onDrain = f; }
  get onDrain(): () => void { return this.inner.onDrain; }
  async close(): Promise<void> {}
}

interface Harness {
  source: RelpSource;
  sink: SinkDestination;
  runner: DestinationRunner;
  metrics: Metrics;
  port: number;
  stop(): Promise<void>;
}

const running = new Set<Harness>();
after(async () => { for (const h of running) await h.stop(); });

const DIR = tempDir('relp-src');

async function startSource(cfg: Record<string, unknown> = {}, buffer?: EventBuffer): Promise<Harness> {
  const dir = DIR;
  const metrics = new Metrics();
  const sink = new SinkDestination();
  const runner = new DestinationRunner('sink', sink, buffer ?? new MemoryBuffer(32 * 1024 * 1024, 'block'), metrics,
    { initialMs: 10, maxMs: 50 }, new DeadLetterFile(path.join(dir, 'dead.ndjson'), 'sink'));
  const router = new Router([{ from: ['relay'], filter: null, to: [runner], final: false, fallback: false }], ['relay'], [runner]);
  runner.start();
  const parsed = relpSourceSchema.parse({ type: 'relp', listen: ['relp://127.0.0.1:0'], ...cfg });
  const source = new RelpSource(parsed, { name: 'relay', router, metrics, baseDir: dir });
  await source.start();
  const port = Number(/:(\d+)$/.exec(source.addresses()[0]!)![1]);
  let stopped = false;
  const h: Harness = {
    source, sink, runner, metrics, port,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(h);
      sink.unblock();
      await source.stop();
      await runner.stop(2000);
    },
  };
  running.add(h);
  return h;
}

// ---------------------------------------------------------------- a RELP client, independent of src/codec/relp

interface Frame { txnr: number; command: string; data: string }

const OFFERS = 'relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog';

function frame(txnr: number, command: string, data = ''): string {
  const n = Buffer.byteLength(data);
  return n === 0 ? `${txnr} ${command} 0\n` : `${txnr} ${command} ${n} ${data}\n`;
}

class Client {
  readonly frames: Frame[] = [];
  ended = false;
  private buf = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('end', () => { this.ended = true; });
    socket.on('close', () => { this.ended = true; });
    socket.on('error', () => { this.ended = true; });
  }

  static async connect(port: number, tlsOpts?: tls.ConnectionOptions): Promise<Client> {
    const socket = tlsOpts ? tls.connect({ ...tlsOpts, host: '127.0.0.1', port }) : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(tlsOpts ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    clients.add(socket);
    return new Client(socket);
  }

  private data(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const m = /^(\d+) ([a-zA-Z]+) (\d+)/.exec(this.buf.toString('latin1', 0, Math.min(this.buf.length, 64)));
      if (!m) return;
      const len = Number(m[3]);
      const h = m[0].length;
      const total = len === 0 ? h + 1 : h + 1 + len + 1;
      if (this.buf.length < total) return;
      assert.equal(this.buf[total - 1], 0x0a, `frame from the server ends in LF: ${JSON.stringify(this.buf.toString('latin1', 0, total))}`);
      this.frames.push({ txnr: Number(m[1]), command: m[2]!, data: len === 0 ? '' : this.buf.toString('utf8', h + 1, h + 1 + len) });
      this.buf = this.buf.subarray(total);
    }
  }

  write(s: string | Buffer): void {
    this.socket.write(s);
  }

  rsps(): Frame[] {
    return this.frames.filter((f) => f.command === 'rsp');
  }

  async waitFrames(n: number, what: string): Promise<void> {
    await waitFor(() => this.frames.length >= n, `${n} frame(s) from the server: ${what}`, 10_000);
  }

  async open(): Promise<Frame> {
    this.write(frame(1, 'open', OFFERS));
    await waitFor(() => this.frames.length >= 1 || this.ended, 'the answer to open', 10_000);
    return this.frames[0]!;
  }

  /** Sends syslog frames txnr from, from+1, … keeping at most `window` unanswered, as librelp does. */
  async sendWindowed(from: number, msgs: string[], window: number): Promise<void> {
    const answered = (): number => this.rsps().filter((f) => f.txnr >= from).length;
    let sent = 0;
    while (sent < msgs.length) {
      let burst = '';
      while (sent < msgs.length && sent - answered() < window) {
        burst += frame(from + sent, 'syslog', msgs[sent]!);
        sent++;
      }
      this.write(burst);
      assert.ok(sent - answered() <= window, 'the client never has more than window frames unanswered');
      const target = sent - window + 1;
      if (sent < msgs.length) await waitFor(() => answered() >= target, `answers up to txnr ${from + target - 1}`, 10_000);
    }
    await waitFor(() => answered() >= msgs.length, `all ${msgs.length} answers`, 10_000);
  }

  async closed(): Promise<void> {
    await waitFor(() => this.ended, 'the server to close the connection', 10_000);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const clients = new Set<net.Socket>();
after(() => { for (const s of clients) s.destroy(); });

const msg = (i: number): string => `<134>1 2024-05-01T12:00:00.000Z web-${i % 3} app ${1000 + i} ID${i} - message seq=${i}`;

function assertInOrder(rsps: Frame[], from: number, n: number, data = '200 OK'): void {
  assert.deepEqual(rsps.filter((f) => f.txnr >= from && f.txnr < from + n).map((f) => [f.txnr, f.data]),
    Array.from({ length: n }, (_, i) => [from + i, data]));
}

async function metric(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  return h.metrics.value(name, { component: 'relay', ...labels });
}

// ---------------------------------------------------------------- tests

describe('RELP source', () => {
  test('registry entry: schema defaults, listens, build', () => {
    const cfg = relpSourceKind.schema.parse({ type: "relp", listen: "relp://127.0.0.1:2514" }) as unknown as { format: string; max_message_bytes: number; oversize: string };
    assert.equal(cfg.format, 'auto');
    assert.equal(cfg.max_message_bytes, 65536);
    assert.equal(cfg.oversize, 'truncate');
    assert.deepEqual(relpSourceKind.listens(cfg).map((a) => [a.scheme, a.host, a.port]), [['relp', '127.0.0.1', 2514]]);
    assert.throws(() => relpSourceKind.schema.parse({ type: 'relp', listen: 'tcp://127.0.0.1:2514' }), /relp:\/\//);
    assert.throws(() => relpSourceKind.schema.parse({ type: 'relp', listen: 'relp://127.0.0.1:1', framing: 'lf' }), /framing/);
  });

  test('open negotiation, 300 windowed messages answered 200 OK in txnr order, close → rsp 0 and serverclose', async () => {
    const h = await startSource();
    const c = await Client.connect(h.port);
    const open = await c.open();
    assert.deepEqual(open, { txnr: 1, command: 'rsp', data: '200 OK\nrelp_version=0\nrelp_software=sluice\ncommands=syslog' });
    const msgs = Array.from({ length: 300 }, (_, i) => msg(i));
    await c.sendWindowed(2, msgs, 16);
    assertInOrder(c.rsps(), 2, 300);
    const txnrs = c.rsps().map((f) => f.txnr);
    assert.deepEqual(txnrs, [...txnrs].sort((a, b) => a - b), 'answers come in command order');
    c.write(frame(302, 'close'));
    await c.closed();
    assert.deepEqual(c.frames.slice(-2), [{ txnr: 302, command: 'rsp', data: '' }, { txnr: 0, command: 'serverclose', data: '' }]);
    await waitFor(() => h.sink.events.length === 300, '300 events at the destination');
    const ev = h.sink.events[7]!;
    assert.equal(ev.hostname, 'web-1');
    assert.equal(ev.appname, 'app');
    assert.equal(ev.procid, '1007');
    assert.equal(ev.msgid, 'ID7');
    assert.equal(ev.message, 'message seq=7');
    assert.equal(ev.facility, 16);
    assert.equal(ev.severity, 6);
    assert.equal(ev.source.transport, 'relp');
    assert.equal(ev.source.address, '127.0.0.1');
    assert.deepEqual(h.sink.events.map((e) => e.message), msgs.map((_, i) => `message seq=${i}`));
    assert.equal(await metric(h, 'sluice_events_received_total', {}), 300);
    assert.equal(await metric(h, 'sluice_connections_accepted_total', {}), 1);
    await h.stop();
  });

  test('messages ending in LF (rsyslog\'s SyslogProtocol23 template) lose the LF; RFC 3164 parses too', async () => {
    const h = await startSource();
    const c = await Client.connect(h.port);
    await c.open();
    c.write(frame(2, 'syslog', '<13>1 2024-05-01T12:00:00Z host prog - - - with newline\n') + frame(3, 'syslog', '<38>May  1 12:00:00 oldhost sshd[42]: classic'));
    await c.waitFrames(3, 'two answers');
    await waitFor(() => h.sink.events.length === 2, 'two events');
    const [a, b] = h.sink.events;
    assert.equal(a!.message, 'with newline');
    assert.deepEqual([b!.hostname, b!.appname, b!.procid, b!.message, b!.facility, b!.severity], ['oldhost', 'sshd', '42', 'classic', 4, 6]);
    await h.stop();
  });

  test('rsp 200 leaves only after the batch is stored, in txnr order across batches; not stored → rsp 500', async () => {
    const buffer = new HoldingBuffer();
    const h = await startSource({}, buffer);
    const c = await Client.connect(h.port);
    await c.open();
    // Batch 0: txnr 2-4, then an unknown command (5) whose answer must wait its turn.
    c.write(frame(2, 'syslog', msg(2)) + frame(3, 'syslog', msg(3)) + frame(4, 'syslog', msg(4)) + frame(5, 'bogus', 'x'));
    await waitFor(() => buffer.acks.length === 1, 'batch 0 in the buffer');
    // Batch 1: txnr 6-7, sent once batch 0 is held, so it is read as a chunk of its own.
    c.write(frame(6, 'syslog', msg(6)) + frame(7, 'syslog', msg(7)));
    await waitFor(() => buffer.acks.length === 2, 'batch 1 in the buffer');
    // Batch 1 is stored first: its answers still wait for batch 0 (RELP answers in order).
    buffer.settle(1, true);
    await sleep(150);
    assert.deepEqual(c.rsps().map((f) => f.txnr), [1], 'no answer for any syslog frame before batch 0 is stored');
    buffer.settle(0, true);
    await c.waitFrames(7, 'answers 2-7');
    assert.deepEqual(c.rsps().map((f) => [f.txnr, f.data]), [
      [1, c.frames[0]!.data], [2, '200 OK'], [3, '200 OK'], [4, '200 OK'], [5, '500 unknown command bogus'], [6, '200 OK'], [7, '200 OK'],
    ]);
    // Batch 2 cannot be stored (e.g. a drop_newest buffer is full): every frame of it gets 500.
    c.write(frame(8, 'syslog', msg(8)) + frame(9, 'syslog', msg(9)));
    await waitFor(() => buffer.acks.length === 3, 'batch 2 in the buffer');
    buffer.settle(2, false);
    await c.waitFrames(9, 'answers 8-9');
    for (const f of c.rsps().slice(-2)) assert.match(f.data, /^500 not stored: /);
    // The session goes on.
    c.write(frame(10, 'syslog', msg(10)));
    await waitFor(() => buffer.acks.length === 4, 'batch 3');
    buffer.settle(3, true);
    await c.waitFrames(10, 'answer 10');
    assert.deepEqual(c.frames[9], { txnr: 10, command: 'rsp', data: '200 OK' });
    assert.equal(c.ended, false);
    await h.stop();
  });

  test('back-pressure: while the destination is full the socket is not read; everything arrives after', async () => {
    const h = await startSource({}, new MemoryBuffer(8 * 1024, 'block'));
    h.sink.blocked = true;
    const c = await Client.connect(h.port);
    await c.open();
    const n = 3000;
    let all = '';
    for (let i = 0; i < n; i++) all += frame(2 + i, 'syslog', msg(i));
    c.write(all);
    await waitFor(() => h.runner.blocking, 'the destination buffer to fill');
    await sleep(300);
    const read = await metric(h, 'sluice_events_received_total', {});
    assert.ok(read < n, `the source stops reading while the destination is full (read ${read} of ${n})`);
    h.sink.unblock();
    await waitFor(() => c.rsps().length === n + 1, `${n} answers`, 15_000);
    assertInOrder(c.rsps(), 2, n);
    await waitFor(() => h.sink.events.length === n, `${n} events at the destination`);
    await h.stop();
  });

  test('garbage after good frames: good ones answered, then serverclose and close, counted', async () => {
    const h = await startSource();
    const c = await Client.connect(h.port);
    await c.open();
    c.write(frame(2, 'syslog', msg(2)) + 'GET / HTTP/1.1\r\n\r\n');
    await c.closed();
    assert.deepEqual(c.frames.slice(1), [{ txnr: 2, command: 'rsp', data: '200 OK' }, { txnr: 0, command: 'serverclose', data: '' }]);
    assert.equal(await metric(h, 'sluice_errors_total', { stage: 'framing', error_type: 'relp_frame' }), 1);
    assert.ok(logs.some((l) => /malformed RELP frame at byte \d+ of the stream: expected a digit of TXNR, got 'G'/.test(l)), 'the problem is logged with its position');
    await h.stop();
  });

  test('protocol errors end the session: txnr out of sequence, syslog before open, open without syslog', async () => {
    const h = await startSource();
    const a = await Client.connect(h.port);
    await a.open();
    a.write(frame(3, 'syslog', msg(3)));
    await a.closed();
    assert.deepEqual(a.frames.slice(1), [{ txnr: 0, command: 'serverclose', data: '' }]);

    const b = await Client.connect(h.port);
    b.write(frame(1, 'syslog', msg(1)));
    await b.closed();
    assert.deepEqual(b.frames, [{ txnr: 1, command: 'rsp', data: '500 command disabled: the session is not open' }, { txnr: 0, command: 'serverclose', data: '' }]);

    const d = await Client.connect(h.port);
    d.write(frame(1, 'open', 'relp_version=0\ncommands=eventlog'));
    await d.closed();
    assert.deepEqual(d.frames, [{ txnr: 1, command: 'rsp', data: '500 required command not supported by client' }, { txnr: 0, command: 'serverclose', data: '' }]);
    assert.equal(await metric(h, 'sluice_errors_total', { stage: 'protocol' }), 3);
    assert.equal(h.sink.events.length, 0);
    await h.stop();
  });

  test('oversize: truncate keeps the start and flags it; reject answers 500 and the session goes on', async () => {
    const h = await startSource({ max_message_bytes: 64 });
    const c = await Client.connect(h.port);
    await c.open();
    c.write(frame(2, 'syslog', '<13>1 - h a - - - ' + 'x'.repeat(200)));
    await c.waitFrames(2, 'answer');
    assert.deepEqual(c.frames[1], { txnr: 2, command: 'rsp', data: '200 OK' });
    await waitFor(() => h.sink.events.length === 1, 'one event');
    assert.equal(h.sink.events[0]!.rawBytes.length, 64);
    assert.ok(h.sink.events[0]!.flags & EventFlag.TRUNCATED);
    await h.stop();

    const r = await startSource({ max_message_bytes: 64, oversize: 'reject' });
    const d = await Client.connect(r.port);
    await d.open();
    d.write(frame(2, 'syslog', 'y'.repeat(65)) + frame(3, 'syslog', '<13>1 - h a - - - ok'));
    await d.waitFrames(3, 'answers');
    assert.deepEqual(d.frames.slice(1).map((f) => f.data), ['500 message longer than 64 bytes', '200 OK']);
    await waitFor(() => r.sink.events.length === 1, 'the good one');
    assert.equal(await r.metrics.value('sluice_events_dropped_total', { component: 'relay', reason: 'oversize' }), 1);
    await r.stop();
  });

  test('a second open in a session is answered and ignored; hints (txnr 0) from the client are ignored', async () => {
    const h = await startSource();
    const c = await Client.connect(h.port);
    await c.open();
    c.write(frame(0, 'hint') + frame(2, 'open', OFFERS) + frame(3, 'syslog', msg(3)));
    await c.waitFrames(3, 'answers');
    assert.deepEqual(c.frames.slice(1).map((f) => [f.txnr, f.data]), [[2, '200 connection already open - ignored'], [3, '200 OK']]);
    await h.stop();
  });

  test('a client that half-closes gets its answers, then serverclose', async () => {
    const h = await startSource();
    const c = await Client.connect(h.port);
    await c.open();
    c.socket.end(frame(2, 'syslog', msg(2)));
    await c.closed();
    assert.deepEqual(c.frames.slice(1), [{ txnr: 2, command: 'rsp', data: '200 OK' }, { txnr: 0, command: 'serverclose', data: '' }]);
    await waitFor(() => h.sink.events.length === 1, 'the event');
    await h.stop();
  });

  test('stop(): open sessions get their answers and serverclose, then the listener is gone', async () => {
    const h = await startSource();
    const c = await Client.connect(h.port);
    await c.open();
    c.write(frame(2, 'syslog', msg(2)));
    await c.waitFrames(2, 'answer');
    await h.stop();
    await c.closed();
    assert.deepEqual(c.frames.at(-1), { txnr: 0, command: 'serverclose', data: '' });
    await assert.rejects(Client.connect(h.port), /ECONNREFUSED/);
  });

  test('allow list: a peer outside it is refused and counted', async () => {
    const h = await startSource({ allow: ['10.0.0.0/8'] });
    const c = await Client.connect(h.port);
    await c.closed();
    assert.equal(c.frames.length, 0);
    assert.equal(await metric(h, 'sluice_connections_refused_total', { reason: 'not_allowed' }), 1);
    await h.stop();
  });

  describe('over TLS', () => {
    let pki: TestPki;

    test('a tls: block makes the listener RELP over TLS; the client certificate subject is the event\'s TLS peer', async () => {
      pki = await makeTestPki(fs.mkdtempSync(path.join(DIR, 'pki-')));
      const h = await startSource({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, client_auth: 'required' } });
      assert.match(h.source.addresses()[0]!, /^relp:\/\/127\.0\.0\.1:\d+$/);
      const c = await Client.connect(h.port, {
        ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey), servername: 'localhost',
      });
      const open = await c.open();
      assert.match(open.data, /^200 OK\n/);
      c.write(frame(2, 'syslog', msg(2)));
      await c.waitFrames(2, 'answer');
      assert.deepEqual(c.frames[1], { txnr: 2, command: 'rsp', data: '200 OK' });
      await waitFor(() => h.sink.events.length === 1, 'the event');
      assert.equal(h.sink.events[0]!.source.tlsPeer, 'O=sluice-test,CN=web-01');
      c.write(frame(3, 'close'));
      await c.closed();
      await h.stop();
    });
  });
});
