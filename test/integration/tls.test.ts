// Interop over TLS (RFC 5425): openssl s_client, client-certificate policy, rsyslog omfwd/gtls and loggen into sluice.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { tls13SendsTickets } from '../../src/net/tls-server.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { fingerprint256, makeTestPki, type TestPki } from '../helpers/certs.js';
import { type Endpoint, endpoint, freeUdpPort, REPO, type SluiceProcess, spawnSluice, startPipeline, writeConfig } from '../helpers/daemon.js';
import { findCommand, findRsyslogd, findSyslogNg, havePeer } from '../helpers/peers.js';
import { readLines, sleep, tempDir, waitFor } from '../helpers/wait.js';

const OPENSSL = findCommand('openssl');
const LOGGER = findCommand('logger');
const RSYSLOG = findRsyslogd();
const LOGGEN = findSyslogNg()?.loggen ?? findCommand('loggen');
const LOGGEN_ENV = findSyslogNg()?.env ?? {};
const SHORT_HOST = os.hostname().split('.')[0]!;
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const LOGGEN_COUNT = 20_000;

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs a command to its end (SIGKILL after timeoutMs), feeding `input` on stdin and closing it. */
function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.on('error', () => {}); // a refused client may exit before reading all of stdin
    child.stdin.end(opts.input ?? '');
  });
}

interface ClientCert { cert: string; key: string }

/** openssl s_client: handshake, send `input`, close on stdin EOF (-no_ign_eof undoes -quiet's -ign_eof). */
function sClient(ep: Endpoint, pki: TestPki, input: string, cert?: ClientCert, extra: string[] = []): Promise<Result> {
  const args = ['s_client', '-connect', `${ep.host}:${ep.port}`, '-CAfile', pki.caCert, '-verify_return_error', '-quiet', '-no_ign_eof', ...extra];
  if (cert) args.push('-cert', cert.cert, '-key', cert.key);
  return run(OPENSSL!, args, { input });
}

/** An RFC 5424 message; `text` is its MSG. */
function rfc5424(text: string): string {
  return `<134>1 2026-01-02T03:04:05.000Z tls-host tlsapp - - - ${text}`;
}

function octetFrame(msg: string): string {
  return `${Buffer.byteLength(msg)} ${msg}`;
}

/** Octet-counted frames first, then newline-framed lines, on one stream. */
function mixedStream(texts: string[]): string {
  const half = Math.ceil(texts.length / 2);
  return texts.slice(0, half).map((t) => octetFrame(rfc5424(t))).join('') + texts.slice(half).map((t) => rfc5424(t) + '\n').join('');
}

/** Stops a child by PID: SIGTERM, then SIGKILL after 10 s. */
async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
}

/** As SluiceProcess.stop(), but without leaving a referenced 15 s timer behind. */
async function stopSluice(p: SluiceProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signal !== null) return;
  p.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.wait(), new Promise((r) => { timer = setTimeout(r, 15_000); })]);
  clearTimeout(timer);
  if (p.exitCode === null && p.signal === null) await p.kill9();
}

/** The protocol s_client -brief reports ("Protocol version: TLSv1.3"). */
async function negotiatedProtocol(ep: Endpoint, pki: TestPki): Promise<string> {
  const r = await run(OPENSSL!, ['s_client', '-brief', '-no_ign_eof', '-connect', `${ep.host}:${ep.port}`, '-CAfile', pki.caCert]);
  const m = /Protocol version: (\S+)/.exec(r.stdout + r.stderr);
  assert.ok(m, `s_client -brief should print the protocol version:\n${r.stdout}${r.stderr}`);
  return m[1]!;
}

/** loggen over TLS; resolves with its output once it ends. */
function runLoggen(ep: Endpoint, count = LOGGEN_COUNT, rate = 100_000): Promise<Result> {
  return run(LOGGEN!, ['-U', '-P', '-s', '256', '-r', String(rate), '-n', String(count), '-I', '30', ep.host, String(ep.port)],
    { timeoutMs: 45_000, env: LOGGEN_ENV });
}

/**
 * Lines of `file` once it has `n` of them, or once the count has stopped growing for 2 s
 * (whatever is missing then is lost, not late); bounded by timeoutMs. Then a short grace
 * so that extra lines (duplicates) would show too.
 */
