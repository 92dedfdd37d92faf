// Broker benchmark (issue 14): syslog TCP → sluice → broker → sluice → file, events/s end to end,
// for NATS JetStream (R1, file storage) and RabbitMQ (quorum queue, publisher confirms), beside
// syslog-ng TCP → amqp() → RabbitMQ in the same run; plus the publishing side alone for RabbitMQ
// (sluice with confirms vs syslog-ng's amqp() without them), measured at the queue.
//
// Run: node dist/bench/micro/brokers.js [events=150000] [--only=jetstream|rabbitmq] [--reps=3]
// The JetStream path (the one with a goal) runs --reps times, each on a fresh stream and durable,
// and the summary line gives the median; a run of ~2 s is short enough for one rep to be off.
// SLUICE_BIN=/path/to/bin/sluice.js runs another build (a before/after comparison in one session).
// Besides events/s, each end-to-end row reports CPU seconds per million events of every process
// (from /proc/PID/stat), which a shared machine disturbs far less than wall-clock time.
// Needs nats-server (/usr/sbin/nats-server), RabbitMQ on 127.0.0.1:5672 (guest, rabbitmqctl for a
// vhost of its own), loggen (the load, as in the peer benchmarks) and, for the syslog-ng rows,
// syslog-ng with syslog-ng-mod-amqp. Everything runs on loopback; every child is stopped by PID.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SLUICE = process.env.SLUICE_BIN ?? path.join(ROOT, 'bin', 'sluice.js');
const args = process.argv.slice(2);
const N = Number(args.find((a) => !a.startsWith('--')) ?? 150_000);
const ONLY = args.find((a) => a.startsWith('--only='))?.slice(7) ?? null;
const REPS = Math.max(1, Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 3));
const TICK_S = 1 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
const BOUND_MS = 180_000;
const children: ChildProcess[] = [];
const say = (m: string): void => { process.stderr.write(`[brokers ${new Date().toTimeString().slice(0, 8)}] ${m}\n`); };

function which(cmd: string): string | null {
  try { return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null; } catch { return null; }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms: number, every = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): ChildProcess {
  const c = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  c.stderr!.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-4000); });
  c.on('exit', (code, sig) => { if (code && code !== 0 && !c.killed) say(`${path.basename(cmd)} exited ${code ?? sig}: ${tail.slice(-800)}`); });
  children.push(c);
  return c;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

async function sluice(dir: string, name: string, yaml: string): Promise<ChildProcess> {
  const f = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(f, yaml);
  return start(process.execPath, [SLUICE, 'run', '-c', f], {}, dir);
}

/** Counts newlines appended to a file, polling; resolves with the time the Nth arrived. */
async function linesReached(file: string, n: number, ms: number): Promise<number> {
  let lines = 0;
  let pos = 0;
  const buf = Buffer.alloc(1 << 20);
  await until(() => {
    let fd: number;
    try { fd = fs.openSync(file, 'r'); } catch { return false; }
    try {
      for (;;) {
        const got = fs.readSync(fd, buf, 0, buf.length, pos);
        if (got <= 0) break;
        pos += got;
        for (let i = buf.indexOf(10, 0); i >= 0 && i < got; i = buf.indexOf(10, i + 1)) lines++;
      }
    } finally { fs.closeSync(fd); }
    return lines >= n;
  }, `${n} lines in ${file} (have ${lines})`, ms, 20);
  return performance.now();
}

function loggen(port: number, n: number): ChildProcess {
  return start(LOGGEN!, ['-i', '-S', '-P', '-F', '-s', '256', '-r', '10000000', '-n', String(n), '-I', '600', '127.0.0.1', String(port)]);
}

const LOGGEN = which('loggen');
const NATS = fs.existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : which('nats-server');
const SYSLOGNG = which('syslog-ng');
const AMQP_MOD = fs.existsSync('/usr/lib/syslog-ng/3.38/libafamqp.so');

const JS_PATH = 'sluice → JetStream → sluice';

