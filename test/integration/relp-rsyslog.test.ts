// Interop with real RELP peers: rsyslog omrelp → sluice, sluice → rsyslog imrelp, and omrelp across a sluice restart.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, startPipeline, type Endpoint } from '../helpers/daemon.js';
import { findCommand, findRsyslogd, havePeer } from '../helpers/peers.js';
import { readLines, sleep, tempDir, waitFor } from '../helpers/wait.js';

const RSYSLOG = findRsyslogd();
const LOGGER = findCommand('logger');
const SHORT_HOST = os.hostname().split('.')[0]!;
const RUN = `${process.pid}-${Date.now().toString(36)}`;

// ---------------------------------------------------------------- processes and ports

const children = new Set<ChildProcess>();
const pipelines = new Set<Pipeline>();
const sockets = new Set<net.Socket>();

after(async () => {
  for (const s of sockets) s.destroy();
  for (const c of children) await stopChild(c);
  for (const p of pipelines) await p.stop();
});

async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Opens and closes a RELP session (a bare TCP probe would make imrelp log a broken session). */
async function canOpenRelp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const offers = 'relp_version=0\nrelp_software=probe\ncommands=syslog';
    const timer = setTimeout(() => { s.destroy(); resolve(false); }, 2000);
    s.once('connect', () => s.write(`1 open ${offers.length} ${offers}\n`));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/^1 rsp \d+ 200 OK\n[^]*commands=syslog\n$/.test(got)) { got = ''; s.write('2 close 0\n'); }
      if (/^2 rsp 0\n/.test(got)) { clearTimeout(timer); s.end(); resolve(true); }
    });
    s.once('error', () => { clearTimeout(timer); resolve(false); });
  });
}

interface Rsyslogd { child: ChildProcess; output: () => string }

