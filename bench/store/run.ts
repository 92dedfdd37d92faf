// Store benchmarks: TCP (256-byte RFC 5424, loggen) into a store, sluice beside rsyslog and syslog-ng, same run.
//
//   node dist/bench/store/run.js [--count N] [--reps N] [--receivers a,b] [--query-events N] [--no-ingest] [--no-query]
//
// Ingest runs --reps (default 3) interleaved repetitions (rep 1 of every receiver, then rep 2, …)
// and reports each receiver's median, so a slow moment of the shared machine hits every
// receiver alike; CPU per event (receiver + PostgreSQL server) is the load-robust figure.
// Ingest: each receiver gets its own fresh database (PostgreSQL receivers) or directory, is
// started in the foreground from bench/store/conf/<receiver>.*.in, driven by one loggen
// connection (-n COUNT, -I 60, under a timeout), and watched: events/s = stored rows / (last −
// first observed change of the row count, polled every 250 ms); disk bytes per stored event =
// (database size − the size of an empty database) / rows, or the store directory's size / rows.
// Receivers: sluice-store (the embedded store; skipped with a message while the `store`
// destination type is unknown), sluice-postgres, rsyslog-ompgsql (rsyslog-pgsql, unpacked by
// bench/peers/setup.sh), syslog-ng-sql (syslog-ng-mod-sql + libdbd-pgsql).
// Query latency: 1,000,000 varied events (24 h, 20 hosts, a rare word once per 10,000) written
// through the postgres and the store destination, then through their readers, median of 20: the rare word's
// newest 100; facet counts by host over 24 h; a 60-bucket histogram. Each store is read twice:
// as the API reads it (rollup for facets and histograms) and with rollup: false (every row
// counted, as before the rollup), interleaved query by query.
// Everything listens on 127.0.0.1; processes are stopped by PID; each step is bounded in count and time.
// Prints a markdown table on stdout (progress on stderr).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { destinationKind } from '../../src/destinations/index.js';
import { PostgresDestination, postgresDestinationSchema } from '../../src/destinations/postgres/index.js';
import { StoreDestination } from '../../src/destinations/store/index.js';
import { storeDestinationSchema } from '../../src/destinations/store/config.js';
import type { Destination, SendResult } from '../../src/destinations/types.js';
import type { StoreReader } from '../../src/store/types.js';
import { setLogSink } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import type { Node, Query } from '../../src/store/query/ast.js';
import { PgStoreReader } from '../../src/store/postgres/reader.js';
import { ThreadedStoreReader } from '../../src/store/sqlite/threaded-reader.js';
import { listPartitions, openPartitionForRead } from '../../src/store/sqlite/schema.js';
import { variedChunk } from '../micro/pg-store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CONF = path.join(ROOT, 'bench', 'store', 'conf');
const COMMON = path.join(ROOT, 'bench', 'peers', 'lib', 'common.sh');
const PG_ADMIN = process.env.SLUICE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_PORT = Number(new URL(PG_ADMIN).port || 5432);
const MSG_SIZE = 256;
const MAX_SEND_S = 60;
const QUIET_MS = 3000;
const HARD_S = 180;

const say = (m: string): void => { process.stderr.write(`[store-bench ${new Date().toTimeString().slice(0, 8)}] ${m}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Receiver = 'sluice-store' | 'sluice-postgres' | 'rsyslog-ompgsql' | 'syslog-ng-sql';
const RECEIVERS: Receiver[] = ['sluice-store', 'sluice-postgres', 'rsyslog-ompgsql', 'syslog-ng-sql'];

interface Peers { rsyslogd: string; moddir: string; syslogng: string; sngEnv: string[]; loggen: string }

/** Where rsyslog, syslog-ng and loggen are, as the peer harness finds them (lib/common.sh). */
function findPeers(): Peers {
  const out = execFileSync('bash', ['-c', `. "${COMMON}"; find_peers; printf '%s\\n' "$RSYSLOGD" "$RSYSLOG_MODDIR" "$SYSLOGNG" "$LOGGEN" "\${SNG_ENV[*]}"`], { encoding: 'utf8', timeout: 20_000 });
  const [rsyslogd = '', moddir = '', syslogng = '', loggen = '', env = ''] = out.split('\n');
  return { rsyslogd, moddir, syslogng, loggen, sngEnv: env.split(' ').filter(Boolean) };
}

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try { return await f(c); } finally { await c.end(); }
}

function dbUrl(name: string): string {
  return PG_ADMIN.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
}

async function freshDb(tag: string): Promise<string> {
  const name = `sluice_bench_${tag.replace(/-/g, '_')}_${crypto.randomBytes(3).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return name;
}

async function dropDb(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch((e) => say(`cannot drop ${name}: ${(e as Error).message}`));
}

async function withDb<T>(name: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: dbUrl(name) });
  await c.connect();
  try { return await f(c); } finally { await c.end(); }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

async function waitListen(port: number, proc: ChildProcess, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc.exitCode !== null) return false;
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

function render(template: string, vals: Record<string, string>): string {
  return fs.readFileSync(template, 'utf8').replace(/@([A-Z0-9]+)@/g, (m, k: string) => vals[k] ?? m);
}

function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return 0; }
}

