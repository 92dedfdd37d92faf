// Interop: rsyslog omfwd over plain TCP (newline and octet-counted framing, RFC 5424 and traditional templates) into sluice.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, freeUdpPort, startPipeline } from '../helpers/daemon.js';
import { findCommand, findRsyslogd, havePeer } from '../helpers/peers.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const LOGGER = findCommand('logger');
const RSYSLOG = findRsyslogd();
const SHORT_HOST = os.hostname().split('.')[0]!;
const RUN = `${process.pid}-${Date.now().toString(36)}`;

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

/** One rsyslog ruleset: an imudp input forwarding to sluice with one omfwd setup. */
interface Route {
  name: string;
  /** omfwd parameters besides target/port/protocol. */
  omfwd: string;
  /** The template keeps RFC 5424's MSGID (RSYSLOG_SyslogProtocol23Format does, the traditional one cannot). */
  keepsMsgid: boolean;
  port: number;
}

describe('rsyslog omfwd over plain TCP into sluice (in-process pipeline)', () => {
  let dir: string;
  let pipeline: Pipeline | null = null;
  let rsyslog: ChildProcess | null = null;
  let rsOut = '';

  before(async () => {
    dir = tempDir('rsyslog-tcp');
    pipeline = await startPipeline(`
api: false
data_dir: ./state
sources:
  net: { type: syslog, listen: [tcp://127.0.0.1:0] }
destinations:
  out:
    type: file
    path: "rsyslog.log"
    template: "\${TLS_PEER}|\${TRANSPORT}|\${SOURCEIP}|\${HOST}|\${PROGRAM}|\${PID}|\${MSGID}|\${MSG}\\n"
log:
  - { from: net, to: out }
`, dir);
  });

  after(async () => {
    await stopChild(rsyslog);
    await pipeline?.stop();
  });

  it('newline framing, octet-counted framing, and the default traditional template: every message once with its original HOST/PROGRAM/PID/MSG', async (t: TestContext) => {
    if (!havePeer(t, 'rsyslogd', RSYSLOG) || !havePeer(t, 'logger', LOGGER)) return;
    const ep = endpoint(pipeline!, 'net', 'tcp');
    const routes: Route[] = [
      { name: 'lf', omfwd: 'template="RSYSLOG_SyslogProtocol23Format"', keepsMsgid: true, port: await freeUdpPort() },
      { name: 'octet', omfwd: 'template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted"', keepsMsgid: true, port: await freeUdpPort() },
      // omfwd's default template is RSYSLOG_TraditionalForwardFormat (RFC 3164 shape), newline framed.
      { name: 'trad', omfwd: '', keepsMsgid: false, port: await freeUdpPort() },
    ];
    const work = fs.mkdtempSync(path.join(dir, 'rsyslog-'));
    const conf = path.join(work, 'rsyslog.conf');
    fs.writeFileSync(conf, [
      `global(workDirectory="${work}")`,
      'module(load="imudp")',
      ...routes.map((r) => `ruleset(name="${r.name}") { action(type="omfwd" target="127.0.0.1" port="${ep.port}" protocol="tcp" action.resumeInterval="1" ${r.omfwd}) }`),
      ...routes.map((r) => `input(type="imudp" address="127.0.0.1" port="${r.port}" ruleset="${r.name}")`),
      '',
    ].join('\n'));
    rsyslog = spawn(RSYSLOG!.bin, ['-n', '-M', RSYSLOG!.moddir, '-f', conf, '-i', path.join(work, 'rsyslogd.pid')],
      { env: { ...process.env, ...RSYSLOG!.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    rsyslog.stdout!.on('data', (d: Buffer) => { rsOut += d.toString(); });
    rsyslog.stderr!.on('data', (d: Buffer) => { rsOut += d.toString(); });

    const lines = () => readLines(path.join(dir, 'rsyslog.log'));
    const send = (port: number, args: string[]) => logger(['--server', '127.0.0.1', '--port', String(port), '--udp', ...args]);

    // UDP sent before rsyslog listens is lost: probe each input until it forwards (bounded).
    for (const r of routes) {
      const probe = `probe-${r.name}-${RUN}`;
      const seen = () => lines().some((l) => l.includes(probe));
      for (let i = 0; i < 60 && !seen(); i++) {
        assert.equal(rsyslog.exitCode, null, `rsyslogd exited early:\n${rsOut}`);
        await send(r.port, ['--rfc5424', '-t', 'probe', probe]);
        await waitFor(seen, 'probe', 500).catch(() => {});
      }
      assert.ok(seen(), `rsyslog (${r.name}) never forwarded a probe to sluice within 30 s; rsyslogd said:\n${rsOut}`);
    }

    const sent: { route: Route; format: string; tag: string; pid: string; msgid: string; text: string }[] = [];
    for (const route of routes) {
      for (const format of ['rfc5424', 'rfc3164']) {
        for (let i = 0; i < 3; i++) {
          const s = { route, format, tag: `rs-${route.name}-${format.slice(3)}`, pid: String(2000 + i), msgid: `MID${i}`,
            text: `via rsyslog tcp ${route.name} ${format} #${i} run=${RUN}` };
          sent.push(s);
          await send(route.port, [`--${format}`, '-t', s.tag, `--id=${s.pid}`, ...(format === 'rfc5424' ? ['--msgid', s.msgid] : []), s.text]);
        }
      }
    }
    const missing = () => sent.filter((s) => !lines().some((l) => l.includes(s.text))).map((s) => s.text);
    await waitFor(() => missing().length === 0, `${sent.length} messages forwarded by rsyslog`, 15_000)
      .catch((e: Error) => assert.fail(`${e.message}; missing: ${missing().join('; ')}\nrsyslogd:\n${rsOut}`));

    for (const s of sent) {
      const hits = lines().filter((l) => l.includes(s.text));
      assert.equal(hits.length, 1, `"${s.text}" should arrive exactly once, got:\n${hits.join('\n')}`);
      const [peer, transport, ip, host, program, pid, msgid, msg] = hits[0]!.split('|') as string[];
      assert.equal(peer, '', 'no TLS_PEER over plain TCP');
      assert.equal(transport, 'tcp', 'TRANSPORT tcp');
      assert.equal(ip, '127.0.0.1', 'SOURCEIP is rsyslog on loopback');
      assert.ok(host === SHORT_HOST || host!.startsWith(SHORT_HOST + '.'), `HOST should be the original sender's host ${SHORT_HOST}, got "${host}" (${s.route.name})`);
      assert.equal(program, s.tag, `PROGRAM should be the original logger -t tag (${s.route.name})`);
      assert.equal(pid, s.pid, `PID should be the original logger --id (${s.route.name})`);
      const wantMsgid = s.format === 'rfc5424' && s.route.keepsMsgid ? s.msgid : '';
      assert.equal(msgid, wantMsgid, `MSGID (${s.route.name}, ${s.format})`);
      if (s.format === 'rfc5424') assert.equal(msg, s.text, `MSG should be the original text (${s.route.name})`);
      // rsyslog keeps the space after an RFC 3164 TAG's colon in %msg%, so SyslogProtocol23 shows it.
      else assert.equal(msg!.trimStart(), s.text, `MSG should be the original text (${s.route.name}; rsyslog may keep a leading space)`);
    }
  });
});
