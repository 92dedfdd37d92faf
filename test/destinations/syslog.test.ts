// The syslog destination against real sockets on 127.0.0.1: framing, TLS (mutual), failures, stalls, reconnects, UDP.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { syslogDestinationKind, SyslogDestination, syslogDestinationSchema } from '../../src/destinations/syslog/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const SRC: EventSource = { name: 'net', transport: 'tcp', address: '192.0.2.9', port: 514, tlsPeer: null };

function ev(text: string): LogEvent {
  const buf = Buffer.from(text);
  const e = new LogEvent(SRC, Date.now());
  parseSyslog(e, buf, 0, buf.length, 'auto');
  return e;
}

function lines(n: number, tag = 'app', extra = ''): string[] {
  return Array.from({ length: n }, (_, i) => `<134>1 2026-01-02T03:04:05.678Z web-01 ${tag} ${1000 + i} - - message ${i}${extra}`);
}

function dest(cfg: Record<string, unknown>, baseDir?: string): SyslogDestination {
  return new SyslogDestination(syslogDestinationSchema.parse({ type: 'syslog', ...cfg }), { name: 'test', baseDir });
}

function send(d: SyslogDestination, events: LogEvent[]): Promise<SendResult> {
  return new Promise((resolve) => {
    let calls = 0;
    d.send(events, (r) => {
      calls++;
      assert.equal(calls, 1, 'done must be called exactly once');
      resolve(r);
    });
  });
}

/** RFC 6587 octet-counted frames of a byte stream. */
function octetFrames(buf: Buffer): string[] {
  const out: string[] = [];
  let p = 0;
  while (p < buf.length) {
    const sp = buf.indexOf(0x20, p);
    assert.ok(sp > p, `a length at offset ${p}`);
    const n = Number(buf.toString('latin1', p, sp));
    assert.ok(Number.isInteger(n) && n > 0, `a frame length at ${p}: ${buf.toString('latin1', p, sp)}`);
    out.push(buf.toString('utf8', sp + 1, sp + 1 + n));
    p = sp + 1 + n;
  }
  assert.equal(p, buf.length, 'the stream ends at a frame boundary');
  return out;
}

function lfFrames(buf: Buffer): string[] {
  const s = buf.toString('utf8');
  assert.ok(s.endsWith('\n'), 'the stream ends with LF');
  return s.slice(0, -1).split('\n');
}

interface Conn { socket: net.Socket; chunks: Buffer[]; ended: boolean; peerCN: string | null }

/** A TCP or TLS receiver that records what each connection sent. */
class Receiver {
  readonly conns: Conn[] = [];
  readonly server: net.Server;
  onConnection: (c: Conn) => void = () => {};
  errors: Error[] = [];

  constructor(tlsOptions?: tls.TlsOptions) {
    const handle = (socket: net.Socket): void => {
      const c: Conn = { socket, chunks: [], ended: false, peerCN: null };
      if (socket instanceof tls.TLSSocket) {
        const cert = socket.getPeerCertificate();
        c.peerCN = cert && cert.subject ? String(cert.subject.CN) : null;
      }
      this.conns.push(c);
      socket.on('data', (d: Buffer) => c.chunks.push(d));
      socket.on('end', () => { c.ended = true; });
      socket.on('error', () => {});
      this.onConnection(c);
    };
    this.server = tlsOptions ? tls.createServer(tlsOptions, handle) : net.createServer(handle);
    this.server.on('tlsClientError', (e) => this.errors.push(e));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }

  bytes(): Buffer {
    return Buffer.concat(this.conns.flatMap((c) => c.chunks));
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('syslog destination: config', () => {
  test('the kind exports type, schema and builder; framing defaults follow the scheme', () => {
    assert.equal(syslogDestinationKind.type, 'syslog');
    assert.equal(dest({ url: 'tls://127.0.0.1:6514' }).framing, 'octet');
    assert.equal(dest({ url: 'tcp://127.0.0.1:514' }).framing, 'lf');
    assert.equal(dest({ url: 'tcp://127.0.0.1:514', framing: 'octet' }).framing, 'octet');
    assert.equal(dest({ url: 'udp://127.0.0.1:514' }).framing, 'datagram');
  });

  test('facility and severity by name or number; errors for wrong values and misplaced settings', () => {
    const c = syslogDestinationSchema.parse({ type: 'syslog', url: 'tcp://h:1', facility: 'local4', severity: 'warning' });
    assert.deepEqual([c.facility, c.severity], [20, 4]);
    assert.deepEqual([syslogDestinationSchema.parse({ type: 'syslog', url: 'tcp://h:1', facility: 1, severity: 6 })].map((x) => [x.facility, x.severity])[0], [1, 6]);
    const bad = (cfg: Record<string, unknown>, re: RegExp) => {
      const r = syslogDestinationSchema.safeParse({ type: 'syslog', ...cfg });
      assert.equal(r.success, false, JSON.stringify(cfg));
      assert.match(r.error!.issues.map((i) => i.message).join('\n'), re);
    };
    bad({ url: 'tcp://h:1', facility: 'nope' }, /facility name or number/);
    bad({ url: 'tcp://h:1', severity: 9 }, /severity name or number/);
    bad({ url: 'http://h:1' }, /udp:\/\/, tcp:\/\/, tls:\/\//);
    bad({ url: 'tcp://h:0' }, /port other than 0/);
    bad({ url: 'tcp://h:1', tls: { ca: 'ca.pem' } }, /tls settings need a tls:\/\/ url/);
    bad({ url: 'udp://h:1', framing: 'octet' }, /framing applies to tcp/);
    bad({ url: 'tls://h:1', tls: { cert: 'c.pem' } }, /both cert and key/);
    bad({ url: 'tcp://h:1', format: 'xml' }, /rfc5424/);
    bad({ url: 'tcp://h:1', template: '${NOPE}' }, /unknown macro/);
    bad({ url: 'tcp://h:1', format: 'rfc3164', header: 'rfc5424' }, /header applies to cef/);
    bad({ url: 'tcp://h:1', format: 'leef', delimiter: '||' }, /one character/);
  });

  test('a TLS file that cannot be read fails start() with its path', async () => {
    const d = dest({ url: 'tls://127.0.0.1:6514', tls: { ca: 'missing-ca.pem' } }, '/nonexistent-dir');
    await assert.rejects(d.start(), /cannot read the TLS CA file \/nonexistent-dir\/missing-ca\.pem/);
  });
});

describe('syslog destination: tcp', () => {
  let rx: Receiver;
  let port: number;
  before(async () => { rx = new Receiver(); port = await rx.listen(); });
  after(async () => { await rx.close(); });

  test('lf framing (default for tcp): one line per message, line feeds inside become spaces', async () => {
    rx.conns.length = 0;
    const d = dest({ url: `tcp://127.0.0.1:${port}` });
    await d.start();
    const msgs = lines(3);
    const multi = ev('<134>1 2026-01-02T03:04:05.678Z web-01 app - - - first\nsecond\n');
    assert.deepEqual(await send(d, [...msgs.map(ev), multi]), { status: 'ok' });
    await d.stop();
    await waitFor(() => rx.conns[0]?.ended === true, 'the receiver to see the end');
    assert.deepEqual(lfFrames(rx.bytes()), [...msgs, '<134>1 2026-01-02T03:04:05.678Z web-01 app - - - first second']);
  });

  test('octet framing: LEN SP MSG, every byte kept', async () => {
    rx.conns.length = 0;
    const d = dest({ url: `tcp://127.0.0.1:${port}`, framing: 'octet' });
    const msgs = [...lines(2), '<134>1 2026-01-02T03:04:05.678Z web-01 app - - - two\nlines ünïcödé'];
    assert.deepEqual(await send(d, msgs.map(ev)), { status: 'ok' });
    assert.deepEqual(await send(d, lines(1, 'again').map(ev)), { status: 'ok' });
    await d.stop();
    await waitFor(() => rx.conns[0]?.ended === true, 'the receiver to see the end');
    assert.equal(rx.conns.length, 1, 'one persistent connection for both batches');
    assert.deepEqual(octetFrames(rx.bytes()), [...msgs, ...lines(1, 'again')]);
  });

  test('a receiver that closes the connection: noticed, and the next batch goes over a new one', async () => {
    rx.conns.length = 0;
    const d = dest({ url: `tcp://127.0.0.1:${port}`, format: 'rfc3164' });
    assert.deepEqual(await send(d, [ev(lines(1)[0]!)]), { status: 'ok' });
    await waitFor(() => rx.bytes().length > 0, 'the first batch');
    rx.conns[0]!.socket.end();
    await waitFor(() => !d.connected, 'the destination to notice the close');
    assert.deepEqual(await send(d, [ev(lines(1, 'second')[0]!)]), { status: 'ok' });
    await waitFor(() => rx.conns.length === 2 && rx.conns[1]!.chunks.length > 0, 'the second connection');
    assert.equal(d.connects, 2);
    assert.match(Buffer.concat(rx.conns[1]!.chunks).toString(), /second\[1000\]: message 0\n$/);
    await d.stop();
  });

  test('a batch that cannot be encoded (a BigInt field in JSON) is rejected alone; the rest is sent', async () => {
    rx.conns.length = 0;
    const d = dest({ url: `tcp://127.0.0.1:${port}`, format: 'json' });
    const good1 = ev(lines(1, 'good1')[0]!), good2 = ev(lines(1, 'good2')[0]!);
    const bad = ev(lines(1, 'bad')[0]!);
    bad.fields = { n: 10n };
    const r = await send(d, [good1, bad, good2]);
    assert.equal(r.status, 'reject');
    assert.deepEqual(r.status === 'reject' ? r.events : null, [bad]);
    assert.match(r.status === 'reject' ? r.error : '', /cannot encode as json: .*BigInt/);
    await d.stop();
    await waitFor(() => rx.conns[0]?.ended === true, 'the end');
    assert.deepEqual(lfFrames(rx.bytes()).map((l) => JSON.parse(l).appname), ['good1', 'good2']);
  });

  test('an empty message (a template of an empty field) is rejected, not framed as "0 "', async () => {
    rx.conns.length = 0;
    const d = dest({ url: `tcp://127.0.0.1:${port}`, format: 'template', template: '${MSGID}', framing: 'octet' });
    const empty = ev('<13>1 - h a - - - m');
    const r = await send(d, [ev('<13>1 - h a - ID1 - m'), empty]);
    assert.deepEqual(r, { status: 'reject', error: `tcp://127.0.0.1:${port}: cannot encode as template: the message is empty`, events: [empty] });
    await d.stop();
    await waitFor(() => rx.conns[0]?.ended === true, 'the end');
    assert.deepEqual(octetFrames(rx.bytes()), ['ID1']);
  });

  test('connection refused: retry, naming the URL and ECONNREFUSED', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const d = dest({ url: `tcp://127.0.0.1:${closedPort}` });
    const r = await send(d, [ev(lines(1)[0]!)]);
    assert.equal(r.status, 'retry');
    assert.match(r.status === 'retry' ? r.error : '', new RegExp(`cannot connect to tcp://127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED.*is a receiver listening there`));
    await d.stop();
  });
});

describe('syslog destination: a receiver that stops reading', () => {
  test('the write never completes: retry after send_timeout, never ok; the next attempt reconnects', async () => {
    const rx = new Receiver();
    let stall = true;
    rx.onConnection = (c) => { if (stall) c.socket.pause(); };
    const port = await rx.listen();
    const d = dest({ url: `tcp://127.0.0.1:${port}`, send_timeout: '300ms', framing: 'octet' });
    // Far more than loopback socket buffers hold (a few MiB), so the write cannot finish.
    const big = 'x'.repeat(16 * 1024);
    const events = Array.from({ length: 4096 }, (_, i) => ev(`<134>1 2026-01-02T03:04:05Z h app ${i} - - ${big}`));
    const r = await send(d, events);
    assert.equal(r.status, 'retry', 'a batch the socket did not take is not ok');
    assert.match(r.status === 'retry' ? r.error : '', /tcp:\/\/127\.0\.0\.1:\d+: the receiver did not take the batch within 300 ms \(\d+ of \d+ bytes unsent/);
    assert.equal(d.connected, false, 'the stalled connection was destroyed');
    stall = false;
    const small = lines(2).map(ev);
    assert.deepEqual(await send(d, small), { status: 'ok' });
    assert.equal(d.connects, 2);
    await d.stop();
    await waitFor(() => rx.conns[1]?.ended === true, 'the second connection to end');
    assert.deepEqual(octetFrames(Buffer.concat(rx.conns[1]!.chunks)), lines(2));
    await rx.close();
  });
});

describe('syslog destination: tls', () => {
  let pki: TestPki;
  let dir: string;
  let rx: Receiver;
  let port: number;
  before(async () => {
    dir = tempDir('syslog-dest-tls');
    pki = await makeTestPki(dir);
    // The receiver demands a client certificate from the test CA.
    rx = new Receiver({
      key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert), ca: fs.readFileSync(pki.caCert),
      requestCert: true, rejectUnauthorized: true,
    });
    port = await rx.listen();
  });
  after(async () => { await rx.close(); });

  test('mutual TLS, octet framing by default (RFC 5425); the server sees our client certificate', async () => {
    rx.conns.length = 0;
    // Relative paths resolve against the base directory.
    const d = dest({
      url: `tls://localhost:${port}`, tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client.key' },
    }, dir);
    await d.start();
    const msgs = lines(5);
    assert.deepEqual(await send(d, msgs.map(ev)), { status: 'ok' });
    assert.deepEqual(await send(d, lines(1, 'again').map(ev)), { status: 'ok' });
    await d.stop();
    await waitFor(() => rx.conns[0]?.ended === true, 'the receiver to see the end');
    assert.equal(rx.conns.length, 1);
    assert.equal(rx.conns[0]!.peerCN, 'web-01');
    assert.deepEqual(octetFrames(rx.bytes()), [...msgs, ...lines(1, 'again')]);
  });

  test('an IP address in the URL is checked against the certificate\'s IP SANs', async () => {
    const d = dest({ url: `tls://127.0.0.1:${port}`, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } });
    assert.deepEqual(await send(d, lines(1).map(ev)), { status: 'ok' });
    await d.stop();
  });

  test('server certificate from an untrusted CA: retry with "certificate verify failed"', async () => {
    const before = rx.conns.length;
    const d = dest({ url: `tls://localhost:${port}`, tls: { ca: path.join(dir, 'other-ca.pem'), cert: pki.clientCert, key: pki.clientKey } });
    const r = await send(d, lines(1).map(ev));
    assert.equal(r.status, 'retry');
    assert.match(r.status === 'retry' ? r.error : '', new RegExp(`^cannot connect to tls://localhost:${port}: certificate verify failed: [A-Z_]+: `));
    assert.equal(rx.conns.filter((c, i) => i >= before && c.chunks.length > 0).length, 0, 'nothing was sent');
    await d.stop();
  });

  test('server name mismatch: retry naming the altnames problem', async () => {
    const d = dest({ url: `tls://127.0.0.1:${port}`, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey, servername: 'siem.example.net' } });
    const r = await send(d, lines(1).map(ev));
    assert.equal(r.status, 'retry');
    assert.match(r.status === 'retry' ? r.error : '', /certificate verify failed: ERR_TLS_CERT_ALTNAME_INVALID: Hostname\/IP does not match certificate's altnames: Host: siem\.example\.net/);
    await d.stop();
  });

  test('verify: false connects despite the wrong name (for tests only)', async () => {
    const d = dest({ url: `tls://127.0.0.1:${port}`, tls: { cert: pki.clientCert, key: pki.clientKey, servername: 'siem.example.net', verify: false } });
    assert.deepEqual(await send(d, lines(1).map(ev)), { status: 'ok' });
    await d.stop();
  });

  test('the receiver refuses a client without a certificate: retry, not ok (TLS 1.3 refuses after the handshake)', async () => {
    const errors = rx.errors.length;
    const d = dest({ url: `tls://localhost:${port}`, tls: { ca: pki.caCert } });
    const r = await send(d, lines(1).map(ev));
    assert.equal(r.status, 'retry', JSON.stringify(r));
    assert.match(r.status === 'retry' ? r.error : '', new RegExp(`cannot connect to tls://localhost:${port}: .*(certificate|alert)`, 'i'));
    assert.ok(rx.errors.length > errors, 'the server refused the handshake');
    await d.stop();
  });

  test('a client key that does not match its certificate fails start() as a TLS config error', async () => {
    const d = dest({ url: `tls://localhost:${port}`, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.otherClientKey } });
    await assert.rejects(d.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SLUICE_ERR_TLS_CONFIG');
      assert.match(e.message, new RegExp(`tls://localhost:${port}: the TLS files do not work together: .*key values mismatch`));
      return true;
    });
  });

