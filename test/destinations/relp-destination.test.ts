// RELP destination against a RELP server written here: window, 500s, reconnect and resend, retry, ack timeout, TLS.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { freePort } from '../helpers/daemon.js';
import { after, describe, test } from 'node:test';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { RelpDestination, relpDestinationKind, relpDestinationSchema } from '../../src/destinations/relp/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { setLogSink } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import { makeTestPki } from '../helpers/certs.js';
import { sleep, tempDir, waitFor } from '../helpers/wait.js';

setLogSink(() => {});

// ---------------------------------------------------------------- a RELP server, independent of src/codec/relp

interface Received { conn: number; txnr: number; data: string }

interface Behaviour {
  /** Answer syslog frames as they come (else the test calls answer()). */
  auto: boolean;
  /** A message for which this returns a reason gets `rsp 500 <reason>`. */
  reject?: (data: string) => string | null;
  /** Called per syslog frame before answering; return 'drop' to destroy the connection right there. */
  onFrame?: (conn: number, indexInConn: number, data: string) => 'drop' | 'serverclose' | undefined;
  /** Destroy the connection right after answering open (for connection numbers listed). */
  dropAfterOpen?: number[];
  /** Refuse the session with this rsp to open. */
  refuseOpen?: string;
}

class Conn {
  buf = Buffer.alloc(0);
  pending: number[] = [];
  received = 0;
  constructor(readonly id: number, readonly socket: net.Socket) {}
}

class TestServer {
  readonly received: Received[] = [];
  readonly opens: string[] = [];
  readonly closes: number[] = [];
  readonly conns: Conn[] = [];
  /** Most syslog frames received and not yet answered on one connection, ever. */
  maxUnanswered = 0;
  private server: net.Server | tls.Server;
  port = 0;

  constructor(readonly behaviour: Behaviour, tlsOpts?: tls.TlsOptions) {
    const onConn = (s: net.Socket): void => {
      const c = new Conn(this.conns.length + 1, s);
      this.conns.push(c);
      s.on('error', () => {});
      s.on('data', (d: Buffer) => this.data(c, d));
    };
    this.server = tlsOpts ? tls.createServer(tlsOpts, onConn) : net.createServer(onConn);
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    servers.add(this);
  }

  private data(c: Conn, d: Buffer): void {
    c.buf = Buffer.concat([c.buf, d]);
    for (;;) {
      const m = /^(\d+) ([a-zA-Z]+) (\d+)/.exec(c.buf.toString('latin1', 0, Math.min(c.buf.length, 64)));
      if (!m) break;
      const len = Number(m[3]);
      const h = m[0].length;
      const total = len === 0 ? h + 1 : h + 1 + len + 1;
      if (c.buf.length < total) break;
      assert.equal(c.buf[total - 1], 0x0a, 'frames from the client end in LF');
      const txnr = Number(m[1]);
      const data = len === 0 ? '' : c.buf.toString('utf8', h + 1, h + 1 + len);
      c.buf = c.buf.subarray(total);
      if (!this.command(c, txnr, m[2]!, data)) return;
    }
    if (this.behaviour.auto) this.answer(c, c.pending.length);
  }

  /** Handles one command; false = the connection is gone. */
  private command(c: Conn, txnr: number, cmd: string, data: string): boolean {
    if (cmd === 'open') {
      this.opens.push(data);
      if (this.behaviour.refuseOpen) { c.socket.end(rsp(txnr, this.behaviour.refuseOpen)); return false; }
      c.socket.write(rsp(txnr, '200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog'));
      if (this.behaviour.dropAfterOpen?.includes(c.id)) { c.socket.destroy(); return false; }
      return true;
    }
    if (cmd === 'close') {
      this.closes.push(c.id);
      c.socket.end(rsp(txnr, '') + '0 serverclose 0\n');
      return false;
    }
    assert.equal(cmd, 'syslog');
    const verdict = this.behaviour.onFrame?.(c.id, c.received, data);
    if (verdict === 'drop') { c.socket.destroy(); return false; }
    if (verdict === 'serverclose') { c.socket.end('0 serverclose 0\n'); return false; }
    c.received++;
    this.received.push({ conn: c.id, txnr, data });
    c.pending.push(txnr);
    this.maxUnanswered = Math.max(this.maxUnanswered, c.pending.length);
    return true;
  }