async function settledLines(file: string, n: number, timeoutMs = 30_000): Promise<string[]> {
  let last = -1;
  let since = Date.now();
  await waitFor(() => {
    const c = readLines(file).length;
    if (c !== last) { last = c; since = Date.now(); }
    return c >= n || Date.now() - since > 2000;
  }, `${n} lines in ${file} (or no growth for 2 s)`, timeoutMs);
  await sleep(200);
  return readLines(file);
}

/** Checks loggen's lines: the count and that every sequence number is there once. */
function checkLoggenLines(lines: string[], what: string): void {
  assert.equal(lines.length, LOGGEN_COUNT, `${what}: all ${LOGGEN_COUNT} loggen messages should be written, got ${lines.length}`);
  const seqs = new Set(lines.map((l) => /seq: (\d+)/.exec(l)?.[1]).filter((s) => s !== undefined).map(Number));
  assert.equal(seqs.size, LOGGEN_COUNT, `${what}: ${LOGGEN_COUNT} distinct loggen seq numbers expected, got ${seqs.size}`);
}

describe('TLS listeners (in-process pipeline, test PKI)', () => {
  let dir: string;
  let pki: TestPki;
  let pipeline: Pipeline | null = null;
  let web: ClientCert;
  let db: ClientCert;
  let untrusted: ClientCert;

  before(async () => {
    dir = tempDir('tls');
    if (!OPENSSL) return; // every test skips (or fails under SLUICE_REQUIRE_ALL) on its own
    pki = await makeTestPki(dir);
    web = { cert: pki.clientCert, key: pki.clientKey };
    db = { cert: pki.otherClientCert, key: pki.otherClientKey };
    untrusted = { cert: pki.untrustedClientCert, key: pki.untrustedClientKey };
    const tls = (extra: string) => `{ cert: "${pki.serverCert}", key: "${pki.serverKey}", ca: "${pki.caCert}"${extra} }`;
    pipeline = await startPipeline(`
api: false
data_dir: ./state
sources:
  open: { type: syslog, listen: [tls://127.0.0.1:0], tls: ${tls(', client_auth: optional')} }
  net:  { type: syslog, listen: [tls://127.0.0.1:0], tls: ${tls(', client_auth: required, allow_subjects: ["CN=web-*"]')} }
  fp:   { type: syslog, listen: [tls://127.0.0.1:0], tls: ${tls(`, client_auth: required, allow_fingerprints: ["${fingerprint256(pki.otherClientCert)}"]`)} }
  rs:   { type: syslog, listen: [tls://127.0.0.1:0], tls: ${tls(', client_auth: required, allow_subjects: ["CN=web-*"]')} }
  lg:   { type: syslog, listen: [tls://127.0.0.1:0], tls: ${tls('')} }
destinations:
  peer: { type: file, path: "peer/\${SOURCE}.log", template: "\${TLS_PEER} \${MSG}\\n" }
  meta: { type: file, path: "meta/\${SOURCE}.log", template: "\${TRANSPORT} \${SOURCEIP} \${MSG}\\n" }
  rsyslog: { type: file, path: "rsyslog.log", template: "\${TLS_PEER}|\${TRANSPORT}|\${HOST}|\${PROGRAM}|\${PID}|\${MSGID}|\${MSG}\\n" }
  loggen: { type: file, path: "loggen.log", template: "\${MSG}\\n" }
log:
  - { from: [open, net, fp], to: [peer, meta] }
  - { from: rs, to: rsyslog }
  - { from: lg, to: loggen }
`, dir);
  });

  after(async () => {
    await pipeline?.stop();
  });

  const peerLines = (source: string) => readLines(path.join(dir, 'peer', `${source}.log`));
  const refused = (source: string, reason: string) =>
    pipeline!.metrics.value('sluice_connections_refused_total', { component: source, reason });

  /** Waits until every text is in peer/<source>.log; returns its TLS_PEER (the text before the message). */
  async function arrived(source: string, texts: string[]): Promise<Map<string, string>> {
    const rendered = (t: string) => peerLines(source).find((l) => l.endsWith(' ' + t));
    await waitFor(() => texts.every((t) => rendered(t) !== undefined), `${texts.length} message(s) in peer/${source}.log`, 10_000);
    return new Map(texts.map((t) => [t, rendered(t)!.slice(0, -(t.length + 1))]));
  }

  /** An allowed client (web-01) is still served on `source` after a refusal. */
  async function stillServes(source: string, cert: ClientCert, label: string): Promise<void> {
    const text = `still served after ${label} run=${RUN}`;
    await sClient(endpoint(pipeline!, source, 'tls'), pki, rfc5424(text) + '\n', cert);
    await arrived(source, [text]);
  }

  function assertNeverArrived(source: string, marker: string): void {
    const leaked = peerLines(source).filter((l) => l.includes(marker));
    assert.deepEqual(leaked, [], `nothing from a refused client may be accepted on ${source}`);
  }

  it('s_client without a client certificate: octet-counted and newline-framed messages all arrive once, in order, as transport tls', async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL)) return;
    const texts = Array.from({ length: 10 }, (_, i) => `anon message ${i} run=${RUN}`);
    const r = await sClient(endpoint(pipeline!, 'open', 'tls'), pki, mixedStream(texts));
    assert.equal(r.code, 0, `s_client should connect and exit 0 after stdin closes:\n${r.stderr}`);
    const peers = await arrived('open', texts);
    for (const [text, peer] of peers) assert.equal(peer, '', `no client certificate: TLS_PEER should be empty for "${text}"`);
    const ours = peerLines('open').filter((l) => l.includes(`anon message `) && l.includes(RUN));
    assert.deepEqual(ours, texts.map((x) => ' ' + x), 'each message exactly once, in the order sent');
    const meta = readLines(path.join(dir, 'meta', 'open.log')).filter((l) => l.includes('anon message ') && l.includes(RUN));
    assert.deepEqual(meta, texts.map((x) => `tls 127.0.0.1 ${x}`), 'TRANSPORT tls and SOURCEIP 127.0.0.1');
  });

  it('s_client with a client certificate (web-01): every message carries the certificate subject as TLS_PEER', async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL)) return;
    const texts = Array.from({ length: 6 }, (_, i) => `web-01 message ${i} run=${RUN}`);
    const r = await sClient(endpoint(pipeline!, 'open', 'tls'), pki, mixedStream(texts), web);
    assert.equal(r.code, 0, `s_client should exit 0:\n${r.stderr}`);
    for (const [text, peer] of await arrived('open', texts)) {
      assert.ok(peer.includes('CN=web-01') && peer.includes('O=sluice-test'), `TLS_PEER should be the subject of web-01's certificate for "${text}", got "${peer}"`);
    }
  });

  it('the in-process listener negotiates TLS 1.2 while this process sends TLS 1.3 session tickets (the loggen trap)', async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL)) return;
    const sendsTickets = await tls13SendsTickets(fs.readFileSync(pki.serverKey), fs.readFileSync(pki.serverCert));
    const proto = await negotiatedProtocol(endpoint(pipeline!, 'lg', 'tls'), pki);
    assert.equal(proto, sendsTickets ? 'TLSv1.2' : 'TLSv1.3', `with session tickets ${sendsTickets ? 'on' : 'off'} the listener should offer ${sendsTickets ? 'at most TLS 1.2' : 'TLS 1.3'}`);
  });

  describe('client_auth: required, allow_subjects: ["CN=web-*"]', () => {
    it('accepts web-01', async (t: TestContext) => {
      if (!havePeer(t, 'openssl', OPENSSL)) return;
      const text = `web-01 on the restricted listener run=${RUN}`;
      await sClient(endpoint(pipeline!, 'net', 'tls'), pki, octetFrame(rfc5424(text)), web);
      const [peer] = (await arrived('net', [text])).values();
      assert.ok(peer!.includes('CN=web-01'), `TLS_PEER should name web-01, got "${peer}"`);
    });

    it('refuses db-01 (valid but not allowed) as tls_identity, then still serves web-01', async (t: TestContext) => {
      if (!havePeer(t, 'openssl', OPENSSL)) return;
      const before = await refused('net', 'tls_identity');
      const marker = `db-01 must not pass run=${RUN}`;
      await sClient(endpoint(pipeline!, 'net', 'tls'), pki, rfc5424(marker) + '\n', db);
      await waitFor(async () => (await refused('net', 'tls_identity')) >= before + 1, 'sluice_connections_refused_total{component="net",reason="tls_identity"} to go up', 10_000);
      await stillServes('net', web, 'db-01');
      assertNeverArrived('net', marker);
    });

    it('refuses a client with no certificate as tls_handshake, then still serves web-01', async (t: TestContext) => {
      if (!havePeer(t, 'openssl', OPENSSL)) return;
      const before = await refused('net', 'tls_handshake');
      const marker = `anonymous must not pass run=${RUN}`;
      await sClient(endpoint(pipeline!, 'net', 'tls'), pki, rfc5424(marker) + '\n');
      await waitFor(async () => (await refused('net', 'tls_handshake')) >= before + 1, 'sluice_connections_refused_total{component="net",reason="tls_handshake"} to go up', 10_000);
      await stillServes('net', web, 'no certificate');
      assertNeverArrived('net', marker);
    });

    it('refuses a client whose certificate is from an untrusted CA (tls_handshake), then still serves web-01', async (t: TestContext) => {
      if (!havePeer(t, 'openssl', OPENSSL)) return;
      const before = await refused('net', 'tls_handshake');
      const marker = `untrusted CA must not pass run=${RUN}`;
      await sClient(endpoint(pipeline!, 'net', 'tls'), pki, rfc5424(marker) + '\n', untrusted);
      await waitFor(async () => (await refused('net', 'tls_handshake')) >= before + 1, 'a tls_handshake refusal for the untrusted CA', 10_000);
      await stillServes('net', web, 'untrusted CA');
      assertNeverArrived('net', marker);
    });
  });

  it('client_auth: optional refuses a certificate that does not verify (tls_unverified), then still serves others', async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL)) return;
    const before = await refused('open', 'tls_unverified');
    const marker = `unverified must not pass run=${RUN}`;
    await sClient(endpoint(pipeline!, 'open', 'tls'), pki, rfc5424(marker) + '\n', untrusted);
    await waitFor(async () => (await refused('open', 'tls_unverified')) >= before + 1, 'sluice_connections_refused_total{component="open",reason="tls_unverified"} to go up', 10_000);
    await stillServes('open', web, 'an unverified certificate');
    assertNeverArrived('open', marker);
  });

  it('allow_fingerprints with db-01\'s SHA-256 fingerprint accepts db-01 and refuses web-01 (tls_identity)', async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL)) return;
    const ep = endpoint(pipeline!, 'fp', 'tls');
    const before = await refused('fp', 'tls_identity');
    const marker = `web-01 not on the fingerprint list run=${RUN}`;
    await sClient(ep, pki, rfc5424(marker) + '\n', web);
    await waitFor(async () => (await refused('fp', 'tls_identity')) >= before + 1, 'a tls_identity refusal of web-01 on fp', 10_000);
    const text = `db-01 by fingerprint run=${RUN}`;
    await sClient(ep, pki, octetFrame(rfc5424(text)), db);
    const [peer] = (await arrived('fp', [text])).values();
    assert.ok(peer!.includes('CN=db-01'), `TLS_PEER should name db-01, got "${peer}"`);
    assertNeverArrived('fp', marker);
  });

  it('rsyslog omfwd over gtls (x509/name, client cert web-01), newline and octet-counted framing: HOST/PROGRAM/PID/MSGID/MSG kept, TLS_PEER set', async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL) || !havePeer(t, 'rsyslogd', RSYSLOG) || !havePeer(t, 'logger', LOGGER)) return;
    const ep = endpoint(pipeline!, 'rs', 'tls');
    const work = fs.mkdtempSync(path.join(dir, 'rsyslog-'));
    const [udpLf, udpOctet] = [await freeUdpPort(), await freeUdpPort()];
    const fwd = (framing: string) => `action(type="omfwd" target="127.0.0.1" port="${ep.port}" protocol="tcp" ${framing}
    StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
    template="RSYSLOG_SyslogProtocol23Format" action.resumeInterval="1")`;
    const conf = path.join(work, 'rsyslog.conf');
    fs.writeFileSync(conf, `
global(workDirectory="${work}"
       DefaultNetstreamDriverCAFile="${pki.caCert}"
       DefaultNetstreamDriverCertFile="${pki.clientCert}"
       DefaultNetstreamDriverKeyFile="${pki.clientKey}")
module(load="imudp")
ruleset(name="lf") { ${fwd('')} }
ruleset(name="octet") { ${fwd('TCP_Framing="octet-counted"')} }
input(type="imudp" address="127.0.0.1" port="${udpLf}" ruleset="lf")
input(type="imudp" address="127.0.0.1" port="${udpOctet}" ruleset="octet")
`);
    const rsyslog = spawn(RSYSLOG!.bin, ['-n', '-M', RSYSLOG!.moddir, '-f', conf, '-i', path.join(work, 'rsyslogd.pid')],
      { env: { ...process.env, ...RSYSLOG!.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let rsOut = '';
    rsyslog.stdout!.on('data', (d: Buffer) => { rsOut += d.toString(); });
    rsyslog.stderr!.on('data', (d: Buffer) => { rsOut += d.toString(); });
    try {
      await checkRsyslog(t, {
        lines: () => readLines(path.join(dir, 'rsyslog.log')),
        udpPorts: { lf: udpLf, octet: udpOctet },
        rsyslog, rsOut: () => rsOut,
        expectTls: (peer, transport) => {
          assert.equal(transport, 'tls', 'TRANSPORT should be tls');
          assert.ok(peer.includes('CN=web-01'), `TLS_PEER should name rsyslog's client certificate web-01, got "${peer}"`);
        },
      });
    } finally {
      await stopChild(rsyslog);
    }
  });

  it(`loggen -U (TLS) into the in-process listener: all ${LOGGEN_COUNT} messages arrive`, async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL) || !havePeer(t, 'loggen', LOGGEN)) return;
    const r = await runLoggen(endpoint(pipeline!, 'lg', 'tls'));
    assert.equal(r.code, 0, `loggen should exit 0:\n${r.stdout}${r.stderr}`);
    const file = path.join(dir, 'loggen.log');
    const lines = await settledLines(file, LOGGEN_COUNT);
    checkLoggenLines(lines, 'in-process (TLS 1.2 while tickets are on)');
  });

  it(`min_version: TLSv1.3 while this process sends session tickets: sluice refuses the config, or loggen still delivers all ${LOGGEN_COUNT}`, async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL) || !havePeer(t, 'loggen', LOGGEN)) return;
    const sub = fs.mkdtempSync(path.join(dir, 'min13-'));
    let p13: Pipeline | null = null;
    try {
      try {
        p13 = await startPipeline(`
api: false
data_dir: ./state
sources:
  lg13: { type: syslog, listen: [tls://127.0.0.1:0], tls: { cert: "${pki.serverCert}", key: "${pki.serverKey}", min_version: TLSv1.3 } }
destinations:
  out: { type: file, path: "loggen13.log", template: "\${MSG}\\n" }
log:
  - { from: lg13, to: out }
`, sub);
      } catch (e) {
        // Refusing TLS 1.3-only with tickets on (the trap) is one acceptable answer, if it says why.
        assert.match(String((e as Error).message), /ticket|openssl-sluice\.cnf/i, `a refusal should explain the TLS 1.3 ticket problem: ${String(e)}`);
        t.diagnostic(`sluice refused min_version TLSv1.3 with tickets on: ${(e as Error).message}`);
        return;
      }
      const ep = endpoint(p13, 'lg13', 'tls');
      assert.equal(await negotiatedProtocol(ep, pki), 'TLSv1.3', 'min_version TLSv1.3 should negotiate TLS 1.3');
      // The loss is a race (data still unread when loggen's reset arrives), so loggen runs
      // unthrottled, faster than sluice reads, up to three times; each run must be whole.
      const file = path.join(sub, 'loggen13.log');
      for (let run = 1; run <= 3; run++) {
        const r = await runLoggen(ep, LOGGEN_COUNT, 10_000_000);
        assert.equal(r.code, 0, `loggen run ${run} should exit 0:\n${r.stdout}${r.stderr}`);
        const lines = await settledLines(file, run * LOGGEN_COUNT);
        t.diagnostic(`min_version TLSv1.3 with tickets on, loggen run ${run}: ${lines.length - (run - 1) * LOGGEN_COUNT} of ${LOGGEN_COUNT} written`);
        assert.equal(lines.length, run * LOGGEN_COUNT,
          `min_version TLSv1.3 with session tickets on (loggen closes without reading them): run ${run} should write all ${LOGGEN_COUNT} messages, got ${lines.length - (run - 1) * LOGGEN_COUNT}`);
      }
    } finally {
      await p13?.stop();
    }
  });
});

