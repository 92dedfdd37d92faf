// Micro benchmark: 256-byte RFC 5424 over TCP into the embedded store (text index included), end to end.
//
// Run: node dist/bench/micro/store-ingest.js [events=300000]
// STORE_BATCH=N sets the destination's batch_events, STORE_BUF=bytes its memory buffer's
// max_bytes (a batch is at most what the buffer holds); TMPDIR=/dev/shm puts the store on
// tmpfs, which separates the disk's share of the time from the CPU's.
// The daemon (`sluice run`, TCP source → store) and the sender (`sluice send`) are separate
// processes, as in use; the clock runs from the sender's start until the store's highest seq
// reaches the count (everything committed). Also prints the disk bytes per stored event.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxSeq } from '../../src/store/sqlite/scan.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'sluice.js');

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread (tid -> [name, seconds]); the main thread's tid is the pid. */
function threadSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), (Number(parts[11]) + Number(parts[12])) / 100);
    } catch { /* the thread ended */ }
  }
  return out;
}

/** The destination options the environment asks for (STORE_BATCH, STORE_BUF), as YAML flow keys. */
function storeOptions(): string {
  const { STORE_BATCH: batch, STORE_BUF: buf } = process.env;
  return (batch ? `, batch_events: ${Number(batch)}` : '') + (buf ? `, buffer: { max_bytes: ${Number(buf)} }` : '');
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-bench-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'sluice.yaml'), `
api: false
data_dir: ${dir}/data
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:${port}"] }
destinations:
  store: { type: store, path: ${dir}/store${storeOptions()} }
log:
  - { from: net, to: store }
`);
  const env = process.env;
  const daemon = spawn(process.execPath, [BIN, 'run', '-c', path.join(dir, 'sluice.yaml')], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  try {
    const started = Date.now();
    while (!log.includes('[sluice] started')) {
      if (Date.now() - started > 30_000 || daemon.exitCode !== null) throw new Error(`daemon did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const cpu0 = cpuSeconds(daemon.pid!);
    const threads0 = threadSeconds(daemon.pid!);
    const t0 = performance.now();
    const sender = spawn(process.execPath, [BIN, 'send', `tcp://127.0.0.1:${port}`, '--count', String(total), '--size', '256', '--format', 'rfc5424'], { stdio: 'ignore' });
    const deadline = Date.now() + 300_000;
    const store = path.join(dir, 'store');
    while (maxSeq(store) < total) {
      if (Date.now() > deadline) throw new Error(`only ${maxSeq(store)} of ${total} stored after 300 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = performance.now() - t0;
    const cpu = cpuSeconds(daemon.pid!) - cpu0;
    const threads1 = threadSeconds(daemon.pid!);
    sender.kill();
    let bytes = 0;
    for (const f of fs.readdirSync(store)) { const st = fs.statSync(path.join(store, f)); if (st.isFile()) bytes += st.size; }
    console.log(`store-ingest: ${total.toLocaleString('en')} 256-byte RFC 5424 events over TCP into the embedded store (FTS5 index, time index, per-minute counts, sealed leaves)`);
    console.log(`  committed: ${Math.round(total / ms * 1000).toLocaleString('en')} events/s (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);
    // CPU time does not depend on what else runs on the machine; wall-clock rates do.
    const perEvent = (cpu / total) * 1e6;
    console.log(`  daemon CPU: ${perEvent.toFixed(1)} µs per event over all its threads (main: parse + records + leaf hashes; rows writer and text index: SQLite)`);
    // The main thread is the pid; the two busiest other threads are the store's rows writer and
    // its text index; the rest is GC helpers and libuv (threads that ended are in the total only).
    const used = [...threads1].map(([tid, sec]) => [tid, sec - (threads0.get(tid) ?? 0)] as const);
    const main = used.find(([tid]) => tid === daemon.pid)?.[1] ?? NaN;
    const others = used.filter(([tid]) => tid !== daemon.pid).map(([, s]) => s).sort((a, b) => b - a);
    const us = (sec: number) => ((sec / total) * 1e6).toFixed(1);
    const writers = (others[0] ?? 0) + (others[1] ?? 0);
    console.log(`  by thread: main ${us(main)} µs, rows writer ${us(others[0] ?? 0)} µs, text index ${us(others[1] ?? 0)} µs, others ${us(cpu - main - writers)} µs per event`);
    console.log(`  disk: ${(bytes / total).toFixed(0)} bytes per stored event`);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