  test('a receiver that accepts TCP but never speaks TLS: retry after connect_timeout', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => { held.push(sock); sock.on('error', () => {}); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const d = dest({ url: `tls://localhost:${silentPort}`, connect_timeout: '300ms', tls: { ca: pki.caCert } });
    const r = await send(d, lines(1).map(ev));
    assert.equal(r.status, 'retry');
    assert.match(r.status === 'retry' ? r.error : '', new RegExp(`^cannot connect to tls://localhost:${silentPort}: ETIMEDOUT: no TLS session after 300 ms`));
    await d.stop();
    for (const sock of held) sock.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  test('a client certificate from another CA is refused the same way', async () => {
    const d = dest({ url: `tls://localhost:${port}`, tls: { ca: pki.caCert, cert: pki.untrustedClientCert, key: pki.untrustedClientKey } });
    const r = await send(d, lines(1).map(ev));
    assert.equal(r.status, 'retry', JSON.stringify(r));
    await d.stop();
  });
});

describe('syslog destination: udp', () => {
  test('one datagram per message; longer ones cut to max_message_bytes at a UTF-8 boundary', async () => {
    const sock = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    const d = dest({ url: `udp://127.0.0.1:${port}`, max_message_bytes: 100, format: 'rfc3164' });
    const long = ev(`<13>Feb  5 17:32:18 h app: ${'a'.repeat(70)}ééééé`); // 'é' is 2 bytes
    const msgs = [ev('<13>Feb  5 17:32:18 h app: one'), long, ev('<13>Feb  5 17:32:18 h app: three')];
    assert.deepEqual(await send(d, msgs), { status: 'ok' });
    await waitFor(() => got.length === 3, 'three datagrams');
    assert.deepEqual(got.map((g) => g.toString()), [
      '<13>Feb  5 17:32:18 h app: one',
      `<13>Feb  5 17:32:18 h app: ${'a'.repeat(70)}é`, // 97 bytes, then é at 97-98 and 99-100: the cut at 100 would split the second
      '<13>Feb  5 17:32:18 h app: three',
    ]);
    assert.ok(got[1]!.length <= 100);
    await d.stop();
    await new Promise<void>((r) => sock.close(() => r()));
  });
});
