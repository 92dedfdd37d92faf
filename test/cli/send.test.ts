// `sluice send` against real receivers on loopback: counts, seq coverage, sizes, framing, formats, TLS, failures.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { before, describe, test } from 'node:test';
import { freePort } from '../helpers/daemon.js';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../../src/errors.js';
import { SendError, formatSummary, send, type SendOptions, type SendReport } from '../../src/cli/send/index.js';
import { fingerprint256, makeTestPki, type TestPki } from '../helpers/certs.js';
import { tempDir } from '../helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin', 'sluice.js');

function opts(o: Partial<SendOptions> = {}): SendOptions {
  return { count: 100, rate: 0, size: 0, format: 'rfc5424', connections: 1, ...o };
}

// ---- receivers: each keeps the raw bytes of every connection ----

interface Receiver {
  url: string;
  /** Raw bytes per connection, in arrival order. */
  conns: Buffer[][];
  /** Per connection, anything the receiver learnt about the peer (TLS identity). */
  peers: string[];
  close(): Promise<void>;
}

function collectStream(server: net.Server, conns: Buffer[][]): void {
  const onConn = (s: net.Socket): void => {
    const chunks: Buffer[] = [];
    conns.push(chunks);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
  };
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', onConn);
}

async function listen(server: net.Server, where: number | string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, resolve);
    else server.listen(where, '127.0.0.1', resolve);
  });
}

function closer(server: net.Server): () => Promise<void> {
  return () => new Promise((resolve) => server.close(() => resolve()));
}

async function tcpReceiver(): Promise<Receiver> {
  const conns: Buffer[][] = [];
  const server = net.createServer();
  collectStream(server, conns);
  await listen(server, 0);
  const port = (server.address() as net.AddressInfo).port;
  return { url: `tcp://127.0.0.1:${port}`, conns, peers: [], close: closer(server) };
}

async function unixReceiver(socketPath: string): Promise<Receiver> {
  const conns: Buffer[][] = [];
  const server = net.createServer();
  collectStream(server, conns);
  await listen(server, socketPath);
  return { url: `unix://${socketPath}`, conns, peers: [], close: closer(server) };
}

async function tlsReceiver(pki: TestPki, clientAuth = false): Promise<Receiver> {
  const conns: Buffer[][] = [];
  const peers: string[] = [];
  const server = tls.createServer({
    key: readFileSync(pki.serverKey),
    cert: readFileSync(pki.serverCert),
    ...(clientAuth ? { ca: readFileSync(pki.caCert), requestCert: true, rejectUnauthorized: true } : {}),
  });
  server.on('secureConnection', (s: tls.TLSSocket) => {
    const cert = s.getPeerCertificate();
    peers.push(cert && cert.subject ? `CN=${cert.subject.CN},O=${cert.subject.O}` : '');
  });
  server.on('tlsClientError', () => {});
  collectStream(server, conns);
  await listen(server, 0);
  const port = (server.address() as net.AddressInfo).port;
  return { url: `tls://127.0.0.1:${port}`, conns, peers, close: closer(server) };
}

async function udpReceiver(): Promise<{ url: string; datagrams: Buffer[]; close(): Promise<void> }> {
  const sock = createSocket('udp4');
  const datagrams: Buffer[] = [];
  sock.on('message', (m) => datagrams.push(m));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  sock.setRecvBufferSize(4 * 1024 * 1024);
  return {
    url: `udp://127.0.0.1:${sock.address().port}`,
    datagrams,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}


// ---- strict framing parsers: a frame that does not parse fails the test ----

function splitLf(buf: Buffer): Buffer[] {
  assert.equal(buf.length === 0 || buf[buf.length - 1] === 0x0a, true, 'stream must end with LF');
  const out: Buffer[] = [];
  for (let p = 0; p < buf.length; ) {
    const i = buf.indexOf(0x0a, p);
    out.push(buf.subarray(p, i));
    p = i + 1;
  }
  return out;
}

function splitOctet(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < buf.length; ) {
    const sp = buf.indexOf(0x20, p);
    const len = buf.toString('latin1', p, sp);
    assert.match(len, /^[1-9]\d*$/, `octet count at byte ${p}`);
    const end = sp + 1 + Number(len);
    assert.ok(end <= buf.length, `frame at byte ${p} runs past the end of the stream`);
    out.push(buf.subarray(sp + 1, end));
    p = end;
  }
  return out;
}

