// Run sluice for a test: in-process (a Pipeline on port 0) or as a real child process.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { waitFor } from './wait.js';

/** The repository root (tests run from dist/test/...). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SLUICE_BIN = path.join(REPO, 'bin', 'sluice.js');

export interface Endpoint { host: string; port: number }

/** Bound address of a source listener by scheme, from the pipeline (port 0 resolved). */
export function endpoint(p: Pipeline, source: string, scheme: string): Endpoint {
  for (const url of p.addresses(source)) {
    const m = /^([a-z]+):\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(url);
    if (m && m[1] === scheme) return { host: m[2]!, port: Number(m[3]) };
  }
  throw new Error(`source ${source} has no ${scheme} listener (has ${p.addresses(source).join(', ')})`);
}

/** Starts a pipeline from YAML text in-process; relative paths resolve against baseDir. */
export async function startPipeline(yaml: string, baseDir: string): Promise<Pipeline> {
  const cfg = loadConfigText(yaml, path.join(baseDir, 'test.yaml'));
  return Pipeline.start(cfg, { baseDir });
}

export class SluiceProcess {
  readonly stderr: string[] = [];
  readonly stdout: string[] = [];
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    let errBuf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      errBuf += d.toString();
      const lines = errBuf.split('\n');
      errBuf = lines.pop()!;
      this.stderr.push(...lines);
    });
    proc.stdout!.on('data', (d: Buffer) => this.stdout.push(d.toString()));
    // 'close', not 'exit': the last stderr lines ("stopped") can arrive after 'exit'.
    this.exited = new Promise((resolve) => proc.on('close', (code, sig) => { this.exitCode = code; this.signal = sig; resolve(); }));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Listener URLs the daemon logged ("listening on=..."), for one source. */
  addresses(source: string): string[] {
    const line = this.stderr.find((l) => l.includes(`[source ${source}] listening`));
    const m = line ? /on="?([^"]*)"?$/.exec(line) : null;
    return m ? m[1]!.split(' ') : [];
  }

  endpoint(source: string, scheme: string): Endpoint {
    for (const url of this.addresses(source)) {
      const m = /^([a-z]+):\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(url);
      if (m && m[1] === scheme) return { host: m[2]!, port: Number(m[3]) };
    }
    throw new Error(`no ${scheme} listener for ${source} in:\n${this.stderr.join('\n')}`);
  }

  async waitForLog(re: RegExp, timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.stderr.some((l) => re.test(l)) || this.exitCode !== null, `log line ${re}`, timeoutMs);
    if (!this.stderr.some((l) => re.test(l))) throw new Error(`sluice exited (${this.exitCode}) before logging ${re}:\n${this.stderr.join('\n')}`);
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.exitCode !== null || this.signal !== null) return;
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => { timer = setTimeout(r, timeoutMs); })]);
    clearTimeout(timer);
    if (this.exitCode === null && this.signal === null) { this.proc.kill('SIGKILL'); await this.exited; }
  }

  async kill9(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  wait(): Promise<void> {
    return this.exited;
  }
}

/** Spawns `node bin/sluice.js ...args`; resolves once it has started (or exited). */
export async function spawnSluice(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; ready?: RegExp; nodeArgs?: string[] }): Promise<SluiceProcess> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), SLUICE_BIN, ...args], {
    cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  const p = new SluiceProcess(proc);
  if (opts.ready !== null) await p.waitForLog(opts.ready ?? /\[sluice\] started/);
  return p;
}

/** Writes a config file into dir and returns its path. */
export function writeConfig(dir: string, yaml: string, name = 'sluice.yaml'): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, yaml);
  return f;
}

/** Scrapes one Prometheus series (summed over matching label sets) from text. */
export function metricFromText(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** A TCP port free on 127.0.0.1 right now (for peers that must listen on a known port). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A UDP port free on 127.0.0.1 right now (for a peer's UDP input). */
export async function freeUdpPort(): Promise<number> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
