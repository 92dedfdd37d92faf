// Brokers for tests: streams and vhosts of their own on the machine's NATS and RabbitMQ, and
// private nats-server / JetStream clusters on free ports for tests that kill them.

import type { TestContext } from 'node:test';
import { havePeer } from './peers.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from 'nats';
import { freePort } from './daemon.js';
import { readLines, waitFor } from './wait.js';

const run = promisify(execFile);
export const NATS_URL = 'nats://127.0.0.1:4222';
export const NATS_SERVER = '/usr/sbin/nats-server';

export function reachable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** Skip reason when a broker is missing (a failure under SLUICE_REQUIRE_ALL=1, as CI runs). */
/** The machine's broker answers; otherwise the test is skipped, or fails under SLUICE_REQUIRE_ALL=1 (havePeer). */
export async function haveBroker(t: TestContext, which: 'nats' | 'amqp'): Promise<boolean> {
  const ok = which === 'nats' ? await reachable(4222) : await reachable(5672);
  return havePeer(t, which, ok, which === 'nats' ? 'NATS JetStream is not listening on 127.0.0.1:4222' : 'RabbitMQ is not listening on 127.0.0.1:5672');
}

let unique = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${unique++}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** Deletes streams on the shared server when the test is done. */
export async function deleteStreams(url: string, names: string[]): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    for (const n of names) await jsm.streams.delete(n).catch(() => false);
  } finally {
    await nc.close();
  }
}

export async function natsClient(url = NATS_URL): Promise<NatsConnection> {
  return connect({ servers: url });
}

// ---- RabbitMQ: a vhost per test ------------------------------------------------------------