/** Checks that the messages carry seq 0..count-1 exactly once each, all of one run; returns the texts. */
function checkSeqs(messages: string[], count: number, runId?: string): void {
  assert.equal(messages.length, count, 'message count');
  const seen = new Uint8Array(count);
  const runs = new Set<string>();
  for (const m of messages) {
    const r = / seq=(\d+) run=([A-Za-z0-9._-]+)/.exec(m);
    assert.ok(r, `no seq=N run=ID in ${JSON.stringify(m)}`);
    const seq = Number(r[1]);
    assert.ok(seq >= 0 && seq < count, `seq ${seq} out of range`);
    assert.equal(seen[seq], 0, `seq ${seq} twice`);
    seen[seq] = 1;
    runs.add(r[2]!);
  }
  assert.equal(runs.size, 1, 'one run id');
  if (runId) assert.deepEqual([...runs], [runId]);
}

const RFC5424 =
  /^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\S+) \d+ - \[sluice@32473 seq="(\d+)" run="(\w+)"\] seq=(\d+) run=(\w+)(?: (.*))?$/s;
const RFC3164 = /^<(\d+)>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d\d:\d\d:\d\d (\S+) (\S+)\[\d+\]: seq=(\d+) run=([\w.-]+)(?: (.*))?$/s;

const all = (r: Receiver): Buffer => Buffer.concat(r.conns.flat());

