// Interop: util-linux `logger` (UDP, TCP, TCP octet-counting; RFC 3164 and RFC 5424) into sluice, in-process and as the real default daemon.

import { withDefaultPorts } from '../helpers/default-ports.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, metricFromText, spawnSluice, startPipeline, type Endpoint, type SluiceProcess } from '../helpers/daemon.js';
import { findCommand, havePeer } from '../helpers/peers.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const LOGGER = findCommand('logger');
/** logger's RFC 3164 HOSTNAME is gethostname() cut at the first dot; RFC 5424 may use the FQDN. */
const SHORT_HOST = os.hostname().split('.')[0]!;
/** Makes this run's messages unique, so a stray line from elsewhere can never satisfy a check. */
const RUN = `${process.pid}-${Date.now().toString(36)}`;

/** Runs logger once (optionally with stdin lines); resolves with its PID, rejects on failure or after 10 s. */
function runLogger(args: string[], stdin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(LOGGER!, args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(child.pid!);
      else reject(new Error(`logger ${args.join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
    if (stdin !== undefined) {
      child.stdin!.on('error', () => {}); // logger exiting early shows in its exit code
      child.stdin!.end(stdin);
    }
  });
}

function serverArgs(ep: Endpoint, transport: string[]): string[] {
  return ['--server', ep.host, '--port', String(ep.port), ...transport];
}

/** All files under dir (recursively), relative to it; one that goes away while listed (a store's -shm, a .new being renamed) is left out. */
function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.isFile() ?? false).sort();
}

const PIPELINE_YAML = `
api: false
data_dir: ./state
sources:
  net:
    type: syslog
    listen: [udp://127.0.0.1:0, tcp://127.0.0.1:0]
destinations:
  byhost:
    type: file
    path: "out/\${HOST}/\${PROGRAM}.log"
  fields:
    type: file
    path: "fields/\${PROGRAM}.log"
    template: "\${FACILITY} \${LEVEL} \${PROGRAM} \${PID} \${MSGID} \${SDATA} \${MSG}\\n"
  meta:
    type: file
    path: "meta/\${PROGRAM}.log"
    template: "\${TRANSPORT} \${SOURCEIP} \${MSG}\\n"
log:
  - { from: net, to: [byhost, fields, meta] }
`;

interface Mode { name: string; args: string[]; transport: 'udp' | 'tcp' }
const MODES: Mode[] = [
  { name: 'udp', args: ['--udp'], transport: 'udp' },
  { name: 'tcp', args: ['--tcp'], transport: 'tcp' },
  { name: 'octet', args: ['--tcp', '--octet-count'], transport: 'tcp' },
];
const FORMATS = ['rfc3164', 'rfc5424'] as const;

/** Matches the default line template "${ISODATE} ${HOST} ${MSGHDR}${MSG}". */
const DEFAULT_LINE = /^(\S+) (\S+) ([^\s[:]+)(?:\[([^\]]*)\])?: (.*)$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** logger's default RFC 5424 SD element (absent with --rfc5424=notq). */
const TIME_QUALITY = /^\[timeQuality tzKnown="[01]" isSynced="[01]"(?: syncAccuracy="\d+")?\]/;

describe('logger into an in-process pipeline (udp + tcp on port 0, templated file paths)', () => {
  let dir: string;
  let pipeline: Pipeline | null = null;

  before(async () => {
    dir = tempDir('logger');
    pipeline = await startPipeline(PIPELINE_YAML, dir);
  });

  after(async () => {
    await pipeline?.stop();
  });

  /** The one `out/<HOST>/<tag>.log` file for a tag: its host directory and its lines. */
  function byHost(tag: string): { host: string; lines: string[] } | null {
    const hits = listFiles(path.join(dir, 'out')).filter((f) => path.basename(f) === `${tag}.log`);
    if (hits.length === 0) return null;
    assert.equal(hits.length, 1, `expected one out/<HOST>/${tag}.log, found ${hits.join(', ')}`);
    return { host: path.dirname(hits[0]!), lines: readLines(path.join(dir, 'out', hits[0]!)) };
  }

  async function waitLines(file: string, n: number, what: string): Promise<string[]> {
    await waitFor(() => readLines(file).length >= n, `${n} line(s) in ${what}`, 10_000);
    return readLines(file);
  }

  function checkHost(host: string, format: string): void {
    if (format === 'rfc3164') assert.equal(host, SHORT_HOST, `RFC 3164 HOSTNAME should be logger's short host name ${SHORT_HOST}`);
    else assert.ok(host === SHORT_HOST || host.startsWith(SHORT_HOST + '.'), `RFC 5424 HOSTNAME ${host} should be ${SHORT_HOST} or its FQDN`);
  }

  for (const mode of MODES) {
    for (const format of FORMATS) {
      it(`${mode.name} ${format}: -t TAG --id=PID -p local3.warning lands in out/<HOST>/<TAG>.log with its fields`, async (t: TestContext) => {
        if (!havePeer(t, 'logger', LOGGER)) return;
        const ep = endpoint(pipeline!, 'net', mode.transport);
        const tag = `lg-${mode.name}-${format.slice(3)}`;
        const msg = `hello from logger over ${mode.name} as ${format} run=${RUN}`;
        await runLogger([...serverArgs(ep, mode.args), `--${format}`, '-t', tag, '--id=4242', '-p', 'local3.warning', msg]);

        await waitFor(() => byHost(tag) !== null && byHost(tag)!.lines.length >= 1, `out/<HOST>/${tag}.log`, 10_000);
        const { host, lines } = byHost(tag)!;
        assert.equal(lines.length, 1, `expected exactly one line in out/${host}/${tag}.log, got:\n${lines.join('\n')}`);
        const m = DEFAULT_LINE.exec(lines[0]!);
        assert.ok(m, `line should have the default template's shape "ISODATE HOST PROGRAM[PID]: MSG": ${lines[0]}`);
        const [, isodate, lineHost, program, pid, text] = m;
        assert.match(isodate!, ISO, 'ISODATE should be ISO 8601');
        assert.equal(lineHost, host, 'the HOST in the line should be the directory ${HOST} made');
        checkHost(host, format);
        assert.equal(program, tag, 'PROGRAM should be logger -t TAG');
        assert.equal(pid, '4242', 'PID should be logger --id=4242');
        assert.equal(text, msg, 'MSG should be the text given to logger, unchanged');

        const fields = await waitLines(path.join(dir, 'fields', `${tag}.log`), 1, `fields/${tag}.log`);
        assert.equal(fields.length, 1, `one line expected in fields/${tag}.log:\n${fields.join('\n')}`);
        if (format === 'rfc3164') {
          assert.equal(fields[0], `local3 warning ${tag} 4242   ${msg}`, 'FACILITY LEVEL PROGRAM PID (no MSGID, no SDATA) MSG');
        } else {
          const f = /^(\S+) (\S+) (\S+) (\S+)  (\[.*\]) (.*)$/.exec(fields[0]!);
          assert.ok(f, `fields line should be "FACILITY LEVEL PROGRAM PID <empty MSGID> SDATA MSG": ${fields[0]}`);
          assert.deepEqual(f.slice(1, 5), ['local3', 'warning', tag, '4242'], 'FACILITY/LEVEL/PROGRAM/PID');
          assert.match(f[5]!, TIME_QUALITY, "SDATA should be logger's timeQuality element, as sent");
          assert.equal(f[6], msg, 'MSG after SDATA');
        }

        const meta = await waitLines(path.join(dir, 'meta', `${tag}.log`), 1, `meta/${tag}.log`);
        assert.deepEqual(meta, [`${mode.transport} 127.0.0.1 ${msg}`], 'TRANSPORT and SOURCEIP of the event');
      });
    }

    it(`${mode.name} rfc3164: -i puts logger's own PID in PID; default facility/level is user.notice`, async (t: TestContext) => {
      if (!havePeer(t, 'logger', LOGGER)) return;
      const ep = endpoint(pipeline!, 'net', mode.transport);
      const tag = `lg-${mode.name}-pid`;
      const msg = `logger -i over ${mode.name} run=${RUN}`;
      const pid = await runLogger([...serverArgs(ep, mode.args), '--rfc3164', '-t', tag, '-i', msg]);
      const fields = await waitLines(path.join(dir, 'fields', `${tag}.log`), 1, `fields/${tag}.log`);
      assert.deepEqual(fields, [`user notice ${tag} ${pid}   ${msg}`], "PID should be the logger process's PID");
      await waitFor(() => (byHost(tag)?.lines.length ?? 0) > 0, `out/<HOST>/${tag}.log`, 10_000);
      const { host, lines } = byHost(tag)!;
      assert.equal(host, SHORT_HOST, 'host directory');
      assert.match(lines[0]!, new RegExp(`^\\S+ ${SHORT_HOST} ${tag}\\[${pid}\\]: ${msg}$`), 'default line with PROGRAM[PID]');
    });

    it(`${mode.name} rfc5424: --msgid, --sd-id/--sd-param (two elements) parse into MSGID and SDATA`, async (t: TestContext) => {
      if (!havePeer(t, 'logger', LOGGER)) return;
      const ep = endpoint(pipeline!, 'net', mode.transport);
      const tag = `lg-${mode.name}-sd`;
      const msg = `structured data over ${mode.name} run=${RUN}`;
      const pid = await runLogger([
        ...serverArgs(ep, mode.args), '--rfc5424=notq', '-t', tag, '-i', '-p', 'auth.err', '--msgid', 'ID47',
        '--sd-id', 'ex@32473', '--sd-param', 'k="v"', '--sd-param', 'n="1"', '--sd-id', 'origin', '--sd-param', 'ip="10.0.0.1"', msg,
      ]);
      const fields = await waitLines(path.join(dir, 'fields', `${tag}.log`), 1, `fields/${tag}.log`);
      assert.deepEqual(fields, [`auth err ${tag} ${pid} ID47 [ex@32473 k="v" n="1"][origin ip="10.0.0.1"] ${msg}`],
        'FACILITY LEVEL PROGRAM PID MSGID SDATA MSG as logger sent them');
    });

    it(`${mode.name} rfc5424: an SD value with \\" and \\] escapes, and UTF-8 text, are kept byte for byte`, async (t: TestContext) => {
      if (!havePeer(t, 'logger', LOGGER)) return;
      const ep = endpoint(pipeline!, 'net', mode.transport);
      const tag = `lg-${mode.name}-esc`;
      const msg = `ünïcödé ✓ über ${mode.name} run=${RUN}`;
      await runLogger([...serverArgs(ep, mode.args), '--rfc5424=notq', '-t', tag, '--id=7', '--sd-id', 'ex@32473', '--sd-param', 'k="a\\"b\\]c"', msg]);
      const fields = await waitLines(path.join(dir, 'fields', `${tag}.log`), 1, `fields/${tag}.log`);
      assert.deepEqual(fields, [`user notice ${tag} 7  [ex@32473 k="a\\"b\\]c"] ${msg}`], 'SDATA as sent (escapes intact) and the UTF-8 MSG unchanged');
    });

    if (mode.transport === 'tcp') {
      it(`${mode.name}: several stdin lines on one connection are separate messages, in order`, async (t: TestContext) => {
        if (!havePeer(t, 'logger', LOGGER)) return;
        const ep = endpoint(pipeline!, 'net', 'tcp');
        for (const format of FORMATS) {
          const tag = `lg-${mode.name}-multi-${format.slice(3)}`;
          const sent = Array.from({ length: 5 }, (_, i) => `line ${i} of a ${format} batch over ${mode.name} run=${RUN}`);
          await runLogger([...serverArgs(ep, mode.args), `--${format}`, '-t', tag], sent.join('\n') + '\n');
          const meta = await waitLines(path.join(dir, 'meta', `${tag}.log`), sent.length, `meta/${tag}.log`);
          assert.deepEqual(meta, sent.map((s) => `tcp 127.0.0.1 ${s}`), `the ${sent.length} lines, each one event, in order`);
        }
      });
    }
  }
});

/**
 * SIGTERM, then SIGKILL after 15 s. (SluiceProcess.stop() leaves its 15 s timer referenced,
 * which holds the test process open that long after a clean exit.)
 */
async function stopSluice(p: SluiceProcess): Promise<void> {
  if (p.exitCode !== null || p.signal !== null) return;
  p.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.wait(), new Promise((r) => { timer = setTimeout(r, 15_000); })]);
  clearTimeout(timer);
  if (p.exitCode === null && p.signal === null) await p.kill9();
}