/** Starts rsyslogd in the foreground with `lines` as its config; resolves once `port` accepts connections (RELP sessions). */
async function startRsyslog(work: string, lines: string[], port: number, relp = false): Promise<Rsyslogd> {
  const conf = path.join(work, 'rsyslog.conf');
  fs.writeFileSync(conf, [`global(workDirectory="${work}")`, ...lines, ''].join('\n'));
  const child = spawn(RSYSLOG!.bin, ['-n', '-M', RSYSLOG!.moddir, '-f', conf, '-i', path.join(work, 'rsyslogd.pid')],
    { env: { ...process.env, ...RSYSLOG!.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const output = (): string => out;
  await waitFor(async () => child.exitCode !== null || await (relp ? canOpenRelp(port) : canConnect(port)), `rsyslogd listening on ${port}`, 20_000)
    .catch((e: Error) => assert.fail(`${e.message}; rsyslogd said:\n${out}`));
  assert.equal(child.exitCode, null, `rsyslogd exited early:\n${out}`);
  return { child, output };
}

/** SIGTERM, then SIGKILL after 10 s; by PID only. */
async function stopChild(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
}

/** Runs logger once; rejects if it fails or takes over 10 s. */
function logger(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(LOGGER!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`logger ${args.join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}

/** A TCP connection for writing syslog lines (newline framing) to rsyslog's imtcp or sluice. */
async function tcpWriter(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
  sockets.add(s);
  return s;
}

async function endWriter(s: net.Socket): Promise<void> {
  await new Promise<void>((resolve) => s.end(resolve));
  sockets.delete(s);
}

/** omrelp forwarding to sluice, as an operator would write it (reliable: retry for ever). */
function omrelp(relp: Endpoint): string {
  return `action(type="omrelp" target="${relp.host}" port="${relp.port}" template="RSYSLOG_SyslogProtocol23Format" ` +
    'action.resumeRetryCount="-1" action.resumeInterval="1")';
}

const FIELDS_TEMPLATE = '"${TRANSPORT}|${SOURCEIP}|${HOST}|${PROGRAM}|${PID}|${MSGID}|${MSG}\\n"';

function relpSourceYaml(port: number, out: string): string {
  return `
api: false
data_dir: ./state
sources:
  relay: { type: relp, listen: [relp://127.0.0.1:${port}] }
destinations:
  out: { type: file, path: "${out}", template: ${FIELDS_TEMPLATE} }
log:
  - { from: relay, to: out }
`;
}

async function start(yaml: string, dir: string): Promise<Pipeline> {
  const p = await startPipeline(yaml, dir);
  pipelines.add(p);
  return p;
}

async function stop(p: Pipeline): Promise<void> {
  await p.stop();
  pipelines.delete(p);
}

/** seq numbers of lines carrying `run=<tag>`, with how often each was seen. */
function seqCounts(lines: string[], tag: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const l of lines) {
    const m = new RegExp(`run=${tag} seq=(\\d+)$`).exec(l);
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  }
  return counts;
}

// ---------------------------------------------------------------- tests

describe('RELP interop with rsyslog (omrelp, imrelp)', () => {
  it('(a) rsyslog omrelp → sluice RELP source: every message once, HOST/PROGRAM/PID/MSGID/MSG intact', async (t: TestContext) => {
    if (!havePeer(t, 'rsyslog', RSYSLOG) || !havePeer(t, 'logger', LOGGER)) return;
    const dir = tempDir('relp-a');
    const p = await start(relpSourceYaml(0, 'relp-in.log'), dir);
    const relp = endpoint(p, 'relay', 'relp');
    const input = await freeTcpPort();
    const rs = await startRsyslog(fs.mkdtempSync(path.join(dir, 'rs-')), [
      'module(load="imtcp")',
      'module(load="omrelp")',
      `input(type="imtcp" address="127.0.0.1" port="${input}" ruleset="fwd")`,
      `ruleset(name="fwd") { ${omrelp(relp)} }`,
    ], input);
    const lines = (): string[] => readLines(path.join(dir, 'relp-in.log'));

    // logger (RFC 3164 and RFC 5424) through rsyslog's imtcp.
    const sent: { tag: string; pid: string; msgid: string; text: string; format: string }[] = [];
    for (const format of ['rfc3164', 'rfc5424']) {
      for (let i = 0; i < 3; i++) {
        const s = { format, tag: `relp-${format.slice(3)}`, pid: String(3000 + i), msgid: `RID${i}`, text: `via omrelp ${format} #${i} run=${RUN}` };
        sent.push(s);
        await logger(['--server', '127.0.0.1', '--port', String(input), '--tcp', `--${format}`, '-t', s.tag, `--id=${s.pid}`,
          ...(format === 'rfc5424' ? ['--msgid', s.msgid] : []), s.text]);
      }
    }
    // And a burst with hosts of our choosing.
    const n = 500;
    const w = await tcpWriter(input);
    let burst = '';
    for (let i = 0; i < n; i++) burst += `<165>1 2024-05-01T12:00:00.123Z bulk-${i % 7} bulkapp ${4000 + i} B${i % 5} - run=${RUN}a seq=${i}\n`;
    w.write(burst);
    await endWriter(w);

    const missing = (): string[] => sent.filter((s) => !lines().some((l) => l.endsWith(s.text))).map((s) => s.text);
    await waitFor(() => missing().length === 0 && seqCounts(lines(), RUN + 'a').size === n, `${sent.length} logger messages and ${n} burst messages in sluice`, 30_000)
      .catch((e: Error) => assert.fail(`${e.message}; missing: ${missing().join('; ')}; burst seen ${seqCounts(lines(), RUN + 'a').size}\nrsyslogd:\n${rs.output()}`));

    for (const s of sent) {
      const hits = lines().filter((l) => l.endsWith(s.text));
      assert.equal(hits.length, 1, `"${s.text}" arrives once, got:\n${hits.join('\n')}`);
      const [transport, ip, host, program, pid, msgid, msg] = hits[0]!.split('|') as string[];
      assert.equal(transport, 'relp');
      assert.equal(ip, '127.0.0.1');
      assert.ok(host === SHORT_HOST || host!.startsWith(SHORT_HOST + '.'), `HOST is the sender's host ${SHORT_HOST}, got "${host}"`);
      assert.equal(program, s.tag, 'PROGRAM is logger\'s -t tag');
      assert.equal(pid, s.pid, 'PID is logger\'s --id');
      assert.equal(msgid, s.format === 'rfc5424' ? s.msgid : '', 'MSGID');
      // rsyslog keeps the space after an RFC 3164 TAG's colon in %msg%.
      assert.equal(msg!.trimStart(), s.text, 'MSG');
    }
    const counts = seqCounts(lines(), RUN + 'a');
    for (let i = 0; i < n; i++) assert.equal(counts.get(i), 1, `burst seq=${i} arrives exactly once`);
    const burstLine = lines().find((l) => l.endsWith(`run=${RUN}a seq=12`))!;
    assert.equal(burstLine, `relp|127.0.0.1|bulk-5|bulkapp|4012|B2|run=${RUN}a seq=12`);
    await stopChild(rs.child);
    assert.ok(!/error|fail/i.test(rs.output()), `rsyslogd reported no errors:\n${rs.output()}`);
    await stop(p);
  });

  it('(b) sluice RELP destination → rsyslog imrelp → omfile: messages intact', async (t: TestContext) => {
    if (!havePeer(t, 'rsyslog', RSYSLOG)) return;
    const dir = tempDir('relp-b');
    const port = await freeTcpPort();
    const outFile = path.join(dir, 'imrelp.log');
    const rs = await startRsyslog(fs.mkdtempSync(path.join(dir, 'rs-')), [
      'module(load="imrelp")',
      'template(name="raw" type="string" string="%rawmsg%\\n")',
      'template(name="fields" type="string" string="%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")',
      `input(type="imrelp" address="127.0.0.1" port="${port}" ruleset="out")`,
      `ruleset(name="out") { action(type="omfile" file="${outFile}" template="raw") action(type="omfile" file="${outFile}.fields" template="fields") }`,
    ], port, true);
    const p = await start(`
api: false
data_dir: ./state
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
destinations:
  central: { type: relp, url: "relp://127.0.0.1:${port}", window: 16 }
log:
  - { from: net, to: central }
`, dir);
    const n = 400;
    const w = await tcpWriter(endpoint(p, 'net', 'tcp').port);
    const m5424: string[] = [];
    let input = '';
    for (let i = 0; i < n; i++) {
      const m = `<134>1 2024-05-01T12:00:00.${String(i % 1000).padStart(3, '0')}Z web-${i % 4} app ${i} M${i % 3} [x@32473 k="v${i}"] é run=${RUN}b seq=${i}`;
      m5424.push(m);
      input += m + '\n';
    }
    // RFC 3164 input: re-encoded as RFC 5424 on the way.
    for (let i = 0; i < 10; i++) input += `<38>May  1 12:00:0${i} oldhost sshd[${700 + i}]: classic run=${RUN}c seq=${i}\n`;
    w.write(input);
    await endWriter(w);
    const lines = (): string[] => readLines(outFile);
    await waitFor(() => seqCounts(lines(), RUN + 'b').size === n && seqCounts(lines(), RUN + 'c').size === 10, `${n + 10} messages in rsyslog's file`, 30_000)
      .catch((e: Error) => assert.fail(`${e.message} (have ${lines().length})\nrsyslogd:\n${rs.output()}`));
    // RFC 5424 messages are sent byte for byte as received.
    const got = lines().filter((l) => l.includes(`run=${RUN}b `));
    assert.deepEqual(got, m5424, 'every RFC 5424 message exactly once, in order, unchanged');
    // rsyslog parses the re-encoded RFC 3164 ones into the same fields.
    const fields = readLines(outFile + '.fields').filter((l) => l.includes(`run=${RUN}c `));
    assert.equal(fields.length, 10);
    assert.equal(fields[3], `oldhost|sshd|703|-|-|classic run=${RUN}c seq=3`);
    const raw3164 = lines().find((l) => l.endsWith(`run=${RUN}c seq=3`))!;
    assert.match(raw3164, new RegExp(`^<38>1 \\d{4}-05-01T12:00:03[+-]\\d{2}:\\d{2} oldhost sshd 703 - - classic run=${RUN}c seq=3$`));
    await stop(p);
    await stopChild(rs.child);
    assert.ok(!/error|fail/i.test(rs.output()), `rsyslogd reported no errors:\n${rs.output()}`);
  });

  it('(c) rsyslog omrelp → sluice restarted mid-stream: nothing lost (duplicates counted)', async (t: TestContext) => {
    if (!havePeer(t, 'rsyslog', RSYSLOG)) return;
    const dir = tempDir('relp-c');
    const out = path.join(dir, 'relp-in.log');
    let p = await start(relpSourceYaml(0, out), dir);
    const relp = endpoint(p, 'relay', 'relp');
    const input = await freeTcpPort();
    const rs = await startRsyslog(fs.mkdtempSync(path.join(dir, 'rs-')), [
      'module(load="imtcp")',
      'module(load="omrelp")',
      `input(type="imtcp" address="127.0.0.1" port="${input}" ruleset="fwd")`,
      `ruleset(name="fwd") { ${omrelp(relp)} }`,
    ], input);
    const tag = RUN + 'r';
    const n = 3000;
    const lines = (): string[] => readLines(out);

    // A paced sender, so that the restart falls in the middle of the stream.
    const w = await tcpWriter(input);
    const sending = (async () => {
      for (let i = 0; i < n; i += 50) {
        let chunk = '';
        for (let j = i; j < Math.min(n, i + 50); j++) chunk += `<14>1 2024-05-01T12:00:00Z restart-host rapp - - - run=${tag} seq=${j}\n`;
        w.write(chunk);
        await sleep(20);
      }
      await endWriter(w);
    })();

    await waitFor(() => seqCounts(lines(), tag).size >= 300, 'the first 300 messages', 30_000)
      .catch((e: Error) => assert.fail(`${e.message}\nrsyslogd:\n${rs.output()}`));
    const stopStart = Date.now();
    await stop(p);
    const stopMs = Date.now() - stopStart;
    const before = seqCounts(lines(), tag).size;
    p = await start(relpSourceYaml(relp.port, out), dir);
    await sending;
    await waitFor(() => seqCounts(lines(), tag).size === n, `all ${n} messages after the restart`, 60_000)
      .catch((e: Error) => {
        const c = seqCounts(lines(), tag);
        const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !c.has(i));
        assert.fail(`${e.message}: ${missing.length} missing (first: ${missing.slice(0, 10).join(', ')})\nrsyslogd:\n${rs.output()}`);
      });
    const counts = seqCounts(lines(), tag);
    const dups = [...counts.values()].reduce((a, c) => a + c - 1, 0);
    t.diagnostic(`restart after ${before} of ${n} messages (stop took ${stopMs} ms): none lost, ${dups} duplicate(s) (resent by omrelp: answers that did not reach it before the session ended)`);
    assert.ok(before < n, 'the restart happened mid-stream');
    for (let i = 0; i < n; i++) assert.ok((counts.get(i) ?? 0) >= 1, `seq=${i} arrived`);
    await stop(p);
    await stopChild(rs.child);
  });
});
