// The daemon path TCP in -> syslog/TLS out, with rsyslog (imtcp + GnuTLS, mutual TLS) as the SIEM-side receiver.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { SyslogDestination, syslogDestinationSchema } from '../../src/destinations/syslog/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent } from '../../src/event/log-event.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { endpoint, startPipeline, freePort } from '../helpers/daemon.js';
import { findRsyslogd, havePeer, type Rsyslog } from '../helpers/peers.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const RSYSLOG = findRsyslogd();
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const T = { timeout: 60_000 };


/** rsyslogd in the foreground: TLS (gtls, mode 1) on two ports, client certificates required and named; raw messages to files. */
class RsyslogTls {
  proc: ChildProcess | null = null;
  stderr = '';
  exited = false;
  constructor(readonly rs: Rsyslog, readonly dir: string, readonly pki: TestPki, readonly ports: { rfc5424: number; cef: number }) {}

  out(name: string): string {
    return path.join(this.dir, `${name}.out`);
  }

  async start(): Promise<void> {
    const conf = path.join(this.dir, 'rsyslog.conf');
    fs.mkdirSync(path.join(this.dir, 'work'), { recursive: true });
    fs.writeFileSync(conf, `
global(workDirectory="${this.dir}/work" maxMessageSize="64k"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="${this.pki.caCert}"
       DefaultNetstreamDriverCertFile="${this.pki.serverCert}"
       DefaultNetstreamDriverKeyFile="${this.pki.serverKey}")
# Mutual TLS: the client must present a certificate from our CA whose name is web-01.
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/name" PermittedPeer=["web-01"])
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="rfc5424") { action(type="omfile" file="${this.out('rfc5424')}" template="raw") }
ruleset(name="cef") { action(type="omfile" file="${this.out('cef')}" template="raw") }
input(type="imtcp" address="127.0.0.1" port="${this.ports.rfc5424}" ruleset="rfc5424")
input(type="imtcp" address="127.0.0.1" port="${this.ports.cef}" ruleset="cef")
`);
    const p = spawn(this.rs.bin, ['-n', '-M', this.rs.moddir, '-f', conf, '-i', path.join(this.dir, 'rsyslogd.pid')], {
      env: { ...process.env, ...this.rs.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = p;
    p.stdout!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    p.on('exit', () => { this.exited = true; });
    // Ready when both ports accept connections (a bare connect, closed at once).
    for (const port of [this.ports.rfc5424, this.ports.cef]) {
      await waitFor(async () => {
        if (this.exited) throw new Error(`rsyslogd exited at start:\n${this.stderr}`);
        return new Promise<boolean>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
          s.on('error', () => resolve(false));
        });
      }, `rsyslogd listening on ${port}`, 15_000, 100);
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || this.exited) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

function sendTcp(port: number, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(data));
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

describe('sluice -> rsyslog over TLS (RFC 5425), mutual TLS with a named client certificate', () => {
  let dir: string;
  let pki: TestPki;
  let rsyslog: RsyslogTls | null = null;
  let pipeline: Pipeline | null = null;

  before(async () => {
    if (!RSYSLOG) return;
    dir = tempDir('siem-tls');
    pki = await makeTestPki(dir);
    rsyslog = new RsyslogTls(RSYSLOG, dir, pki, { rfc5424: await freePort(), cef: await freePort() });
    await rsyslog.start();
    pipeline = await startPipeline(`
api: false
data_dir: ./state
sources:
  net:
    type: syslog
    listen: [tcp://127.0.0.1:0]
destinations:
  siem:
    type: syslog
    url: tls://localhost:${rsyslog.ports.rfc5424}
    tls: { ca: ca.pem, cert: client.pem, key: client.key }
  arcsight:
    type: syslog
    url: tls://127.0.0.1:${rsyslog.ports.cef}
    format: cef
    vendor: Example
    product: Relay
    version: "1.0"
    tls: { ca: ca.pem, cert: client.pem, key: client.key, servername: localhost }
log:
  - { from: net, to: [siem, arcsight] }
`, dir);
  });

  after(async () => {
    await pipeline?.stop();
    await rsyslog?.stop();
  });

  it('RFC 5424 messages arrive in rsyslog byte for byte; CEF lines carry header and extension', T, async (t: TestContext) => {
    if (!havePeer(t, 'rsyslogd', RSYSLOG)) return;
    const n = 200;
    const sent = Array.from({ length: n }, (_, i) =>
      `<${i % 2 ? 38 : 134}>1 2026-03-01T12:00:00.${String(i).padStart(3, '0')}Z web-${i % 4}.example.net app-${i % 3} ${4000 + i} ID${i % 5} ` +
      `[meta@32473 seq="${i}" run="${RUN}" quote="a \\"b\\" \\] c"] run=${RUN} seq=${i} ünïcödé text with = and | and \\ inside`);
    const src = endpoint(pipeline!, 'net', 'tcp');
    // Two senders, so the destination batches what several connections delivered.
    await Promise.all([
      sendTcp(src.port, sent.slice(0, n / 2).join('\n') + '\n'),
      sendTcp(src.port, sent.slice(n / 2).join('\n') + '\n'),
    ]);
    const file = rsyslog!.out('rfc5424');
    await waitFor(() => readLines(file).length >= n, `${n} lines in rsyslog's output (has ${readLines(file).length}; rsyslog says: ${rsyslog!.stderr})`, 30_000);
    const got = readLines(file);
    assert.equal(got.length, n, 'no duplicates');
    assert.deepEqual([...got].sort(), [...sent].sort(), 'every message as sent');
    // One connection's messages keep their order.
    const firstHalf = got.filter((l) => sent.slice(0, n / 2).includes(l));
    assert.deepEqual(firstHalf, sent.slice(0, n / 2));

    const cefFile = rsyslog!.out('cef');
    await waitFor(() => readLines(cefFile).length >= n, `${n} CEF lines in rsyslog's output`, 30_000);
    const cef = readLines(cefFile);
    assert.equal(cef.length, n);
    const i = 7;
    const line = cef.find((l) => l.includes(` seq=${i} `));
    assert.ok(line, `CEF line for seq=${i}`);
    // rsyslog's rawmsg is the whole frame: the RFC 3164 header, then CEF.
    const ms = Date.parse(`2026-03-01T12:00:00.${String(i).padStart(3, '0')}Z`);
    assert.match(line, new RegExp(`^<38>[A-Z][a-z]{2} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} web-3\\.example\\.net CEF:0\\|Example\\|Relay\\|1\\.0\\|ID2\\|run=${RUN} seq=7 ünïcödé text with = and \\\\\\| and \\\\\\\\ inside\\|3\\|`));
    assert.ok(line.endsWith(`|3|rt=${ms} dvchost=web-3.example.net dproc=app-1 dvcpid=4007 src=127.0.0.1 msg=run\\=${RUN} seq\\=7 ünïcödé text with \\= and | and \\\\ inside`), line);
  });

  it('rsyslog refuses a certificate whose name is not permitted (or none): retry, never ok', T, async (t: TestContext) => {
    if (!havePeer(t, 'rsyslogd', RSYSLOG)) return;
    const before = readLines(rsyslog!.out('rfc5424')).length;
    for (const creds of [{ cert: pki.otherClientCert, key: pki.otherClientKey }, {}]) {
      const d = new SyslogDestination(syslogDestinationSchema.parse({
        type: 'syslog', url: `tls://localhost:${rsyslog!.ports.rfc5424}`, tls: { ca: pki.caCert, ...creds },
      }), { name: 'refused' });
      await d.start();
      const ev = LogEvent.fromValues({ name: 't', transport: 'internal', address: null, port: null, tlsPeer: null }, Date.now(), { message: `refused run=${RUN}` });
      const r = await new Promise<SendResult>((resolve) => d.send([ev], resolve));
      assert.equal(r.status, 'retry', `${JSON.stringify(creds)}: ${JSON.stringify(r)}`);
      assert.match(r.status === 'retry' ? r.error : '', /^cannot connect to tls:\/\/localhost:\d+: the receiver closed the connection during the TLS handshake/);
      await d.stop();
    }
    assert.equal(readLines(rsyslog!.out('rfc5424')).filter((l) => l.includes('refused run=')).length, 0);
    assert.equal(readLines(rsyslog!.out('rfc5424')).length, before);
  });
});