describe('sluice send', () => {
  let dir: string;
  let pki: TestPki;

  before(async () => {
    dir = tempDir('send');
    pki = await makeTestPki(dir);
  });

  test('tcp: rfc5424 over lf framing, every seq once, the shape of RFC 5424', async () => {
    const rx = await tcpReceiver();
    try {
      const report = await send(rx.url, opts({ count: 20_000, hostname: 'gen-01', appname: 'loadgen' }));
      assert.equal(report.sent, 20_000);
      assert.equal(report.errors, 0);
      assert.match(report.runId, /^[0-9a-f]{8}$/);
      const raw = all(rx);
      assert.equal(report.bytes, raw.length);
      const msgs = splitLf(raw).map((b) => b.toString('utf8'));
      checkSeqs(msgs, 20_000, report.runId);
      for (const m of msgs.slice(0, 50)) {
        const r = RFC5424.exec(m);
        assert.ok(r, m);
        assert.equal(r[1], '14'); // user.info
        assert.equal(r[2], 'gen-01');
        assert.equal(r[3], 'loadgen');
        assert.equal(r[4], r[6], 'SD seq equals text seq');
        assert.equal(r[5], report.runId);
      }
    } finally {
      await rx.close();
    }
  });

  test('tcp: rfc3164 with octet framing, facility, severity, message and run id', async () => {
    const rx = await tcpReceiver();
    try {
      const report = await send(
        rx.url,
        opts({ count: 3000, format: 'rfc3164', framing: 'octet', facility: 4, severity: 3, message: 'héllo there', runId: 'run-42' }),
      );
      const msgs = splitOctet(all(rx)).map((b) => b.toString('utf8'));
      checkSeqs(msgs, 3000, 'run-42');
      assert.equal(report.runId, 'run-42');
      for (const m of msgs.slice(0, 50)) {
        const r = RFC3164.exec(m);
        assert.ok(r, m);
        assert.equal(r[1], String(4 * 8 + 3));
        assert.equal(r[4], 'sluice-send');
        assert.equal(r[7], 'héllo there');
      }
    } finally {
      await rx.close();
    }
  });

  test('--size: exact bytes per message, counted with the LF for lf framing and as the octet count for octet framing', async () => {
    const rx = await tcpReceiver();
    try {
      for (const format of ['rfc5424', 'rfc3164'] as const) {
        // The unpadded size, then sizes around it: one byte of padding is the edge case.
        rx.conns.length = 0;
        await send(rx.url, opts({ count: 500, format, message: 'm' }));
        const natural = all(rx).length / 500;
        assert.ok(Number.isInteger(natural), 'all messages of a run have one length');
        for (const size of [natural, natural + 1, natural + 2, 256, 4096]) {
          rx.conns.length = 0;
          const report = await send(rx.url, opts({ count: 500, size, format, message: 'm' }));
          const raw = all(rx);
          assert.equal(raw.length, 500 * size, `lf ${format} size ${size}`);
          assert.equal(report.bytes, 500 * size);
          const msgs = splitLf(raw);
          assert.ok(msgs.every((b) => b.length + 1 === size), `every lf message ${size} bytes incl. LF`);
          checkSeqs(msgs.map(String), 500);

          rx.conns.length = 0;
          await send(rx.url, opts({ count: 500, size, format, framing: 'octet', message: 'm' }));
          const frames = splitOctet(all(rx));
          assert.ok(frames.every((b) => b.length === size), `every octet frame counts ${size}`);
          checkSeqs(frames.map(String), 500);
        }
        await assert.rejects(send(rx.url, opts({ count: 500, format, size: natural - 1, message: 'm' })), (e: unknown) => {
          assert.ok(e instanceof SluiceError);
          assert.equal(e.code, 'SLUICE_ERR_USAGE');
          assert.match(e.message, /--size/);
          return true;
        });
      }
    } finally {
      await rx.close();
    }
  });

  test('--connections spreads one run over parallel connections, seqs unique across them', async () => {
    const rx = await tcpReceiver();
    try {
      const report = await send(rx.url, opts({ count: 50_000, connections: 4, size: 200 }));
      assert.equal(report.sent, 50_000);
      assert.equal(rx.conns.length, 4);
      const msgs = rx.conns.flatMap((c) => splitLf(Buffer.concat(c)).map(String));
      checkSeqs(msgs, 50_000, report.runId);
    } finally {
      await rx.close();
    }
  });

  test('udp: one message per datagram, --size is the datagram size', async () => {
    const rx = await udpReceiver();
    try {
      // Paced so that the kernel's receive buffer cannot overflow on a busy machine.
      const report = await send(rx.url, opts({ count: 500, rate: 5000, size: 300 }));
      assert.equal(report.sent, 500);
      const deadline = Date.now() + 5000;
      while (rx.datagrams.length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(rx.datagrams.every((d) => d.length === 300 && d[d.length - 1] !== 0x0a), 'bare 300-byte datagrams');
      checkSeqs(rx.datagrams.map(String), 500, report.runId);
      assert.ok(RFC5424.test(rx.datagrams[0]!.toString()));
      await assert.rejects(send(rx.url, opts({ framing: 'octet' })), /--framing octet does not apply to udp/);
    } finally {
      await rx.close();
    }
  });

  test('unix: a local stream socket', async () => {
    const rx = await unixReceiver(path.join(dir, 'sluice.sock'));
    try {
      const report = await send(rx.url, opts({ count: 10_000, format: 'rfc3164' }));
      const msgs = splitLf(all(rx)).map(String);
      checkSeqs(msgs, 10_000, report.runId);
      assert.ok(RFC3164.test(msgs[0]!));
    } finally {
      await rx.close();
    }
  });

  test('tls: verifies the server against --ca, octet framing by default, nothing lost at close', async () => {
    const rx = await tlsReceiver(pki);
    try {
      const report = await send(rx.url, opts({ count: 100_000, size: 256, ca: pki.caCert }));
      assert.equal(report.errors, 0);
      const frames = splitOctet(all(rx));
      assert.ok(frames.every((f) => f.length === 256));
      checkSeqs(frames.map(String), 100_000, report.runId);
      // By name: SNI and verification against DNS:localhost.
      rx.conns.length = 0;
      await send(rx.url.replace('127.0.0.1', 'localhost'), opts({ count: 10, ca: pki.caCert, framing: 'lf' }));
      checkSeqs(splitLf(all(rx)).map(String), 10);
    } finally {
      await rx.close();
    }
  });

  test('tls: a client certificate for a receiver that requires one', async () => {
    const rx = await tlsReceiver(pki, true);
    try {
      const report = await send(rx.url, opts({ count: 5000, ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey }));
      checkSeqs(splitOctet(all(rx)).map(String), 5000, report.runId);
      assert.deepEqual(rx.peers, ['CN=web-01,O=sluice-test']);
    } finally {
      await rx.close();
    }
  });

  test('tls: an unverifiable server, and a client certificate the receiver refuses, fail the run', async () => {
    const rx = await tlsReceiver(pki, true);
    try {
      // No --ca: the test CA is not among the system CAs.
      await assert.rejects(send(rx.url, opts({ cert: pki.clientCert, key: pki.clientKey })), (e: unknown) => {
        assert.ok(e instanceof SendError, String(e));
        assert.equal(e.code, 'SLUICE_ERR_SEND_CONNECT');
        assert.ok(e.message.includes(rx.url), e.message);
        assert.match(e.message, /certificate verify failed/);
        assert.equal(e.report?.sent, 0);
        assert.ok((e.report?.errors ?? 0) > 0);
        return true;
      });
      // A wrong name is a verify failure too.
      await assert.rejects(send(rx.url, opts({ ca: pki.caCert, servername: 'not-this-host.example', cert: pki.clientCert, key: pki.clientKey })), (e: unknown) => {
        assert.ok(e instanceof SendError);
        assert.match(e.message, /certificate verify failed/);
        return true;
      });
      // Signed by an unrelated CA: the receiver aborts the session (in TLS 1.3 after our handshake completed).
      await assert.rejects(send(rx.url, opts({ count: 1000, ca: pki.caCert, cert: pki.untrustedClientCert, key: pki.untrustedClientKey })), (e: unknown) => {
        assert.ok(e instanceof SendError, String(e));
        assert.ok(e.message.includes(rx.url), e.message);
        assert.match(e.message, /client certificate|refused the TLS session/);
        return true;
      });
      // --insecure skips the server check; the client certificate is still needed and checked.
      rx.conns.length = 0;
      await send(rx.url, opts({ count: 10, insecure: true, cert: pki.otherClientCert, key: pki.otherClientKey }));
      checkSeqs(splitOctet(all(rx)).map(String), 10);
      assert.equal(rx.peers.at(-1), 'CN=db-01,O=sluice-test');
    } finally {
      await rx.close();
    }
  });

  test('connection refused: a clear error naming the URL and ECONNREFUSED, nothing sent', async () => {
    const port = await freePort();
    for (const scheme of ['tcp', 'tls']) {
      const url = `${scheme}://127.0.0.1:${port}`;
      await assert.rejects(send(url, opts({ connections: 3 })), (e: unknown) => {
        assert.ok(e instanceof SendError);
        assert.equal(e.code, 'SLUICE_ERR_SEND_CONNECT');
        assert.match(e.message, new RegExp(`cannot connect to ${url}: .*ECONNREFUSED`));
        assert.equal(e.report?.sent, 0);
        return true;
      });
    }
  });

  test('a receiver that hangs up mid-run breaks the run with an error', async () => {
    const server = net.createServer((s) => s.once('data', () => s.destroy()));
    await listen(server, 0);
    const url = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      await assert.rejects(send(url, opts({ count: 5_000_000, size: 256 })), (e: unknown) => {
        assert.ok(e instanceof SendError, String(e));
        assert.equal(e.code, 'SLUICE_ERR_SEND_BROKEN');
        assert.ok(e.message.includes(url), e.message);
        assert.ok((e.report?.sent ?? 0) < 5_000_000);
        return true;
      });
    } finally {
      await closer(server)();
    }
  });

  test('--rate paces by schedule and --duration bounds an unlimited count', async () => {
    const rx = await tcpReceiver();
    try {
      const ticks: number[] = [];
      const report = await send(rx.url, opts({ count: 0, rate: 200, durationMs: 1500 }), (sent) => ticks.push(sent));
      // Loose bounds only: about 300 are due; far fewer than an unpaced sender's millions.
      assert.ok(report.sent > 0 && report.sent < 10_000, `sent ${report.sent}`);
      assert.ok(ticks.length >= 1, 'progress reported once a second');
      checkSeqs(splitLf(all(rx)).map(String), report.sent, report.runId);
    } finally {
      await rx.close();
    }
  });

  test('bad usage is refused before connecting', async () => {
    const bad: Array<[string, Partial<SendOptions>, RegExp]> = [
      ['http://127.0.0.1:80', {}, /unsupported scheme/],
      ['tcp://127.0.0.1', {}, /host:port/],
      ['unix://relative/path', {}, /absolute/],
      ['tcp://127.0.0.1:1', { count: 0 }, /--duration/],
      ['tcp://127.0.0.1:1', { connections: 0 }, /--connections/],
      ['tcp://127.0.0.1:1', { runId: 'a b' }, /--run-id/],
      ['tcp://127.0.0.1:1', { hostname: 'two words' }, /--hostname/],
      ['tls://127.0.0.1:1', { ca: '/nonexistent/ca.pem' }, /--ca \/nonexistent\/ca.pem: cannot read/],
      ['tls://127.0.0.1:1', { cert: pki.clientCert }, /--cert and --key/],
      ['tls://127.0.0.1:1', { cert: pki.clientCert, key: pki.otherClientKey }, /--cert .*--key .*key values mismatch/],
      ['tls://127.0.0.1:1', { ca: pki.caKey }, /--ca .*no PEM certificate/],
    ];
    for (const [url, o, re] of bad) {
      await assert.rejects(send(url, opts(o)), (e: unknown) => {
        assert.ok(e instanceof SluiceError, `${url} ${JSON.stringify(o)}: ${String(e)}`);
        assert.match(e.message, re);
        return true;
      });
    }
  });

  test('the summary line', () => {
    const r: SendReport = { sent: 1_000_000, errors: 0, elapsedMs: 2000, rate: 500_000, bytes: 256_000_000, runId: 'x' };
    assert.equal(
      formatSummary('tcp://127.0.0.1:5140', r),
      'sent 1000000 messages (256000000 bytes) to tcp://127.0.0.1:5140 in 2.000 s: 500000 msg/s, 128.00 MB/s',
    );
  });

  // The command mounted on a bare program and through bin/sluice.js, each in a child process so that
  // exit codes and stderr are real.
  const SEND_MODULE = path.join(ROOT, 'dist', 'src', 'cli', 'send', 'index.js');
  const STANDALONE = [
    '--input-type=module',
    '-e',
    `import { Command } from 'commander';
     const { registerSendCommand } = await import(${JSON.stringify(SEND_MODULE)});
     const program = new Command().name('sluice');
     registerSendCommand(program);
     await program.parseAsync(process.argv.slice(1), { from: 'user' });`,
    '--',
  ];
  const entries: Array<[string, string[]]> = [
    ['registerSendCommand', STANDALONE],
    ['bin/sluice.js', [BIN]],
  ];
  for (const [name, entry] of entries) {
    describe(`the command through ${name}`, () => {
      before(async () => {
        assert.match((await runCli(entry, ['send', '--help'])).stdout, /load generator/, `${name} has the send verb`);
      });

      test('exit 0 and the summary as the last stderr line', async () => {
        const rx = await tcpReceiver();
        try {
          const r = await runCli(entry, ['send', rx.url, '-n', '1000', '-s', '256', '--hostname', 'cli-test', '--no-progress', '--facility', 'local0', '--severity', 'err']);
          assert.equal(r.code, 0, r.stderr);
          const last = r.stderr.trimEnd().split('\n').at(-1)!;
          assert.match(last, new RegExp(`^sent 1000 messages \\(256000 bytes\\) to ${rx.url} in [\\d.]+ s: \\d+ msg/s, [\\d.]+ MB/s$`));
          const msgs = splitLf(all(rx)).map(String);
          checkSeqs(msgs, 1000);
          assert.ok(msgs.every((m) => m.startsWith(`<${16 * 8 + 3}>1 `)));
        } finally {
          await rx.close();
        }
      });

      test('non-zero exit and the error when nothing listens; usage errors', async () => {
        const url = `tcp://127.0.0.1:${await freePort()}`;
        const r = await runCli(entry, ['send', url, '-n', '10']);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, new RegExp(`SLUICE_ERR_SEND_CONNECT: cannot connect to ${url}: .*ECONNREFUSED`));
        assert.match(r.stderr.trimEnd().split('\n').at(-1)!, /^sent 0 messages/);
        const u = await runCli(entry, ['send', url, '--count', 'many']);
        assert.notEqual(u.code, 0);
        assert.match(u.stderr, /--count/);
      });
    });
  }

  describe('test PKI helper', () => {
    test('certificates with the subjects, names and issuers the TLS tests rely on', () => {
      const ca = new X509Certificate(readFileSync(pki.caCert));
      const server = new X509Certificate(readFileSync(pki.serverCert));
      const client = new X509Certificate(readFileSync(pki.clientCert));
      const other = new X509Certificate(readFileSync(pki.otherClientCert));
      const untrusted = new X509Certificate(readFileSync(pki.untrustedClientCert));
      assert.ok(ca.ca);
      assert.ok(!server.ca && !client.ca);
      assert.equal(server.checkHost('localhost'), 'localhost');
      assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(server.checkIP('::1'), '::1');
      assert.match(client.subject, /^O=sluice-test\nCN=web-01$/);
      assert.match(other.subject, /^O=sluice-test\nCN=db-01$/);
      for (const c of [server, client, other]) assert.ok(c.verify(ca.publicKey), c.subject);
      assert.ok(!untrusted.verify(ca.publicKey));
      const days = (Date.parse(server.validTo) - Date.now()) / 86_400_000;
      assert.ok(days > 1 && days <= 2, `valid for ${days} days`);
      assert.match(fingerprint256(pki.caCert), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(fingerprint256(pki.clientCert), client.fingerprint256);
    });
  });
});

function runCli(entry: string[], args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