interface Row { name: string; events: number; seconds: number; note: string; cpu?: string }

/** CPU seconds (user + system) a process used so far, from /proc/PID/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_S; // utime, stime
  } catch { return NaN; }
}

/** CPU seconds per million events of each named process between two readings. */
class CpuMeter {
  private readonly at0: number[];
  constructor(private readonly procs: [string, ChildProcess][]) { this.at0 = procs.map(([, c]) => cpuSeconds(c.pid)); }
  perMillion(events: number): string {
    return this.procs.map(([n, c], i) => `${n} ${((cpuSeconds(c.pid) - this.at0[i]!) * 1e6 / events).toFixed(1)}`).join(', ');
  }
}
const rows: Row[] = [];

async function endToEnd(name: string, dir: string, edgeYaml: (port: number) => string, aggYaml: (out: string) => string, note: string, broker: ChildProcess | null): Promise<void> {
  const port = await freePort();
  const out = path.join(dir, `${name}.out`);
  const agg = await sluice(dir, `${name}-agg`, aggYaml(out));
  const edge = await sluice(dir, `${name}-edge`, edgeYaml(port));
  await until(() => reachable(port), 'edge listening', 20_000);
  await new Promise((r) => setTimeout(r, 1000)); // the aggregator's consumer set up
  const t0 = performance.now();
  const gen = loggen(port, N);
  const cpu = new CpuMeter([['edge', edge], ['aggregator', agg], ...(broker ? [['broker', broker] as [string, ChildProcess]] : [])]);
  const t1 = await linesReached(out, N, BOUND_MS);
  rows.push({ name, events: N, seconds: (t1 - t0) / 1000, note, cpu: cpu.perMillion(N) });
  await stop(gen); await stop(edge); await stop(agg);
}

/** Messages in a queue (passive declare): the publishing side's progress without a consumer. */
async function queueCount(url: string, queue: string): Promise<number> {
  const c = await amqp.connect(url);
  try { const ch = await c.createChannel(); return (await ch.checkQueue(queue)).messageCount; } finally { await c.close().catch(() => {}); }
}

interface Load { go(): void; done(): Promise<void> }