  /** Answers the oldest `n` unanswered frames of connection `c` (200, or 500 per behaviour.reject). */
  answer(c: Conn, n: number): void {
    let out = '';
    for (const txnr of c.pending.splice(0, n)) {
      const data = this.received.find((r) => r.conn === c.id && r.txnr === txnr)!.data;
      const why = this.behaviour.reject?.(data) ?? null;
      out += rsp(txnr, why === null ? '200 OK' : `500 ${why}`);
    }
    if (out) c.socket.write(out);
  }

  messages(conn?: number): string[] {
    return this.received.filter((r) => conn === undefined || r.conn === conn).map((r) => r.data);
  }

  async close(): Promise<void> {
    servers.delete(this);
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function rsp(txnr: number, data: string): string {
  const n = Buffer.byteLength(data);
  return n === 0 ? `${txnr} rsp 0\n` : `${txnr} rsp ${n} ${data}\n`;
}

const servers = new Set<TestServer>();
const destinations = new Set<RelpDestination>();
after(async () => {
  for (const d of destinations) await d.stop();
  for (const s of servers) await s.close();
});

// ---------------------------------------------------------------- helpers

const SOURCE: EventSource = { name: 'test', transport: 'tcp', address: '192.0.2.7', port: 5140, tlsPeer: null };

/** An event parsed from `text`, as a syslog source would make it. */
function syslogEvent(text: string): LogEvent {
  const ev = new LogEvent(SOURCE, Date.parse('2024-05-01T12:00:00Z'));
  const buf = Buffer.from(text);
  parseSyslog(ev, buf, 0, buf.length, 'auto');
  return ev;
}

const m5424 = (i: number): string => `<134>1 2024-05-01T12:00:00.123Z web-01 app ${i} ID - seq=${i} é`;

function batch(n: number, from = 0): LogEvent[] {
  return Array.from({ length: n }, (_, i) => syslogEvent(m5424(from + i)));
}

const DATA_DIR = tempDir('relp-dst');

function destination(port: number, extra: Record<string, unknown> = {}): RelpDestination {
  const cfg = relpDestinationSchema.parse({ type: 'relp', url: `relp://127.0.0.1:${port}`, ...extra });
  const d = new RelpDestination(cfg, { name: 'central', metrics: new Metrics(), dataDir: DATA_DIR, baseDir: '/' });
  destinations.add(d);
  return d;
}

function send(d: RelpDestination, events: LogEvent[]): Promise<SendResult> {
  return new Promise((resolve) => d.send(events, resolve));
}


// ---------------------------------------------------------------- tests

describe('RELP destination', () => {
  test('schema: url checked, defaults, outer keys accepted', () => {
    const cfg = relpDestinationKind.schema.parse({ type: 'relp', url: 'relp://central.example.net:2514' }) as unknown as Record<string, unknown>;
    assert.equal(cfg.window, 128);
    assert.equal(cfg.format, 'rfc5424');
    assert.equal(cfg.connect_timeout, 10_000);
    assert.equal(cfg.ack_timeout, 30_000);
    assert.deepEqual((cfg.buffer as { type: string }).type, 'memory');
    assert.throws(() => relpDestinationSchema.parse({ type: 'relp', url: 'tcp://h:1' }), /relp:\/\//);
    assert.throws(() => relpDestinationSchema.parse({ type: 'relp', url: 'relp://h:0' }), /expected a port/);
    assert.throws(() => relpDestinationSchema.parse({ type: 'relp', url: 'relp://h:1', window: 0 }));
    relpDestinationSchema.parse({ type: 'relp', url: 'relp://[::1]:2514', buffer: { type: 'disk' }, retry: { initial: '1s' } });
  });

  test('open offers, 500 messages in order, never more than window in flight, raw RFC 5424 bytes as received', async () => {
    const s = new TestServer({ auto: true });
    await s.listen();
    const d = destination(s.port, { window: 8 });
    const events = batch(500);
    assert.deepEqual(await send(d, events), { status: 'ok' });
    assert.deepEqual(s.opens, ['relp_version=0\nrelp_software=sluice\ncommands=syslog']);
    assert.deepEqual(s.messages(), events.map((_, i) => m5424(i)));
    assert.ok(s.maxUnanswered <= 8, `at most window (8) frames unanswered, saw ${s.maxUnanswered}`);
    // The next batch reuses the session (txnr goes on).
    assert.deepEqual(await send(d, batch(3, 500)), { status: 'ok' });
    assert.equal(s.conns.length, 1);
    assert.deepEqual(s.received.slice(-3).map((r) => r.txnr), [502, 503, 504]);
  });

  test('the window: exactly `window` frames go out, one more per answer', async () => {
    const s = new TestServer({ auto: false });
    await s.listen();
    const d = destination(s.port, { window: 4 });
    const result = send(d, batch(10));
    await waitFor(() => s.received.length === 4, '4 frames');
    await sleep(150);
    assert.equal(s.received.length, 4, 'no fifth frame before an answer');
    const c = s.conns[0]!;
    s.answer(c, 1);
    await waitFor(() => s.received.length === 5, 'a fifth frame after one answer');
    await sleep(100);
    assert.equal(s.received.length, 5);
    s.answer(c, 2);
    await waitFor(() => s.received.length === 7, 'two more after two answers');
    while (s.received.length < 10 || c.pending.length > 0) {
      s.answer(c, c.pending.length);
      await sleep(10);
    }
    assert.deepEqual(await result, { status: 'ok' });
    assert.equal(s.maxUnanswered, 4);
  });

  test('rsp 500 rejects exactly those events, reported once the others are answered', async () => {
    const s = new TestServer({ auto: true, reject: (m) => (/seq=(3|7) /.test(m) ? 'not today' : null) });
    await s.listen();
    const d = destination(s.port, { window: 3 });
    const events = batch(10);
    const r = await send(d, events);
    assert.equal(r.status, 'reject');
    if (r.status !== 'reject') return;
    assert.deepEqual(r.events, [events[3], events[7]]);
    assert.match(r.error, /relp:\/\/127\.0\.0\.1:\d+ answered "500 not today" for 2 of 10 message\(s\)/);
    assert.equal(s.received.length, 10, 'every frame sent once');
  });

  test('connection dropped mid-batch: reconnect with open, resend exactly the unanswered frames', async () => {
    // Connection 1 answers 5 frames, then dies on the 9th (8 received, 3 of them unanswered).
    const s = new TestServer({
      auto: false,
      onFrame: (conn, i) => (conn === 1 && i === 8 ? 'drop' : undefined),
    });
    await s.listen();
    const d = destination(s.port, { window: 8 });
    const events = batch(40);
    const result = send(d, events);
    await waitFor(() => s.received.length === 8, '8 frames on connection 1');
    s.answer(s.conns[0]!, 5);
    await waitFor(() => s.conns.length === 2 && s.opens.length === 2, 'a new session');
    // From here connection 2 answers everything at once.
    s.behaviour.auto = true;
    s.answer(s.conns[1]!, s.conns[1]!.pending.length);
    assert.deepEqual(await result, { status: 'ok' });
    const first = s.messages(1);
    assert.deepEqual(first, events.slice(0, 8).map((_, i) => m5424(i)));
    // Answered on connection 1: 0-4. Everything else, and only that, goes on connection 2.
    assert.deepEqual(s.messages(2), events.slice(5).map((_, i) => m5424(5 + i)));
    assert.equal(s.conns[1]!.received, 35);
    assert.equal(s.received.filter((r) => r.conn === 2)[0]!.txnr, 2, 'the new session numbers from 2 (1 is open)');
  });

  test('serverclose mid-batch is a lost session too: reconnect and resend', async () => {
    const s = new TestServer({ auto: true, onFrame: (conn, i) => (conn === 1 && i === 3 ? 'serverclose' : undefined) });
    await s.listen();
    const d = destination(s.port, { window: 1 });
    const events = batch(6);
    assert.deepEqual(await send(d, events), { status: 'ok' });
    assert.deepEqual(s.messages(1), events.slice(0, 3).map((_, i) => m5424(i)));
    assert.deepEqual(s.messages(2), events.slice(3).map((_, i) => m5424(3 + i)));
  });

  test('server down → retry naming the URL; the runner\'s retry of the same batch then delivers it', async () => {
    const port = await freePort();
    const d = destination(port, { connect_timeout: '2s' });
    const events = batch(5);
    const r = await send(d, events);
    assert.equal(r.status, 'retry');
    if (r.status === 'retry') assert.match(r.error, new RegExp(`relp://127\\.0\\.0\\.1:${port}: cannot connect: .*ECONNREFUSED`));
    const s = new TestServer({ auto: true });
    await s.listen(port);
    assert.deepEqual(await send(d, events), { status: 'ok' });
    assert.deepEqual(s.messages(), events.map((_, i) => m5424(i)));
  });

  test('a session lost again without any answer → retry; the resumed batch skips what was answered', async () => {
    // Connection 1 answers 3 and dies; connection 2 dies right after open; connection 3 works.
    const s = new TestServer({ auto: true, onFrame: (conn, i) => (conn === 1 && i === 3 ? 'drop' : undefined), dropAfterOpen: [2] });
    await s.listen();
    const d = destination(s.port, { window: 1 });
    const events = batch(8);
    const r = await send(d, events);
    assert.equal(r.status, 'retry', 'two losses in a row without progress: let the runner back off');
    if (r.status === 'retry') assert.match(r.error, /relp:\/\/127\.0\.0\.1:\d+: connection closed/);
    assert.equal(s.conns.length, 2);
    assert.deepEqual(await send(d, events), { status: 'ok' });
    assert.deepEqual(s.messages(1), events.slice(0, 3).map((_, i) => m5424(i)));
    assert.deepEqual(s.messages(3), events.slice(3).map((_, i) => m5424(3 + i)));
  });

  test('no answer within ack_timeout: the session is dropped and the frames resent on a new one', async () => {
    const s = new TestServer({ auto: false });
    await s.listen();
    const d = destination(s.port, { ack_timeout: '500ms', window: 4 });
    const events = batch(3);
    const r1 = await send(d, events);
    // Session 1 silent (lost), session 2 silent too (lost without progress) → retry.
    assert.equal(r1.status, 'retry');
    if (r1.status === 'retry') assert.match(r1.error, /no rsp within ack_timeout \(500 ms\) for 3 frame\(s\) in flight/);
    s.behaviour.auto = true;
    assert.deepEqual(await send(d, events), { status: 'ok' });
    assert.equal(s.conns.length, 3);
    assert.deepEqual(s.messages(3), events.map((_, i) => m5424(i)));
  });

  test('a server that refuses the session → retry with its answer', async () => {
    const s = new TestServer({ auto: true, refuseOpen: '500 required command not supported by client' });
    await s.listen();
    const d = destination(s.port);
    const r = await send(d, batch(1));
    assert.equal(r.status, 'retry');
    if (r.status === 'retry') assert.match(r.error, /server refused the session: 500 required command not supported by client/);
  });

  test('stop() closes the session politely (close, rsp, then disconnect)', async () => {
    const s = new TestServer({ auto: true });
    await s.listen();
    const d = destination(s.port);
    assert.deepEqual(await send(d, batch(2)), { status: 'ok' });
    await d.stop();
    destinations.delete(d);
    assert.deepEqual(s.closes, [1]);
  });

  test('RELP over TLS with a verified server certificate', async () => {
    const pki = await makeTestPki(tempDir('relp-dst-pki'));
    const s = new TestServer({ auto: true }, { cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey) });
    await s.listen();
    const d = destination(s.port, { tls: { ca: pki.caCert } });
    assert.deepEqual(await send(d, batch(3)), { status: 'ok' });
    assert.equal(s.received.length, 3);
    // A CA that did not sign the server certificate: no session, retry.
    const bad = destination(s.port, { tls: { ca: pki.serverCert, servername: 'localhost' } });
    const r = await send(bad, batch(1));
    assert.equal(r.status, 'retry');
    if (r.status === 'retry') assert.match(r.error, /cannot connect: .*(certificate|issuer)/i);
  });
});
