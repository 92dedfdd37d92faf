// Collectors benchmark: file tail lines/s for sluice, rsyslog's imfile and syslog-ng's file() in
// the same run (each reads the same pre-written file from its beginning and writes every line
// to a file; timed from process start until the output holds every line), and NetFlow v9
// decoding flows/s.
//
// Run: node dist/bench/micro/collectors.js [lines=1000000] [netflow-seconds=3]

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetflowDecoder } from '../../src/sources/netflow/decoder.js';
import { findRsyslogd, findSyslogNg } from '../../test/helpers/peers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const LINE_BYTES = 120;
const BOUND_MS = 120_000;

function writeInput(file: string, lines: number): number {
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let chunk = '';
  for (let i = 1; i <= lines; i++) {
    const head = `2026-03-01T12:00:00Z web-${i % 8} app[${1000 + (i % 50)}]: request seq=${i} `;
    const line = head + 'x'.repeat(LINE_BYTES - 1 - head.length) + '\n';
    chunk += line;
    bytes += line.length;
    if (chunk.length > 1 << 20) { fs.writeSync(fd, chunk); chunk = ''; }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  return bytes;
}

/** Newlines in a growing file, counted incrementally. */
class LineCounter {
  private pos = 0;
  lines = 0;
  constructor(private readonly file: string) {}
  poll(): number {
    let fd: number;
    try { fd = fs.openSync(this.file, 'r'); } catch { return this.lines; }
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, this.pos);
        if (n === 0) break;
        for (let i = 0; i < n; i++) if (buf[i] === 0x0a) this.lines++;
        this.pos += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return this.lines;
  }
}

/** The peak RSS (VmHWM) of a process in MB; null when unreadable. */
function peakRssMb(pid: number | undefined): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch { return null; }
}

async function timeTail(name: string, out: string, lines: number, start: () => ChildProcess): Promise<{ name: string; seconds: number | null; linesPerSecond: number | null; peakRssMb?: number | null; note?: string }> {
  const counter = new LineCounter(out);
  const t0 = process.hrtime.bigint();
  const child = start();
  let exited = false;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
  child.once('exit', () => { exited = true; });
  try {
    for (;;) {
      const got = counter.poll();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (got >= lines) return { name, seconds: ms / 1000, linesPerSecond: lines / (ms / 1000), peakRssMb: peakRssMb(child.pid) };
      if (exited) return { name, seconds: null, linesPerSecond: null, note: `exited after ${got} lines: ${stderr.trim().split('\n').slice(-2).join(' ')}` };
      if (ms > BOUND_MS) return { name, seconds: null, linesPerSecond: null, note: `only ${got}/${lines} lines in ${BOUND_MS / 1000} s` };
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    if (!exited && child.pid) {
      child.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(null); }, 5000); child.once('exit', () => { clearTimeout(t); r(null); }); });
    }
  }
}

