// A Debian-shaped rsyslog.conf imported without --dialect routes every facility x severity
// exactly as rsyslog itself does: the real rsyslogd runs the same rules as the oracle.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, freeUdpPort, REPO, SLUICE_BIN, startPipeline } from '../helpers/daemon.js';
import { findRsyslogd, havePeer } from '../helpers/peers.js';
import { readLines, sleep, tempDir, waitFor } from '../helpers/wait.js';

const RSYSLOG = findRsyslogd();
const CONF = path.join(REPO, 'test/fixtures/debian-rsyslog.conf');
const FILES = ['auth.log', 'syslog', 'daemon.log', 'kern.log', 'lpr.log', 'mail.log', 'user.log', 'mail.info', 'mail.warn', 'mail.err', 'debug', 'messages'];

let rsyslog: ChildProcess | null = null;
let pipeline: Pipeline | null = null;
after(async () => {
  if (rsyslog && rsyslog.exitCode === null) {
    const exited = new Promise((r) => rsyslog!.once('exit', r));
    rsyslog.kill('SIGTERM');
    await exited;
  }
  await pipeline?.stop();
});

async function sendAll(port: number, lines: string[]): Promise<void> {
  const sock = dgram.createSocket('udp4');
  for (const l of lines) {
    await new Promise<void>((res, rej) => sock.send(l, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    await sleep(1); // UDP to two local receivers: pace so neither socket overflows
  }
  sock.close();
}

/** What each file holds of the test's messages ("f=F s=S"), sorted. */
function routed(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of FILES) {
    out[f] = readLines(path.join(dir, f)).filter((l) => l.includes('prog: f=')).map((l) => l.slice(l.indexOf('prog: ') + 6)).sort();
  }
  return out;
}

const count = (r: Record<string, string[]>) => Object.values(r).reduce((n, v) => n + v.length, 0);

test('import-syslog-conf reads a Debian rsyslog.conf the Linux way by itself and routes like rsyslogd', async (t: TestContext) => {
  if (!havePeer(t, 'rsyslogd', RSYSLOG)) return;
  const dir = tempDir('rsyslog-oracle');
  const sluiceDir = path.join(dir, 'sluice'), rsDir = path.join(dir, 'rsyslog');
  fs.mkdirSync(sluiceDir);
  fs.mkdirSync(path.join(rsDir, 'spool'), { recursive: true });

  const res = spawnImport();
  assert.match(res.stderr, /reading .* as Linux \(sysklogd\/rsyslog\): RainerScript statement at line 7\n/);
  const local = res.stdout
    .replace(/path: \/var\/log\//g, `path: ${sluiceDir}/`)
    .replace('listen: [udp://127.0.0.1:5140, tcp://127.0.0.1:5140]', 'listen: [udp://127.0.0.1:0]');
  assert.ok(local.includes(sluiceDir), 'the imported config writes the files the conf names');
  pipeline = await startPipeline('api: false\n' + local, sluiceDir);
  const sluicePort = endpoint(pipeline, 'local', 'udp').port;

  // rsyslog runs the very same rules, with its inputs and files moved into the test's dir.
  const rsPort = await freeUdpPort();
  const rules = fs.readFileSync(CONF, 'utf8')
    .replace(/^module\(load="im(uxsock|klog)"\).*$/gm, '')
    .replace(/^\$WorkDirectory .*$/m, `$WorkDirectory ${rsDir}/spool`)
    .replace(/^\$IncludeConfig .*$/m, '')
    .replaceAll('/var/log/', `${rsDir}/`);
  const conf = path.join(rsDir, 'rsyslog.conf');
  fs.writeFileSync(conf, `module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${rsPort}")\n${rules}`);
  let rsOut = '';
  rsyslog = spawn(RSYSLOG!.bin, ['-n', '-M', RSYSLOG!.moddir, '-f', conf, '-i', path.join(rsDir, 'rsyslogd.pid')],
    { env: { ...process.env, ...RSYSLOG!.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  rsyslog.stdout!.on('data', (d: Buffer) => { rsOut += d.toString(); });
  rsyslog.stderr!.on('data', (d: Buffer) => { rsOut += d.toString(); });
  // Datagrams sent before imudp listens are lost: probe until one is written (bounded).
  const probeSeen = () => readLines(path.join(rsDir, 'user.log')).some((l) => l.includes('probe'));
  for (let i = 0; i < 100 && !probeSeen(); i++) {
    assert.equal(rsyslog.exitCode, null, `rsyslogd exited early:\n${rsOut}`);
    await sendAll(rsPort, ['<11>Nov 23 12:00:00 host probe: ready?']);
    await sleep(100);
  }
  assert.ok(probeSeen(), `rsyslogd never wrote the probe:\n${rsOut}`);

  const messages: string[] = [];
  for (let f = 0; f < 24; f++) for (let s = 0; s < 8; s++) messages.push(`<${f * 8 + s}>Nov 23 12:00:00 host prog: f=${f} s=${s}`);
  await Promise.all([sendAll(sluicePort, messages), sendAll(rsPort, messages)]);

  // Both have the same total once everything is written; give up waiting after a bound and compare anyway.
  await waitFor(() => { const a = count(routed(sluiceDir)); return a > 0 && a === count(routed(rsDir)); }, 'both to finish writing', 10_000).catch(() => {});
  await sleep(300);
  const want = routed(rsDir), got = routed(sluiceDir);
  assert.ok(count(want) > 192, 'rsyslog routed every message somewhere, several to more than one file');
  for (const f of FILES) assert.deepEqual(got[f], want[f], `${f}: sluice holds exactly what rsyslogd wrote there`);
});

function spawnImport(): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SLUICE_BIN, 'import-syslog-conf', CONF], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}