interface RsyslogCheck {
  lines: () => string[];
  udpPorts: { lf: number; octet: number };
  rsyslog: ChildProcess;
  rsOut: () => string;
  expectTls: (peer: string, transport: string) => void;
}

/**
 * Feeds rsyslog's imudp inputs with logger (probing until rsyslog forwards, since UDP sent
 * before it listens is lost) and checks what sluice wrote as
 * "TLS_PEER|TRANSPORT|HOST|PROGRAM|PID|MSGID|MSG".
 */
async function checkRsyslog(t: TestContext, c: RsyslogCheck): Promise<void> {
  const send = (port: number, args: string[]) => run(LOGGER!, ['--server', '127.0.0.1', '--port', String(port), '--udp', ...args]);
  for (const [name, port] of Object.entries(c.udpPorts)) {
    const probe = `probe-${name}-${RUN}`;
    const seen = () => c.lines().some((l) => l.includes(probe));
    for (let i = 0; i < 60 && !seen(); i++) {
      assert.equal(c.rsyslog.exitCode, null, `rsyslogd exited early:\n${c.rsOut()}`);
      await send(port, ['--rfc5424', '-t', 'probe', probe]);
      await waitFor(seen, 'probe', 500).catch(() => {});
    }
    assert.ok(seen(), `rsyslog (${name} framing) never forwarded a probe to sluice within 30 s; rsyslogd said:\n${c.rsOut()}`);
  }
  const sent: { framing: string; format: string; tag: string; text: string }[] = [];
  for (const framing of Object.keys(c.udpPorts) as ('lf' | 'octet')[]) {
    for (const format of ['rfc5424', 'rfc3164']) {
      for (let i = 0; i < 3; i++) {
        const tag = `rs-${framing}-${format.slice(3)}`;
        const text = `via rsyslog ${framing} ${format} #${i} run=${RUN}`;
        sent.push({ framing, format, tag, text });
        const extra = format === 'rfc5424' ? ['--msgid', `MID${i}`] : [];
        await send(c.udpPorts[framing], [`--${format}`, '-t', tag, `--id=${1000 + i}`, ...extra, text]);
      }
    }
  }
  await waitFor(() => sent.every((s) => c.lines().some((l) => l.includes(s.text))), `${sent.length} messages forwarded by rsyslog`, 15_000)
    .catch((e: Error) => assert.fail(`${e.message}; missing: ${sent.filter((s) => !c.lines().some((l) => l.includes(s.text))).map((s) => s.text).join('; ')}\nrsyslogd:\n${c.rsOut()}`));
  for (const s of sent) {
    const hits = c.lines().filter((l) => l.includes(s.text));
    assert.equal(hits.length, 1, `"${s.text}" should arrive exactly once, got ${hits.length}`);
    const [peer, transport, host, program, pid, msgid, msg] = hits[0]!.split('|') as [string, string, string, string, string, string, string];
    c.expectTls(peer, transport);
    assert.ok(host === SHORT_HOST || host.startsWith(SHORT_HOST + '.'), `HOST should be the original sender's host name ${SHORT_HOST}, got "${host}"`);
    assert.equal(program, s.tag, 'PROGRAM should be the original logger -t tag');
    assert.equal(pid, String(1000 + Number(s.text.split('#')[1]!.split(' ')[0])), 'PID should be the original logger --id');
    if (s.format === 'rfc5424') {
      assert.equal(msgid, `MID${s.text.split('#')[1]!.split(' ')[0]}`, 'MSGID should be the original --msgid');
      assert.equal(msg, s.text, 'MSG should be the original text');
    } else {
      // rsyslog keeps the space after an RFC 3164 TAG's colon as part of %msg%.
      assert.equal(msg.trimStart(), s.text, 'MSG should be the original text (rsyslog may keep a leading space from RFC 3164)');
    }
  }
  t.diagnostic(`rsyslog forwarded ${sent.length} messages`);
}