/** Fails (does not skip) when something else holds a port the default config needs. */
async function assertPortFree(port: number, what: string): Promise<void> {
  const tcpFree = await new Promise<string | null>((resolve) => {
    const s = net.createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(null)));
  });
  const udpFree = await new Promise<string | null>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', (e: NodeJS.ErrnoException) => { s.close(); resolve(e.code ?? e.message); });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(null)));
  });
  if (tcpFree || udpFree) {
    assert.fail(`127.0.0.1:${port} (${what}) is already in use on this machine (tcp: ${tcpFree ?? 'free'}, udp: ${udpFree ?? 'free'}); ` +
      'the default-config test needs it: stop whatever listens there (e.g. `ss -lunpt | grep ' + port + '`) and run again');
  }
}

describe('`sluice run` with the embedded default config (child process)', () => {
  let sluice: SluiceProcess | null = null;

  after(async () => {
    if (sluice) await stopSluice(sluice);
  });

  it('listens on 127.0.0.1:5140 udp+tcp and writes logger messages under ./data; SIGTERM stops it cleanly', { timeout: 360_000 }, (t: TestContext) => withDefaultPorts(async () => {
    if (!havePeer(t, 'logger', LOGGER)) return;
    await assertPortFree(5140, 'the default syslog port, udp and tcp');
    await assertPortFree(8514, 'the default API port');
    const cwd = tempDir('default-run');
    sluice = await spawnSluice(['run'], { cwd });
    assert.equal(sluice.exitCode, null, `sluice run should be running:\n${sluice.stderr.join('\n')}`);
    const addrs = sluice.addresses('net');
    assert.ok(addrs.includes('udp://127.0.0.1:5140') && addrs.includes('tcp://127.0.0.1:5140'),
      `the default source should listen on udp and tcp 127.0.0.1:5140, logged: ${addrs.join(' ')}`);

    const ep: Endpoint = { host: '127.0.0.1', port: 5140 };
    const sent = new Map<string, string>();
    for (const mode of MODES) {
      const tag = `dflt-${mode.name}`;
      const msg = `default config via ${mode.name} run=${RUN}`;
      sent.set(tag, msg);
      await runLogger([...serverArgs(ep, mode.args), '--rfc3164', '-t', tag, msg]);
    }

    const dataDir = path.join(cwd, 'data');
    // Only the files destination's logs (the store's database files are under data/store).
    const logFiles = () => listFiles(dataDir).filter((f) => f.startsWith('logs/'));
    const allLines = () => logFiles().flatMap((f) => readLines(path.join(dataDir, f)));
    await waitFor(() => [...sent.values()].every((m) => allLines().some((l) => l.endsWith(': ' + m))), 'all three messages under data/', 10_000);
    const files = logFiles().filter((f) => readLines(path.join(dataDir, f)).some((l) => l.includes(RUN)));
    assert.equal(files.length, 1, `expected the messages in one file per host and day, got ${files.join(', ')}`);
    assert.match(files[0]!, new RegExp(`^logs/${SHORT_HOST}/\\d{4}-\\d{2}-\\d{2}\\.log$`), 'path should be data/logs/${HOST}/${YEAR}-${MONTH}-${DAY}.log');
    for (const [tag, msg] of sent) {
      const line = allLines().find((l) => l.endsWith(': ' + msg));
      assert.match(line!, new RegExp(`^\\S+ ${SHORT_HOST} ${tag}: ${msg}$`), `default line "ISODATE HOST PROGRAM: MSG" for ${tag}`);
    }

    // The default also serves metrics on 127.0.0.1:8514.
    const res = await fetch('http://127.0.0.1:8514/metrics', { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200, 'GET /metrics on the default API port');
    assert.ok(metricFromText(await res.text(), 'sluice_events_received_total', { component: 'net' }) >= 3,
      'sluice_events_received_total{component="net"} should count the three messages');

    const p = sluice;
    await stopSluice(p);
    assert.equal(p.exitCode, 0, `SIGTERM should exit 0:\n${p.stderr.join('\n')}`);
    assert.ok(p.stderr.some((l) => /\[sluice\] stopped/.test(l)), `a "stopped" log line after SIGTERM:\n${p.stderr.join('\n')}`);
  }));
});