async function publishOnly(name: string, url: string, queue: string, expected: number, load: () => Promise<Load>, events: number, note: string): Promise<void> {
  const l = await load();
  const t0 = performance.now();
  l.go();
  const done = l.done;
  let last = -1; let lastChange = performance.now();
  await until(async () => {
    const n = await queueCount(url, queue);
    if (n !== last) { last = n; lastChange = performance.now(); }
    return n >= expected || performance.now() - lastChange > 3000;
  }, `${expected} messages in ${queue}`, BOUND_MS, 100);
  rows.push({ name, events, seconds: (lastChange - t0) / 1000, note: `${note}; ${last} messages in the queue` });
  await done();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-brokers-'));
  const skipped: string[] = [];
  if (!LOGGEN) throw new Error('loggen not found (bench/peers/setup.sh installs it)');
  // ---- JetStream, R1, file storage, on a server of its own
  if (ONLY !== null && ONLY !== 'jetstream') skipped.push('JetStream rows: --only');
  else if (NATS) {
    const np = await freePort();
    const server = start(NATS, ['-a', '127.0.0.1', '-p', String(np), '-js', '-sd', path.join(dir, 'js')]);
    await until(() => reachable(np), 'nats-server', 15_000);
    const url = `nats://127.0.0.1:${np}`;
    for (let rep = 1; rep <= REPS; rep++) {
    say(`jetstream: ${N} events, repetition ${rep} of ${REPS}`);
    await endToEnd(`${JS_PATH} #${rep}`, dir, (port) => `
api: false
data_dir: ${dir}/js-edge-${rep}
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:${port}"] } }
destinations:
  bus: { type: nats, url: ${url}, stream: BENCH${rep}, subject: "logs${rep}.\${HOST}", events_per_message: 200, max_in_flight: 64, batch_events: 8000 }
log: [ { from: net, to: bus } ]
`, (out) => `
api: false
data_dir: ${dir}/js-agg-${rep}
sources: { bus: { type: nats, url: ${url}, stream: BENCH${rep}, consumer: bench${rep}, batch: 128, max_ack_pending: 1024 } }
destinations: { out: { type: file, path: "${out}" } }
log: [ { from: bus, to: out } ]
`, 'R1 file storage, 200 events per message, PubAck awaited', server);
    }
    await stop(server);
  } else skipped.push('JetStream rows: nats-server not found');

  // ---- RabbitMQ on the machine's server, a vhost of its own
  if (ONLY !== null && ONLY !== 'rabbitmq') skipped.push('RabbitMQ rows: --only');
  else if (await reachable(5672)) {
    const vh = `bench-${process.pid}`;
    execFileSync('rabbitmqctl', ['add_vhost', vh], { stdio: 'ignore' });
    execFileSync('rabbitmqctl', ['set_permissions', '-p', vh, 'guest', '.*', '.*', '.*'], { stdio: 'ignore' });
    const url = `amqp://guest:guest@127.0.0.1:5672/${vh}`;
    try {
      say(`rabbitmq: ${N} events`);
      await endToEnd('sluice → RabbitMQ → sluice', dir, (port) => `
api: false
data_dir: ${dir}/mq-edge
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:${port}"] } }
destinations:
  bus: { type: amqp, url: "${url}", routing_key: "logs.\${HOST}", events_per_message: 200, batch_events: 8000 }
log: [ { from: net, to: bus } ]
`, (out) => `
api: false
data_dir: ${dir}/mq-agg
sources: { bus: { type: amqp, url: "${url}", queue: e2e, batch: 128, prefetch: 512 } }
destinations: { out: { type: file, path: "${out}" } }
log: [ { from: bus, to: out } ]
`, 'quorum queue, confirms, persistent + mandatory, 200 events per message', null);

      if (SYSLOGNG && AMQP_MOD) {
        // syslog-ng amqp(): one message per event, no publisher confirms, no mandatory.
        const sngConf = (port: number, key: string) => `@version: 3.38
options { use-dns(no); keep-hostname(yes); chain-hostnames(no); stats-freq(0); };
source s { network(ip("127.0.0.1") port(${port}) transport("tcp") flags(syslog-protocol)); };
destination d { amqp(host("127.0.0.1") port(5672) vhost("${vh}") username("guest") password("guest")
  exchange("sluice") exchange-declare(no) routing-key("${key}") persistent(yes)
  body("<\${PRI}>1 \${ISODATE} \${HOST} \${PROGRAM} \${PID} \${MSGID:--} - \${MSG}")); };
log { source(s); destination(d); flags(flow-control); };
`;
        const runSng = async (tag: string, key: string): Promise<{ port: number; proc: ChildProcess }> => {
          const port = await freePort();
          const f = path.join(dir, `sng-${tag}.conf`);
          fs.writeFileSync(f, sngConf(port, key));
          const proc = start(SYSLOGNG, ['-F', '--no-caps', '-f', f, `--persist-file=${dir}/sng-${tag}.persist`, `--pidfile=${dir}/sng-${tag}.pid`, `--control=${dir}/sng-${tag}.ctl`]);
          await until(() => reachable(port), 'syslog-ng listening', 20_000);
          return { port, proc };
        };
        say(`syslog-ng amqp() end to end: ${N} events`);
        {
          const out = path.join(dir, 'sng-e2e.out');
          const agg = await sluice(dir, 'sng-agg', `
api: false
data_dir: ${dir}/sng-agg
sources: { bus: { type: amqp, url: "${url}", queue: sng, routing_key: "sng.#", format: syslog, batch: 128, prefetch: 512 } }
destinations: { out: { type: file, path: "${out}" } }
log: [ { from: bus, to: out } ]
`);
          await new Promise((r) => setTimeout(r, 1500));
          const { port, proc } = await runSng('e2e', 'sng.e2e');
          const t0 = performance.now();
          const gen = loggen(port, N);
          const t1 = await linesReached(out, N, BOUND_MS);
          rows.push({ name: 'syslog-ng amqp() → RabbitMQ → sluice', events: N, seconds: (t1 - t0) / 1000, note: 'one event per message, no confirms' });
          await stop(gen); await stop(proc); await stop(agg);
        }
        // Publishing alone, measured at a queue nobody consumes.
        const declare = async (q: string, key: string): Promise<void> => {
          const c = await amqp.connect(url); const ch = await c.createChannel();
          await ch.assertExchange('sluice', 'topic', { durable: true });
          await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
          await ch.bindQueue(q, 'sluice', key); await c.close();
        };
        await declare('pub-sluice', 'ps.#');
        await declare('pub-sng', 'pn.#');
        say(`publishing alone: ${N} events each`);
        await publishOnly('sluice → RabbitMQ (publish only)', url, 'pub-sluice', Math.ceil(N / 200), async () => {
          const port = await freePort();
          const edge = await sluice(dir, 'pub-edge', `
api: false
data_dir: ${dir}/pub-edge
sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:${port}"] } }
destinations:
  bus: { type: amqp, url: "${url}", routing_key: "ps.\${HOST}", events_per_message: 200, batch_events: 8000 }
log: [ { from: net, to: bus } ]
`);
          await until(() => reachable(port), 'edge listening', 20_000);
          let gen: ChildProcess | null = null;
          return { go: () => { gen = loggen(port, N); }, done: async () => { if (gen) await stop(gen); await stop(edge); } };
        }, N, 'confirms, 200 events per message');
        await publishOnly('syslog-ng amqp() → RabbitMQ (publish only)', url, 'pub-sng', N, async () => {
          const { port, proc } = await runSng('pub', 'pn.x');
          let gen: ChildProcess | null = null;
          return { go: () => { gen = loggen(port, N); }, done: async () => { if (gen) await stop(gen); await stop(proc); } };
        }, N, 'no confirms, one event per message');
      } else skipped.push('syslog-ng rows: syslog-ng or syslog-ng-mod-amqp missing');
    } finally {
      execFileSync('rabbitmqctl', ['delete_vhost', vh], { stdio: 'ignore' });
    }
  } else skipped.push('RabbitMQ rows: nothing listens on 127.0.0.1:5672');
  fs.rmSync(dir, { recursive: true, force: true });

  process.stdout.write(`Broker benchmark, ${N} events of 256 bytes from loggen over TCP, one run, ${os.cpus().length} CPUs\n\n`);
  process.stdout.write('| path | events | seconds | events/s | CPU s per 1M events | notes |\n|---|---:|---:|---:|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.name} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.events / r.seconds)} | ${r.cpu ?? '–'} | ${r.note} |\n`);
  const rate = (n: string) => { const r = rows.find((x) => x.name === n); return r ? r.events / r.seconds : null; };
  const a = rate('sluice → RabbitMQ (publish only)'); const b = rate('syslog-ng amqp() → RabbitMQ (publish only)');
  if (a && b) process.stdout.write(`\nRabbitMQ publishing, sluice (confirms) / syslog-ng amqp() (no confirms): ${(a / b).toFixed(2)}x\n`);
  const js = rows.filter((r) => r.name.startsWith(`${JS_PATH} #`)).map((r) => Math.round(r.events / r.seconds)).sort((x, y) => x - y);
  if (js.length) process.stdout.write(`JetStream end to end: median ${js[Math.floor(js.length / 2)]} events/s of ${js.length} repetition(s) (${js.join(', ')}; goal ≥ 100,000)\n`);
  for (const s of skipped) process.stdout.write(`skipped: ${s}\n`);
}

main().catch(async (e) => {
  process.stderr.write(`brokers bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
}).finally(async () => {
  for (const c of children) await stop(c);
});
