// Shared kit for the bad-input integration tests: a syslog→file pipeline on port 0, peers, counters.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { setLogSink } from '../../src/log.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, startPipeline, type Endpoint } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

/** Diagnostics the daemon logged (captured so "logged once per interval" can be checked). */
export const logs: string[] = [];
setLogSink((l) => { if (logs.length < 100_000) logs.push(l); });
// tempDir() adds an exit listener per directory; a file here makes a few dozen.
process.setMaxListeners(100);

export const HEADER = '<13>1 2024-05-01T12:00:00Z web-01 app - - - ';

/** An RFC 5424 message whose MSG (what the file template writes) is `text`. */
export function msg(text: string): string {
  return HEADER + text;
}

/** `${tag} seq=N` for N in [from, from+n), each as an LF-framed RFC 5424 message. */
export function goodLines(tag: string, n: number, from = 0): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += msg(`${tag} seq=${i}`) + '\n';
  return s;
}

export interface Harness {
  p: Pipeline;
  dir: string;
  out: string;
  tcp: Endpoint;
  udp: Endpoint;
}

const open = new Set<() => void>();
const pipelines = new Set<Pipeline>();

/**
 * Starts `net` (syslog, udp+tcp on 127.0.0.1:0) → `out` (file `${MSG}\n`). `source` adds
 * or overrides source keys; `extra` merges top-level keys (more destinations, log paths).
 */
export async function startSyslog(prefix: string, source: Record<string, unknown> = {}, extra: (dir: string) => Record<string, unknown> = () => ({})): Promise<Harness> {
  const dir = tempDir(prefix);
  const out = path.join(dir, 'out.log');
  const cfg: Record<string, unknown> = {
    data_dir: path.join(dir, 'data'),
    api: false,
    sources: { net: { type: 'syslog', listen: ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0'], ...source } },
    destinations: { out: { type: 'file', path: out, template: '${MSG}\n' } },
    log: [{ from: 'net', to: 'out' }],
  };
  const more = extra(dir);
  for (const [k, v] of Object.entries(more)) {
    const cur = cfg[k];
    cfg[k] = Array.isArray(cur) && Array.isArray(v) ? [...cur, ...v]
      : cur && typeof cur === 'object' && typeof v === 'object' && !Array.isArray(v) ? { ...cur, ...v } : v;
  }
  // JSON is YAML: no indentation pitfalls in generated configs.
  const p = await startPipeline(JSON.stringify(cfg, null, 1), dir);
  pipelines.add(p);
  const listen = (cfg.sources as { net: { listen: string[] } }).net.listen;
  const has = (s: string) => listen.some((l) => l.startsWith(s + '://'));
  return {
    p, dir, out,
    tcp: has('tcp') ? endpoint(p, 'net', 'tcp') : { host: '', port: 0 },
    udp: has('udp') ? endpoint(p, 'net', 'udp') : { host: '', port: 0 },
  };
}

/** Closes every socket and pipeline the test opened (call from afterEach). */
export async function cleanup(): Promise<void> {
  const closers = [...open];
  open.clear();
  for (const close of closers) {
    try { close(); } catch { /* already gone */ }
  }
  const stuck: string[] = [];
  const list = [...pipelines];
  pipelines.clear();
  for (const p of list) {
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      p.stop().then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), 6_000); }),
    ]);
    clearTimeout(timer);
    if (!stopped) stuck.push(p.addresses('net').join(' '));
  }
  if (stuck.length) throw new Error(`expected Pipeline.stop() to finish within 6 s once every client was gone; still stopping: ${stuck.join('; ')}`);
}

/** Tracks a TCP/TLS socket or a UDP socket for cleanup. */
export function track<T extends net.Socket | dgram.Socket>(s: T): T {
  // A reset (not a FIN) so that sluice's side closes even if it would wait on a half-open socket.
  // (resetAndDestroy needs a raw TCP handle: TLS sockets are destroyed normally.)
  if (s instanceof tls.TLSSocket) open.add(() => s.destroy());
  else if (s instanceof net.Socket) open.add(() => { if (!s.destroyed) s.resetAndDestroy(); });
  else open.add(() => { try { s.close(); } catch { /* already closed */ } });
  return s;
}