/** A field of /proc/PID/status in MB (VmRSS: now, VmHWM: peak); 0 when unreadable. */
function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? +(Number(m[1]) / 1024).toFixed(1) : 0;
  } catch { return 0; }
}

function statFields(pid: number): string[] | null {
  try { return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); } catch { return null; }
}

/**
 * CPU seconds the PostgreSQL server has used: the postmaster with its reaped children
 * (cutime/cstime: backends that ended) plus the children still running.
 */
function serverCpuSeconds(postmaster: number): number {
  const f = statFields(postmaster);
  if (f === null) return 0;
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const c = statFields(Number(d));
    if (c !== null && Number(c[1]) === postmaster) ticks += Number(c[11]) + Number(c[12]);
  }
  return ticks / 100;
}

async function postmasterPid(): Promise<number> {
  // Read while the connection (and so its backend process) is still there.
  return admin(async (c) => {
    const f = statFields(Number((await c.query('SELECT pg_backend_pid() AS p')).rows[0].p));
    return f ? Number(f[1]) : 0;
  });
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

async function stopPid(p: ChildProcess, graceMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => { if (p.exitCode === null) p.kill('SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(t);
}

export interface IngestRow {
  receiver: Receiver;
  rep: number;
  sent: number;
  stored: number;
  seconds: number;
  eventsPerSecond: number;
  bytesPerEvent: number | null;
  cpuSeconds: number;
  serverCpuSeconds: number;
  /** receiver RSS (MB) 1 s after it listens, before the load; and its peak (VmHWM) at the end */
  idleRssMb: number;
  peakRssMb: number;
  note: string;
}

interface Counter { count(): Promise<number>; finalCount?(): Promise<number>; bytes(): Promise<number | null>; cleanup(): Promise<void> }

/** One ingest run of one receiver; null with a reason when it cannot run here. */
async function ingestOne(r: Receiver, rep: number, count: number, peers: Peers, baseBytes: number, postmaster: number): Promise<IngestRow | string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `sluice-store-bench-${r}-`));
  const data = path.join(work, 'data');
  fs.mkdirSync(data);
  const port = await freePort();
  const bin = path.join(ROOT, 'bin', 'sluice.js');
  let proc: ChildProcess;
  let counter: Counter;
  let db: string | null = null;
  const log = fs.openSync(path.join(work, 'daemon.log'), 'w');
  try {
    if (r === 'sluice-store') {
      if (!destinationKind('store')) return 'skipped: this build has no `store` destination type (the embedded store is not merged yet)';
      const store = path.join(data, 'store');
      const cfg = path.join(work, 'sluice.yaml');
      fs.writeFileSync(cfg, render(path.join(CONF, 'sluice-store.yaml.in'), { PORT: String(port), DATA: data, STORE: store }));
      proc = spawn('node', [bin, 'run', '-c', cfg], { cwd: work, stdio: ['ignore', log, log] });
      counter = {
        // The rows committed, read as the peers' counters read theirs (a count, in process,
        // every 250 ms): a `sluice query` process per poll would take CPU from the daemon.
        async count() {
          let n = 0;
          try {
            for (const p of listPartitions(store)) {
              const h = openPartitionForRead(p.file);
              try { n += (h.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n; } finally { h.close(); }
            }
          } catch { /* a partition being made: the next poll counts it */ }
          return n;
        },
        // Once at the end, through the query engine as a user would: the figure the row reports.
        async finalCount() {
          try {
            const out = execFileSync('node', [bin, 'query', '-c', cfg, '--format', 'json', '--since', '100d', '| stats count()'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] });
            const line = out.trim().split('\n').pop() ?? '';
            return line ? Number((JSON.parse(line) as { count: number }).count) || 0 : 0;
          } catch { return 0; }
        },
        async bytes() { return fs.existsSync(store) ? dirBytes(store) : null; },
        async cleanup() {},
      };
    } else {
      db = await freshDb(r);
      const dbName = db;
      let table = 'sluice_events';
      if (r === 'sluice-postgres') {
        const cfg = path.join(work, 'sluice.yaml');
        fs.writeFileSync(cfg, render(path.join(CONF, 'sluice-postgres.yaml.in'), { PORT: String(port), DATA: data, PGURL: dbUrl(db) }));
        proc = spawn('node', [bin, 'run', '-c', cfg], { cwd: work, stdio: ['ignore', log, log] });
      } else if (r === 'rsyslog-ompgsql') {
        const mod = path.join(peers.moddir, 'ompgsql.so');
        if (!fs.existsSync(peers.rsyslogd) || !fs.existsSync(mod)) return `skipped: rsyslog or ompgsql.so (${mod}) not installed: run bench/peers/setup.sh as root`;
        const schema = path.join(path.dirname(path.dirname(path.dirname(peers.moddir))), 'share', 'dbconfig-common', 'data', 'rsyslog-pgsql', 'install', 'pgsql');
        const sql = fs.existsSync(schema) ? fs.readFileSync(schema, 'utf8') : fs.readFileSync('/usr/share/dbconfig-common/data/rsyslog-pgsql/install/pgsql', 'utf8');
        await withDb(dbName, (c) => c.query(sql));
        table = 'systemevents';
        const cfg = path.join(work, 'rsyslog.conf');
        fs.writeFileSync(cfg, render(path.join(CONF, 'rsyslog-ompgsql.conf.in'), { WORK: work, PORT: String(port), PGDB: dbName, PGPORT: String(PG_PORT) }));
        proc = spawn(peers.rsyslogd, ['-n', '-M', peers.moddir, '-f', cfg, '-i', path.join(work, 'rsyslogd.pid')], { cwd: work, stdio: ['ignore', log, log] });
      } else {
        const mod = ['/usr/lib/syslog-ng/3.38/libafsql.so', path.join(path.dirname(path.dirname(peers.syslogng)), 'lib', 'syslog-ng', '3.38', 'libafsql.so')].find((f) => fs.existsSync(f));
        if (!fs.existsSync(peers.syslogng) || !mod) return 'skipped: syslog-ng or its sql() module (syslog-ng-mod-sql) not installed: run bench/peers/setup.sh as root';
        table = 'messages';
        const cfg = path.join(work, 'syslog-ng.conf');
        fs.writeFileSync(cfg, render(path.join(CONF, 'syslog-ng-sql.conf.in'), { PORT: String(port), PGDB: dbName, PGPORT: String(PG_PORT) }));
        const [cmd, ...args] = [...peers.sngEnv, peers.syslogng, '-F', '--no-caps', '-f', cfg, `--persist-file=${work}/sng.persist`, `--pidfile=${work}/sng.pid`, `--control=${work}/sng.ctl`];
        proc = spawn(cmd!, args, { cwd: work, stdio: ['ignore', log, log] });
      }
      const client = new pg.Client({ connectionString: dbUrl(dbName) });
      await client.connect();
      counter = {
        async count() {
          try { return Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n); } catch { return 0; }
        },
        async bytes() {
          return Number((await client.query('SELECT pg_database_size(current_database()) AS s')).rows[0].s) - baseBytes;
        },
        async cleanup() { await client.end().catch(() => {}); },
      };
    }
    try {
      if (!(await waitListen(port, proc, 20_000))) return `FAILED: ${r} did not listen on ${port} (log: ${fs.readFileSync(path.join(work, 'daemon.log'), 'utf8').slice(-300)})`;
      await sleep(1000); // as the peer harness (IDLE_SETTLE_S): start-up settles before the idle RSS is read
      const idleRssMb = statusMb(proc.pid!, 'VmRSS');
      const cpu0 = cpuSeconds(proc.pid!);
      const server0 = serverCpuSeconds(postmaster);
      const sendArgs = peers.loggen
        ? [peers.loggen, '-i', '-S', '-P', '-F', '-s', String(MSG_SIZE), '-n', String(count), '-r', '1000000000', '-I', String(MAX_SEND_S), '127.0.0.1', String(port)]
        : ['node', bin, 'send', '-n', String(count), '-s', String(MSG_SIZE), '-d', String(MAX_SEND_S), '--no-progress', '--hostname', 'localhost', '--appname', 'prg00000', '--framing', 'lf', `tcp://127.0.0.1:${port}`];
      const sender = spawn('timeout', ['-k', '5', String(MAX_SEND_S + 10), ...sendArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
      let senderOut = '';
      sender.stdout!.on('data', (d: Buffer) => { senderOut += d.toString(); });
      sender.stderr!.on('data', (d: Buffer) => { senderOut += d.toString(); });
      let senderDone = false;
      sender.once('exit', () => { senderDone = true; });
      const t0 = Date.now();
      let last = 0, tFirst = 0, tLast = 0, doneAt = 0;
      const poll = 250;
      while (Date.now() - t0 < HARD_S * 1000) {
        const n = await counter.count();
        const t = Date.now();
        if (n !== last) { if (tFirst === 0) tFirst = t; tLast = t; last = n; }
        if (senderDone && doneAt === 0) doneAt = t;
        if (doneAt > 0 && t - Math.max(tLast, doneAt) >= QUIET_MS) break;
        if (doneAt > 0 && n >= count) break;
        await sleep(poll);
      }
      if (!senderDone) { sender.kill('SIGTERM'); }
      const cpu = cpuSeconds(proc.pid!) - cpu0;
      const peakRssMb = statusMb(proc.pid!, 'VmHWM');
      const serverCpu = serverCpuSeconds(postmaster) - server0;
      const m = /count=(\d+)/.exec(senderOut.split('\n').reverse().find((l) => l.includes('count=')) ?? '') ?? /sent (\d+) messages/.exec(senderOut);
      const sent = m ? Number(m[1]) : count;
      // From the first stored row to the last: the first poll that saw rows stands for the start.
      const secs = tLast > tFirst ? (tLast - tFirst) / 1000 : 0;
      if (counter.finalCount) last = await counter.finalCount();
      if (r !== 'sluice-store' && db !== null) await withDb(db, (c) => c.query('CHECKPOINT').catch(() => undefined));
      const bytes = await counter.bytes();
      return {
        receiver: r, rep, sent, stored: last, seconds: +secs.toFixed(2),
        eventsPerSecond: secs > 0 ? Math.round(last / secs) : 0,
        bytesPerEvent: bytes !== null && last > 0 ? Math.round(bytes / last) : null,
        cpuSeconds: +cpu.toFixed(1),
        serverCpuSeconds: +serverCpu.toFixed(1),
        idleRssMb, peakRssMb,
        note: last < sent ? `${sent - last} of ${sent} not stored within the bound` : '',
      };
    } finally {
      await stopPid(proc, 10_000);
      await counter.cleanup();
    }
  } finally {
    fs.closeSync(log);
    if (db !== null) await dropDb(db);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export interface QueryRow { store: string; query: string; medianMs: number; rows: number; note: string }

function q(text: string, filter: Node): Query {
  return { text, filter, pipes: [], scans: false };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timed(n: number, f: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    rows = await f();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: +median(times).toFixed(1), rows };
}

/** Writes `total` varied events of the last 24 h through `dest`, in batches; events/s. */
async function load(dest: Destination, total: number, start: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < total; i += 5000) {
    const batch = variedChunk(total, start, 86_400_000, i, 5000);
    const r = await new Promise<SendResult>((res) => dest.send(batch, res));
    if (r.status !== 'ok') throw new Error(`loading the query set failed: ${r.status} ${'error' in r ? r.error : ''}`);
    if (Date.now() - t0 > 600_000) throw new Error('loading the query set took over 10 minutes: stopped');
  }
  return Math.round(total / ((Date.now() - t0) / 1000));
}

/** The three queries of the issue, median of 20, through each reader (interleaved per query). */
async function timeQueries(readers: { store: string; reader: StoreReader }[], range: { from: number; to: number }): Promise<QueryRow[]> {
  const all = q('', { kind: 'all' });
  const rare = q('zyzzyvarare', { kind: 'word', field: { kind: 'builtin', name: 'message' }, value: 'zyzzyvarare' });
  const queries: [string, (r: StoreReader) => Promise<number>][] = [
    ['rare word, newest 100', async (r) => (await r.search({ query: rare, range, limit: 100 })).events.length],
    ['facet counts by host, 24 h', async (r) => (await r.facets(all, range, [{ kind: 'builtin', name: 'host' }], 10)).facets.get('host')!.length],
    ['60-bucket histogram, 24 h', async (r) => (await r.hits(all, range, 86_400_000 / 60)).buckets.filter((x) => x.count > 0).length],
  ];
  const out: QueryRow[] = [];
  for (const [query, f] of queries) {
    const times = readers.map(() => [] as number[]);
    const rows = readers.map(() => 0);
    for (let i = 0; i < 20; i++) {
      for (let k = 0; k < readers.length; k++) {
        const t = await timed(1, () => f(readers[k]!.reader));
        times[k]!.push(t.ms);
        rows[k] = t.rows;
      }
    }
    readers.forEach((r, k) => out.push({ store: r.store, query, medianMs: +median(times[k]!).toFixed(1), rows: rows[k]!, note: '' }));
  }
  return out;
}

/** The same 1M events into PostgreSQL (through PgStoreReader) and the embedded store (through the reader the API uses). */
async function queryBench(total: number): Promise<{ rows: QueryRow[]; loadEventsPerSecond: { postgres: number; embedded: number } }> {
  const end = Date.now();
  const start = end - 86_400_000;
  const range = { from: start, to: end + 1 };
  const rows: QueryRow[] = [];
  const rates = { postgres: 0, embedded: 0 };
  const db = await freshDb('query');
  try {
    const url = dbUrl(db);
    const dest = new PostgresDestination(postgresDestinationSchema.parse({ type: 'postgres', url }), { name: 'bench', metrics: new Metrics(), dataDir: os.tmpdir() });
    await dest.start();
    rates.postgres = await load(dest, total, start);
    await dest.stop();
    await withDb(db, (c) => c.query('VACUUM ANALYZE sluice_events, sluice_blocks, sluice_counts'));
    const reader = new PgStoreReader({ url });
    const pgCounting = new PgStoreReader({ url, rollup: false });
    rows.push(...await timeQueries([{ store: 'postgres', reader }, { store: 'postgres, rows counted (rollup: false)', reader: pgCounting }], range));
    await reader.close();
    await pgCounting.close();
  } finally {
    await dropDb(db);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-query-'));
  try {
    const cfg = storeDestinationSchema.parse({ type: 'store', path: path.join(dir, 'store') });
    const dest = new StoreDestination(cfg, { name: 'bench', metrics: new Metrics(), dataDir: dir, baseDir: dir });
    await dest.start();
    rates.embedded = await load(dest, total, start);
    const reader = dest.openReader();
    const counting = new ThreadedStoreReader(path.join(dir, 'store'), { rollup: false });
    rows.push(...await timeQueries([{ store: 'embedded', reader }, { store: 'embedded, rows counted (rollup: false)', reader: counting }], range));
    await reader.close();
    await counting.close();
    await dest.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { rows, loadEventsPerSecond: rates };
}

function table(header: string[], rows: (string | number | null)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((x) => (x === null ? '–' : String(x))).join(' | ')} |`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  setLogSink(() => {});
  const opt = (name: string, d: string): string => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1]! : d; };
  const count = Math.min(Number(opt('--count', '300000')), 5_000_000);
  const reps = Math.min(Number(opt('--reps', '3')), 5);
  const recv = opt('--receivers', RECEIVERS.join(',')).split(',').filter((x): x is Receiver => (RECEIVERS as string[]).includes(x));
  const qEvents = Math.min(Number(opt('--query-events', '1000000')), 5_000_000);
  const lines: string[] = [];
  if (!argv.includes('--no-ingest')) {
    const peers = findPeers();
    if (!peers.loggen) say('loggen not found: the sender is `sluice send` (not comparable with loggen figures)');
    const emptyDb = await freshDb('empty');
    const base = await withDb(emptyDb, async (c) => Number((await c.query('SELECT pg_database_size(current_database()) AS s')).rows[0].s));
    await dropDb(emptyDb);
    const rows: IngestRow[] = [];
    const postmaster = await postmasterPid();
    const notes: string[] = [];
    for (let rep = 1; rep <= reps; rep++) {
      for (const r of recv) {
        say(`${r} rep ${rep}: ${count} messages`);
        const row = await ingestOne(r, rep, count, peers, base, postmaster);
        if (typeof row === 'string') { say(`${r}: ${row}`); if (rep === 1) notes.push(`- ${r}: ${row}`); continue; }
        say(`${r} rep ${rep}: ${row.eventsPerSecond} events/s, ${row.stored}/${row.sent} stored, ${row.bytesPerEvent ?? '?'} B/event, cpu ${row.cpuSeconds}s, server cpu ${row.serverCpuSeconds}s, rss idle ${row.idleRssMb} MB, peak ${row.peakRssMb} MB`);
        rows.push(row);
      }
    }
    const of = (r: Receiver): IngestRow[] => rows.filter((x) => x.receiver === r);
    const med = (r: Receiver, f: (x: IngestRow) => number): number => median(of(r).map(f));
    const cpuPerEvent = (x: IngestRow): number => (x.stored > 0 ? ((x.cpuSeconds + (x.receiver === 'sluice-store' ? 0 : x.serverCpuSeconds)) * 1e6) / x.stored : 0);
    const rate = (r: Receiver): number => (of(r).length ? med(r, (x) => x.eventsPerSecond) : 0);
    const peerBest = Math.max(rate('rsyslog-ompgsql'), rate('syslog-ng-sql'));
    const peerCpu = Math.min(...(['rsyslog-ompgsql', 'syslog-ng-sql'] as Receiver[]).filter((r) => of(r).length).map((r) => med(r, cpuPerEvent)));
    lines.push(`### Store ingest: TCP (${MSG_SIZE}-byte RFC 5424, ${peers.loggen ? 'loggen' : 'sluice send'}, one connection) → store, ${count} messages, median of ${reps} interleaved repetitions`, '');
    lines.push(table(['receiver', 'events/s (median)', 'events/s per rep', 'stored/sent', 'disk bytes/event', 'receiver CPU s', 'PostgreSQL CPU s', 'CPU µs/event', 'idle RSS MB', 'peak RSS MB', '× faster peer (events/s)', '× leanest peer (CPU/event)', 'note'],
      recv.filter((r) => of(r).length > 0).map((r) => {
        const xs = of(r);
        const pg = r !== 'sluice-store';
        const cpu = med(r, cpuPerEvent);
        return [r, rate(r), xs.map((x) => x.eventsPerSecond).join(' '), xs.map((x) => `${x.stored}/${x.sent}`).join(' '), med(r, (x) => x.bytesPerEvent ?? 0),
          +med(r, (x) => x.cpuSeconds).toFixed(1), pg ? +med(r, (x) => x.serverCpuSeconds).toFixed(1) : null, +cpu.toFixed(1), med(r, (x) => x.idleRssMb ?? 0), med(r, (x) => x.peakRssMb ?? 0),
          peerBest > 0 && r.startsWith('sluice') ? (rate(r) / peerBest).toFixed(2) : '', pg && r.startsWith('sluice') && Number.isFinite(peerCpu) ? (peerCpu / cpu).toFixed(2) : '',
          xs.map((x) => x.note).filter(Boolean).join('; ')];
      })));
    lines.push('', 'Medians per receiver over the repetitions (the × columns compare medians). Disk bytes per event: database size after a CHECKPOINT minus an empty database\'s (PostgreSQL; WAL not counted), or the store directory (embedded). Idle RSS: the receiver\'s VmRSS 1 s after it listens, before the load; peak RSS: its VmHWM at the end (the PostgreSQL server\'s memory is not counted). Receiver CPU excludes the PostgreSQL server\'s, which is its own column (the postmaster, its ended backends and the running ones: autovacuum and other databases\' clients included); CPU µs/event adds the two (receiver only for the embedded store), and × leanest peer compares it with the peer that spends the least (higher is better).', ...notes, '');
  }
  if (!argv.includes('--no-query')) {
    say(`query latency: loading ${qEvents} events into PostgreSQL and into the embedded store`);
    const r = await queryBench(qEvents);
    lines.push(`### Query latency over ${qEvents} stored events (median of 20)`, '');
    lines.push(table(['store', 'query', 'median ms', 'rows', 'note'], r.rows.map((x) => [x.store, x.query, x.medianMs, x.rows, x.note])));
    lines.push('', `- loading the query set (direct, no TCP): postgres destination ${r.loadEventsPerSecond.postgres} events/s, store destination ${r.loadEventsPerSecond.embedded} events/s; the embedded store is read through the reader thread the API uses`, '');
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((c) => process.exit(c), (e: unknown) => { process.stderr.write(`store bench: ${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
}