async function fileTail(lines: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-tail-'));
  try {
    const input = path.join(dir, 'input.log');
    const bytes = writeInput(input, lines);
    process.stdout.write(`file tail: ${lines} lines of ${LINE_BYTES} bytes (${(bytes / 1e6).toFixed(1)} MB), read from the beginning, written to a file\n`);
    const results = [];

    const sluiceOut = path.join(dir, 'sluice.out');
    const cfg = path.join(dir, 'sluice.yaml');
    fs.writeFileSync(cfg, `api: false\ndata_dir: ${dir}/sluice-data\nsources:\n  tail: { type: file, include: ["${input}"], read_from: beginning }\n` +
      `destinations:\n  out: { type: file, path: "${sluiceOut}", template: "\${MSG}\\n" }\nlog:\n  - { from: tail, to: out }\n`);
    results.push(await timeTail('sluice file', sluiceOut, lines, () => spawn(process.execPath, [path.join(ROOT, 'bin', 'sluice.js'), 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })));

    const rs = findRsyslogd();
    if (rs) {
      const out = path.join(dir, 'rsyslog.out');
      const work = path.join(dir, 'rsyslog-work');
      fs.mkdirSync(work);
      const conf = path.join(dir, 'rsyslog.conf');
      fs.writeFileSync(conf, `global(workDirectory="${work}" maxMessageSize="8k")\nmodule(load="imfile")\n` +
        `template(name="msgonly" type="string" string="%msg%\\n")\n` +
        `ruleset(name="bench") { action(type="omfile" file="${out}" template="msgonly") }\n` +
        `input(type="imfile" file="${input}" tag="app" ruleset="bench" freshStartTail="off" reopenOnTruncate="on")\n`);
      results.push(await timeTail('rsyslog imfile', out, lines, () => spawn(rs.bin, ['-n', '-f', conf, '-M', rs.moddir, '-i', path.join(dir, 'rsyslog.pid')], { env: { ...process.env, ...rs.env }, stdio: ['ignore', 'ignore', 'pipe'] })));
    } else {
      results.push({ name: 'rsyslog imfile', seconds: null, linesPerSecond: null, note: 'rsyslogd not installed' });
    }

    const ng = findSyslogNg();
    if (ng) {
      const out = path.join(dir, 'syslog-ng.out');
      const conf = path.join(dir, 'syslog-ng.conf');
      fs.writeFileSync(conf, `@version: 3.38\noptions { stats-freq(0); };\n` +
        `source s_file { file("${input}" follow-freq(0.1) flags(no-parse) log-fetch-limit(1000) log-iw-size(100000)); };\n` +
        `destination d_out { file("${out}" template("\${MSG}\\n")); };\nlog { source(s_file); destination(d_out); flags(flow-control); };\n`);
      results.push(await timeTail('syslog-ng file()', out, lines, () => spawn(ng.bin, ['-F', '-f', conf, '-R', path.join(dir, 'syslog-ng.persist'), '-p', path.join(dir, 'syslog-ng.pid'), '-c', path.join(dir, 'syslog-ng.ctl')], { env: { ...process.env, ...ng.env }, stdio: ['ignore', 'ignore', 'pipe'] })));
    } else {
      results.push({ name: 'syslog-ng file()', seconds: null, linesPerSecond: null, note: 'syslog-ng not installed' });
    }

    process.stdout.write('\n| reader | seconds | lines/s | peak RSS MB |\n|---|---|---|---|\n');
    for (const r of results) process.stdout.write(`| ${r.name} | ${r.seconds?.toFixed(2) ?? '-'} | ${r.linesPerSecond ? Math.round(r.linesPerSecond).toLocaleString('en-US') : r.note} | ${r.peakRssMb?.toFixed(1) ?? '-'} |\n`);
    const peers = results.filter((r) => r.name !== 'sluice file' && r.linesPerSecond);
    const mine = results[0]!.linesPerSecond;
    if (mine && peers.length) {
      const best = Math.max(...peers.map((p) => p.linesPerSecond!));
      process.stdout.write(`\nsluice / faster peer: ${(mine / best).toFixed(2)}x (goal: >= 1)\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A v9 export packet: template set (when `withTemplate`) and a data set of `n` flows. */
function v9Packet(seq: number, n: number, withTemplate: boolean): Buffer {
  const fields: [number, number][] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [2, 4], [1, 4], [22, 4], [21, 4], [10, 2], [14, 2]];
  const recLen = fields.reduce((a, f) => a + f[1], 0);
  const parts: Buffer[] = [];
  const h = Buffer.alloc(20);
  h.writeUInt16BE(9, 0); h.writeUInt16BE(n + (withTemplate ? 1 : 0), 2); h.writeUInt32BE(100_000, 4); h.writeUInt32BE(1_700_000_000, 8); h.writeUInt32BE(seq, 12); h.writeUInt32BE(1, 16);
  parts.push(h);
  if (withTemplate) {
    const t = Buffer.alloc(4 + 4 + fields.length * 4);
    t.writeUInt16BE(0, 0); t.writeUInt16BE(t.length, 2); t.writeUInt16BE(256, 4); t.writeUInt16BE(fields.length, 6);
    fields.forEach(([id, len], i) => { t.writeUInt16BE(id, 8 + i * 4); t.writeUInt16BE(len, 10 + i * 4); });
    parts.push(t);
  }
  const d = Buffer.alloc(4 + n * recLen);
  d.writeUInt16BE(256, 0); d.writeUInt16BE(d.length, 2);
  for (let i = 0; i < n; i++) {
    let o = 4 + i * recLen;
    for (const [, len] of fields) { if (len === 4) d.writeUInt32BE((i * 2654435761) >>> 0, o); else if (len === 2) d.writeUInt16BE(i & 0xffff, o); else d[o] = 6; o += len; }
  }
  parts.push(d);
  return Buffer.concat(parts);
}

function netflowDecode(seconds: number): void {
  let errors = 0;
  const dec = new NetflowDecoder({ maxTemplates: 1000, maxWaitingBytes: 1 << 20, waitingTtlMs: 60_000 }, () => { errors++; });
  dec.decode(v9Packet(0, 1, true), '127.0.0.1:9995', Date.now());
  const packet = v9Packet(1, 30, false);
  let flows = 0;
  let seq = 1;
  const end = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    for (let i = 0; i < 1000; i++) {
      packet.writeUInt32BE(seq++, 12);
      flows += dec.decode(packet, '127.0.0.1:9995', 0).length;
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`\nnetflow: v9 decoding, 30 flows of 12 fields per packet: ${Math.round(flows / s).toLocaleString('en-US')} flows/s (${flows} flows in ${s.toFixed(2)} s, one core, to field objects; ${errors} problems)\n`);
}

const lines = Number(process.argv[2] ?? 1_000_000);
const nfSeconds = Number(process.argv[3] ?? 3);
await fileTail(lines);
netflowDecode(nfSeconds);