describe('sluice as a child process: TLS version and loggen, with and without openssl-sluice.cnf', () => {
  let sluice: SluiceProcess | null = null;

  after(async () => {
    await stopSluice(sluice);
  });

  it(`without openssl-sluice.cnf (plain \`sluice run -c\`): caps at TLSv1.2, says why, and loggen -U delivers all ${LOGGEN_COUNT}`, async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL) || !havePeer(t, 'loggen', LOGGEN)) return;
    const dir = tempDir('tls12');
    const pki = await makeTestPki(dir);
    const out = path.join(dir, 'loggen.log');
    const cfg = writeConfig(dir, `
api: false
data_dir: ./state
sources:
  net: { type: syslog, listen: [tls://127.0.0.1:0], tls: { cert: "${pki.serverCert}", key: "${pki.serverKey}" } }
destinations:
  out: { type: file, path: "${out}", template: "\${MSG}\\n" }
log:
  - { from: net, to: out }
`);
    const p = await spawnSluice(['run', '-c', cfg], { cwd: dir, env: { NODE_OPTIONS: '' } });
    sluice = p;
    try {
      assert.equal(p.exitCode, null, `sluice should be running:\n${p.stderr.join('\n')}`);
      const ep = p.endpoint('net', 'tls');
      assert.equal(await negotiatedProtocol(ep, pki), 'TLSv1.2', 'with session tickets on, the listener should offer at most TLS 1.2');
      assert.ok(p.stderr.some((l) => /session tickets/.test(l) && /TLS 1\.2/.test(l)), `a log line should explain the TLS 1.2 cap:\n${p.stderr.join('\n')}`);
      const r = await runLoggen(ep);
      assert.equal(r.code, 0, `loggen should exit 0:\n${r.stdout}${r.stderr}`);
      const lines = await settledLines(out, LOGGEN_COUNT);
      await sleep(200);
      checkLoggenLines(lines, 'child process without openssl-sluice.cnf (TLS 1.2)');
    } finally {
      await stopSluice(p);
      sluice = null;
    }
  });

  it(`offers TLSv1.3 and loggen -U delivers all ${LOGGEN_COUNT} messages`, async (t: TestContext) => {
    if (!havePeer(t, 'openssl', OPENSSL) || !havePeer(t, 'loggen', LOGGEN)) return;
    const dir = tempDir('tls13');
    const pki = await makeTestPki(dir);
    const out = path.join(dir, 'loggen.log');
    const cfg = writeConfig(dir, `
api: false
data_dir: ./state
sources:
  net: { type: syslog, listen: [tls://127.0.0.1:0], tls: { cert: "${pki.serverCert}", key: "${pki.serverKey}" } }
destinations:
  out: { type: file, path: "${out}", template: "\${MSG}\\n" }
log:
  - { from: net, to: out }
`);
    sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir, nodeArgs: ['--openssl-config=' + path.join(REPO, 'openssl-sluice.cnf')] });
    assert.equal(sluice.exitCode, null, `sluice should be running:\n${sluice.stderr.join('\n')}`);
    const ep = sluice.endpoint('net', 'tls');
    assert.equal(await negotiatedProtocol(ep, pki), 'TLSv1.3', `with NumTickets = 0 the listener should offer TLS 1.3; sluice said:\n${sluice.stderr.join('\n')}`);
    assert.ok(!sluice.stderr.some((l) => /using TLS 1\.2/.test(l)), 'no "using TLS 1.2" fallback notice expected with openssl-sluice.cnf');

    const r = await runLoggen(ep);
    assert.equal(r.code, 0, `loggen should exit 0:\n${r.stdout}${r.stderr}`);
    const lines = await settledLines(out, LOGGEN_COUNT);
    checkLoggenLines(lines, 'child process (TLS 1.3, no tickets)');
  });
});