export async function createVhost(name: string): Promise<string> {
  await run('rabbitmqctl', ['add_vhost', name]);
  await run('rabbitmqctl', ['set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  return `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(name)}`;
}

export async function deleteVhost(name: string): Promise<void> {
  await run('rabbitmqctl', ['delete_vhost', name]).catch(() => {});
}

/** Closes every client connection of a vhost (a broker outage as its clients see it). */
export async function closeVhostConnections(vhost: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', '--no-table-headers', 'pid', 'vhost']);
  let n = 0;
  for (const line of stdout.split('\n')) {
    const [pid, vh] = line.trim().split(/\s+/);
    if (!pid || vh !== vhost) continue;
    await run('rabbitmqctl', ['close_connection', pid, 'sluice test: broker outage']).catch(() => {});
    n++;
  }
  return n;
}

// ---- private nats-server processes ---------------------------------------------------------

export class NatsServer {
  proc: ChildProcess | null = null;
  readonly log: string[] = [];
  constructor(readonly name: string, readonly port: number, readonly dir: string, readonly clusterPort: number | null, readonly routes: number[]) {}

  get url(): string { return `nats://127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir, '-n', this.name];
    if (this.clusterPort !== null) {
      args.push('--cluster_name', 'sluicetest', '--cluster', `nats://127.0.0.1:${this.clusterPort}`,
        '--routes', this.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
    }
    const proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const keep = (d: Buffer) => { for (const l of d.toString().split('\n')) if (l) { this.log.push(l); if (this.log.length > 500) this.log.shift(); } };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    await waitFor(() => reachable(this.port), `nats-server ${this.name} on ${this.port}`, 15_000, 100);
  }

  /** kill -9, as a crashed server. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    this.proc = null;
  }
}

export async function startNatsServer(dir: string, name = 'n1'): Promise<NatsServer> {
  const s = new NatsServer(name, await freePort(), path.join(dir, name), null, []);
  await s.start();
  return s;
}

/** Three servers on free ports forming one JetStream cluster; resolves when it has a meta leader. */
export async function startNatsCluster(dir: string): Promise<NatsServer[]> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const cports = [await freePort(), await freePort(), await freePort()];
  const servers = ports.map((p, i) => new NatsServer(`n${i + 1}`, p, path.join(dir, `n${i + 1}`), cports[i]!, cports.filter((_, j) => j !== i)));
  await Promise.all(servers.map((s) => s.start()));
  // JetStream answers only once the meta group has elected a leader.
  await waitFor(async () => {
    const nc = await connect({ servers: servers[0]!.url }).catch(() => null);
    if (!nc) return false;
    try {
      const jsm = await nc.jetstreamManager({ timeout: 2000 });
      await jsm.getAccountInfo();
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  }, 'JetStream cluster meta leader', 30_000, 250);
  return servers;
}

/** seq=N counts in a file's lines (template "${MSG}\n"). */
export function seqCounts(files: string[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const f of files) {
    for (const line of readLines(f)) {
      const m = /seq=(\d+)/.exec(line);
      if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
  }
  return seen;
}

export function duplicates(seen: Map<number, number>): number {
  let d = 0;
  for (const n of seen.values()) d += n - 1;
  return d;
}

export function missingRanges(seen: Map<number, number>, total: number): string {
  const ranges: string[] = [];
  for (let i = 0; i < total && ranges.length < 20; i++) {
    if (seen.has(i)) continue;
    let j = i;
    while (j + 1 < total && !seen.has(j + 1)) j++;
    ranges.push(i === j ? `${i}` : `${i}-${j}`);
    i = j;
  }
  return ranges.join(', ');
}

/** run:seq counts (template "${SDATA} ${MSG}\n" of sluice send's RFC 5424 messages), for tests with several runs. */
export function runSeqCounts(files: string[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const f of files) {
    for (const line of readLines(f)) {
      const m = /run="([^"]*)"\] seq=(\d+)/.exec(line);
      if (m) { const k = `${m[1]}:${Number(m[2])}`; seen.set(k, (seen.get(k) ?? 0) + 1); }
    }
  }
  return seen;
}

// ---- a private RabbitMQ node on free ports (for tests that kill the broker) ---------------

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export class RabbitNode {
  private launcher: ChildProcess | null = null;
  private static seq = 0;
  readonly name = `sluicetest${process.pid}x${RabbitNode.seq++}@localhost`;
  constructor(readonly dir: string, readonly port: number, readonly distPort: number) {}

  get url(): string { return `amqp://guest:guest@127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    fs.mkdirSync(path.join(this.dir, 'mnesia'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'log'), { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'enabled_plugins'), '[].\n');
    fs.writeFileSync(path.join(this.dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${this.port}\nloopback_users = none\n`);
    // The server may drop to the rabbitmq user: it must be able to write here.
    fs.chmodSync(this.dir, 0o777);
    for (const f of ['mnesia', 'log']) fs.chmodSync(path.join(this.dir, f), 0o777);
    const env = {
      ...process.env,
      RABBITMQ_NODENAME: this.name, RABBITMQ_NODE_PORT: String(this.port), RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_CONFIG_FILE: path.join(this.dir, 'rabbitmq.conf'), RABBITMQ_MNESIA_BASE: path.join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(this.dir, 'log'), RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: path.join(this.dir, 'pid'),
    };
    this.launcher = spawn(RABBITMQ_SERVER, [], { env, stdio: 'ignore' });
    await waitFor(() => reachable(this.port), `RabbitMQ node ${this.name} on ${this.port}`, 90_000, 250);
  }

  /** kill -9 of the Erlang VM (the broker crashing), then of the launcher script. */
  async kill(): Promise<void> {
    const pidFile = path.join(this.dir, 'pid');
    const beam = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(beam) && beam > 0) { try { process.kill(beam, 'SIGKILL'); } catch { /* gone */ } }
    const l = this.launcher;
    if (l && l.exitCode === null && l.signalCode === null) {
      const gone = new Promise((r) => l.once('exit', r));
      l.kill('SIGKILL');
      await gone;
    }
    this.launcher = null;
    await waitFor(async () => !(await reachable(this.port)), 'the RabbitMQ node gone', 15_000, 100);
    fs.rmSync(pidFile, { force: true });
  }
}