/** A TCP client connected to ep (optionally from a given local address). */
export function connect(ep: Endpoint, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = track(net.connect({ host: ep.host, port: ep.port, localAddress }));
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => { s.off('error', reject); s.on('error', () => {}); resolve(s); });
  });
}

/** Resolves when the socket has closed (bounded; `what` names the expectation in the failure). */
export function closed(s: net.Socket, timeoutMs = 15_000, what = 'the connection closed'): Promise<void> {
  if (s.destroyed && s.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`expected ${what} within ${timeoutMs} ms; it is still open`)), timeoutMs);
    s.once('close', () => { clearTimeout(t); resolve(); });
    s.resume();
  });
}

/** Writes data (awaiting back-pressure), half-closes, and waits for sluice to close its side. */
export async function sendAndClose(s: net.Socket, ...data: (string | Buffer)[]): Promise<void> {
  for (const d of data) await write(s, d);
  const c = closed(s);
  s.end();
  await c;
}

export function write(s: net.Socket, d: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = s.write(d, (e) => { if (e) reject(e); });
    if (ok) resolve();
    else s.once('drain', () => resolve());
  });
}

/** Sends each buffer as one datagram from a fresh UDP socket. */
export async function udpSend(ep: Endpoint, datagrams: (string | Buffer)[], localAddress?: string): Promise<void> {
  const s = track(dgram.createSocket('udp4'));
  if (localAddress) await new Promise<void>((r) => s.bind(0, localAddress, () => r()));
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => s.send(d, ep.port, ep.host, (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

/** The file's lines as latin1 strings (byte-exact, one char per byte); [] while absent. */
export function fileLines(file: string): string[] {
  let b: Buffer;
  try { b = fs.readFileSync(file); } catch { return []; }
  const s = b.toString('latin1');
  const lines = s.split('\n');
  lines.pop();
  return lines;
}

/** seq numbers of `${tag} seq=N` lines in the file, with repeats. */
export function seqs(file: string, tag: string): number[] {
  const re = new RegExp(`^${tag} seq=(\\d+)$`);
  const out: number[] = [];
  for (const l of fileLines(file)) {
    const m = re.exec(l);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** Waits until the file holds `${tag} seq=0..n-1` (each at least once), then asserts exactly that set. */
export async function expectAll(file: string, tag: string, n: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(() => new Set(seqs(file, tag)).size >= n, `${n} "${tag}" messages in ${file}`, timeoutMs).catch((e) => {
    const got = new Set(seqs(file, tag));
    const missing = [...Array(n).keys()].filter((i) => !got.has(i));
    throw new Error(`${(e as Error).message}: ${got.size} arrived, missing seq ${missing.slice(0, 20).join(',')}${missing.length > 20 ? '…' : ''}`);
  });
  const got = seqs(file, tag);
  const set = new Set(got);
  assert.equal(set.size, n, `expected exactly seq 0..${n - 1} of "${tag}"`);
  for (let i = 0; i < n; i++) assert.ok(set.has(i), `expected "${tag} seq=${i}" in the file`);
}

export function metric(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  return h.p.metrics.value(name, labels);
}

export function errors(h: Harness, type: string): Promise<number> {
  return metric(h, 'sluice_errors_total', { component: 'net', error_type: type });
}

export function refused(h: Harness, reason: string): Promise<number> {
  return metric(h, 'sluice_connections_refused_total', { component: 'net', reason });
}

export function dropped(h: Harness, reason: string, component = 'net'): Promise<number> {
  return metric(h, 'sluice_events_dropped_total', { component, reason });
}

/** Waits for a counter to reach at least `min`; returns its value. */
export async function counterReaches(h: Harness, what: string, read: () => Promise<number>, min: number, timeoutMs = 15_000): Promise<number> {
  let v = 0;
  await waitFor(async () => (v = await read()) >= min, `${what} >= ${min} (is ${v})`, timeoutMs);
  return v;
}
