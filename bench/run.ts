// The benchmark runner: `npm run bench [name…]` (and `sluice bench`), writes bench/RESULTS.md.
//
//   npm run bench                      micro benches + every peer scenario (3 reps, ~8 s each; fwd-* 2 reps; ≲ 25 min)
//   npm run bench -- --quick           the same, 1 repetition of ~3 s (a few minutes; indicative only)
//   npm run bench tcp tls              only those peer scenarios (names: bench/peers/scenarios.sh)
//   npm run bench micro                only the micro benches (or name one: binary-codec, …)
//   npm run bench -- api               API and UI latency over 1,000,000 stored events (also writes bench/api-results.md)
//   npm run bench store                only the store scenarios (bench/store/run.ts: TCP → embedded store / PostgreSQL beside rsyslog ompgsql and syslog-ng sql(); query latency)
//   npm run bench -- --help            all options
//
// Micro benches: every bench/micro/<name>.ts, compiled, run as `node dist/bench/micro/<name>.js`
// (a script printing its results), one at a time, each under a time bound.
// Peer scenarios: bench/peers/run-all.sh (bash): sluice, rsyslog and syslog-ng on the same loggen
// load in the same run, repetitions interleaved; setup.sh only when a peer is missing and we are
// root; without peers sluice runs alone and RESULTS.md says so. The harness runs in its own process
// group, bounded by --max-minutes inside and a hard kill of that group (by its id) outside.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import {
  anomalies, loadPeerResults, previousResults, renderRatios, renderRunRows, renderRunToRun, renderSamples, renderTable,
  type PeerResults, type ScenarioInfo,
} from './summary.js';

/** Repository root: this file runs as dist/bench/run.js. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEERS_DIR = path.join(ROOT, 'bench', 'peers');
const RUN_ALL = path.join(PEERS_DIR, 'run-all.sh');

export interface BenchOptions {
  reps: number;
  target: number;
  scenarios?: string[];
  peers?: string[];
  quick: boolean;
  out: string;
  maxMinutes?: number;
  setup: 'auto' | 'yes' | 'no';
  keep: boolean;
  /** --reps or --target given */
  custom?: boolean;
  /** --reps given: every scenario runs that often (no max_reps cap from scenarios.sh) */
  exactReps?: boolean;
}

/** Repetitions a scenario gets: --reps, capped by its max_reps (scenarios.sh) unless --reps was given. */
export function repsFor(o: Pick<BenchOptions, 'reps' | 'exactReps'>, s: ScenarioInfo): number {
  return !o.exactReps && s.maxReps !== undefined && s.maxReps < o.reps ? s.maxReps : o.reps;
}

// Arguments of the micro benches in --quick mode (keyed by file name; others run with their defaults).
const MICRO_QUICK_ARGS: Record<string, string[]> = {
  'binary-codec': ['1'],
  collectors: ['500000', '1'],
  'disk-buffer': ['200000'],
  encoders: ['0.3'],
  api: ['200000'],
};
const MICRO_TIMEOUT_S = { full: 240, quick: 90 };
// Micro benches that fill a large store first get a longer bound (api: 1,000,000 events, then chromium).
const MICRO_TIMEOUT_OVERRIDE_S: Record<string, { full: number; quick: number }> = { api: { full: 900, quick: 240 } };

const stamp = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const say = (msg: string): void => { process.stderr.write(`[bench ${new Date().toTimeString().slice(0, 8)}] ${msg}\n`); };

// ------------------------------------------------------------------ discovery
function microNames(): string[] {
  const dir = path.join(ROOT, 'bench', 'micro');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3)).sort();
}

function scenarioList(): ScenarioInfo[] {
  try {
    const text = execFileSync('bash', [RUN_ALL, '--list'], { encoding: 'utf8', timeout: 30_000 });
    return text.split('\n').filter(Boolean).map((l) => {
      const [name = '', proto = 'tcp', rate = '0', output = 'file', receivers = '', description = '', maxReps = '', settle = '0'] = l.split('\t');
      return { name, proto: proto as ScenarioInfo['proto'], rate: Number(rate), output: output as ScenarioInfo['output'], receivers: receivers.split(',').filter(Boolean), description,
        ...(maxReps ? { maxReps: Number(maxReps) } : {}), settleS: Number(settle) || 0 };
    });
  } catch (e) {
    say(`cannot list the peer scenarios (${(e as Error).message.split('\n')[0]}): is bash installed?`);
    return [];
  }
}

// ------------------------------------------------------------------ children
/** Runs a child in its own process group; kills that group (by id) at the deadline. */
function runBounded(cmd: string, args: string[], opts: { timeoutS: number; env?: NodeJS.ProcessEnv; onLine?: (l: string) => void; stderrInherit?: boolean }):
  Promise<{ code: number | null; signal: string | null; output: string; timedOut: boolean; seconds: number }> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child: ChildProcess = spawn(cmd, args, {
      cwd: ROOT,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', opts.stderrInherit ? 'inherit' : 'pipe'],
    });
    current = child;
    let output = '';
    let partial = '';
    const take = (d: Buffer): void => {
      const s = d.toString('utf8');
      output += s;
      if (output.length > 1_000_000) output = output.slice(-1_000_000);
      if (!opts.onLine) return;
      const parts = (partial + s).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) opts.onLine(l);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      timedOut = true;
      say(`time bound of ${opts.timeoutS} s reached: stopping ${path.basename(args[0] ?? cmd)} (process group ${child.pid})`);
      killGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
    }, opts.timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      if (partial && opts.onLine) opts.onLine(partial);
      current = null;
      resolve({ code, signal, output, timedOut, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
    });
    child.on('error', (e) => {
      output += `\n${e.message}\n`;
    });
  });
}

let current: ChildProcess | null = null;
let interrupted = false;
function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
}

// ------------------------------------------------------------------ micro
interface MicroResult { name: string; command: string; seconds: number; status: string; output: string }

async function runMicro(names: string[], quick: boolean): Promise<MicroResult[]> {
  const results: MicroResult[] = [];
  for (const [i, name] of names.entries()) {
    if (interrupted) break;
    const js = path.join(ROOT, 'dist', 'bench', 'micro', `${name}.js`);
    const args = quick ? MICRO_QUICK_ARGS[name] ?? [] : [];
    const command = `node dist/bench/micro/${name}.js${args.length ? ` ${args.join(' ')}` : ''}`;
    if (!fs.existsSync(js)) {
      results.push({ name, command, seconds: 0, status: 'not built (npm run build)', output: '' });
      say(`micro ${i + 1}/${names.length} ${name}: not built`);
      continue;
    }
    const bound = MICRO_TIMEOUT_OVERRIDE_S[name] ?? MICRO_TIMEOUT_S;
    const timeoutS = quick ? bound.quick : bound.full;
    say(`micro ${i + 1}/${names.length}: ${command} (bound ${timeoutS} s)`);
    const r = await runBounded(process.execPath, [js, ...args], { timeoutS, onLine: (l) => process.stderr.write(`    ${l}\n`) });
    const status = r.timedOut ? `stopped after the ${timeoutS} s bound` : r.code === 0 ? 'ok' : `failed (exit ${r.code ?? r.signal})`;
    results.push({ name, command, seconds: r.seconds, status, output: r.output.trimEnd() });
    say(`micro ${name}: ${status} in ${r.seconds.toFixed(1)} s`);
  }
  return results;
}

// ------------------------------------------------------------------ store
const STORE_TIMEOUT_S = { full: 1500, quick: 600 };

/** The store scenarios (bench/store/run.ts) as one bounded child; its stdout is a markdown section. */
async function runStore(quick: boolean): Promise<MicroResult> {
  const js = path.join(ROOT, 'dist', 'bench', 'store', 'run.js');
  const args = quick ? ['--count', '100000', '--query-events', '200000', '--reps', '1'] : [];
  const command = `node dist/bench/store/run.js${args.length ? ` ${args.join(' ')}` : ''}`;
  if (!fs.existsSync(js)) return { name: 'store', command, seconds: 0, status: 'not built (npm run build)', output: '' };
  const timeoutS = quick ? STORE_TIMEOUT_S.quick : STORE_TIMEOUT_S.full;
  say(`store scenarios: ${command} (bound ${timeoutS} s)`);
  const r = await runBounded(process.execPath, [js, ...args], { timeoutS, stderrInherit: true });
  const status = r.timedOut ? `stopped after the ${timeoutS} s bound` : r.code === 0 ? 'ok' : `failed (exit ${r.code ?? r.signal})`;
  say(`store scenarios: ${status} in ${r.seconds.toFixed(1)} s`);
  return { name: 'store', command, seconds: r.seconds, status, output: r.output.trimEnd() };
}

// ------------------------------------------------------------------ peers
function estimateMinutes(o: BenchOptions, scen: ScenarioInfo[], peers: string[]): number {
  const perRun = o.target + 5.5;           // load + quiet period + start/stop
  const probe = o.quick ? 4 : 6;
  let seconds = 0;
  for (const s of scen) {
    for (const p of peers) {
      if (!s.receivers.includes(p)) continue;
      const settle = s.settleS ?? 0;        // forwarding hop: pause before the load
      seconds += repsFor(o, s) * (perRun + settle);
      if (s.rate === 0) seconds += probe + settle;
    }
  }
  return seconds / 60;
}

async function runPeers(o: BenchOptions, scen: ScenarioInfo[], outDir: string): Promise<{ ok: boolean; note: string }> {
  const peers = o.peers ?? ['rsyslog', 'syslog-ng', 'syslog-ng-tuned', 'sluice'];
  const est = estimateMinutes(o, scen, peers);
  // default bound: 23 min (10 quick) so that a full `npm run bench` stays under ~25 min (estimate of
  // the default full run: ~22 min with fwd-memory/fwd-disk at 2 repetitions); more when
  // --reps/--target ask for more than the defaults
  const base = o.quick ? 10 : 23;
  const maxMinutes = o.maxMinutes ?? (o.custom ? Math.max(base, Math.ceil(est * 1.5)) : base);
  const args = [RUN_ALL, '--reps', String(o.reps), '--target', String(o.target), '--scenarios', scen.map((s) => s.name).join(','),
    '--peers', peers.join(','), '--out-dir', outDir, '--setup', o.setup, '--max-minutes', String(maxMinutes)];
  if (o.keep) args.push('--keep');
  if (o.exactReps) args.push('--exact-reps');
  const env = { ...process.env };
  if (o.quick && !env.PROBE_COUNT) env.PROBE_COUNT = '200000';
  say(`peers: ${scen.map((s) => s.name).join(' ')} × ${peers.join(' ')}, ${o.reps} rep(s) of ~${o.target} s: about ${Math.ceil(est)} min (bound ${maxMinutes} min)`);
  say(`  bash ${path.relative(ROOT, RUN_ALL)} ${args.slice(1).map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`);
  const r = await runBounded('bash', args, { timeoutS: (maxMinutes + 4) * 60, env, stderrInherit: true, onLine: (l) => process.stderr.write(`${l}\n`) });
  if (r.timedOut) return { ok: false, note: `the peer harness was stopped at its hard bound (${maxMinutes + 4} min)` };
  if (r.code !== 0) return { ok: false, note: `the peer harness exited with ${r.code ?? r.signal}` };
  return { ok: true, note: '' };
}

// ------------------------------------------------------------------ report
function git(args: string[]): string {
  try {
    return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' }, timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

let startedAt = stamp();
function environment(startLoad: number[], peerEnv: string[]): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version?: string };
  const commit = git(['rev-parse', '--short=12', 'HEAD']) || 'unknown';
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) ? ' + uncommitted changes' : '';
  const cpus = os.cpus();
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `- date: ${startedAt} (start)`,
    `- sluice: ${pkg.version ?? '?'}, commit ${commit}${dirty}`,
    `- node: ${process.version}`,
    `- kernel: ${os.type()} ${os.release()} (${os.arch()})`,
    `- CPU: ${cpus.length} × ${cpus[0]?.model.trim() ?? '?'}; RAM ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `- machine load (loadavg 1/5/15 min): ${load(startLoad)} at start, ${load(os.loadavg())} at the end`,
  ];
  const dup = /^- (sluice|node|kernel|machine load at start):/;
  for (const l of peerEnv) if (!dup.test(l)) lines.push(l);
  return lines;
}

function writeReport(o: BenchOptions, argv: string[], startLoad: number[], micro: MicroResult[] | null, peers: PeerResults | null,
  prev: PeerResults | null, peerNote: string, scen: ScenarioInfo[], allScenarios: number, store: MicroResult | null = null): void {
  const out: string[] = [];
  const p = (...l: string[]): void => { out.push(...l); };
  const partial = o.quick || o.reps < 3 || (peers !== null && scen.length < allScenarios) || micro === null || peers === null;
  p('# sluice benchmarks', '');
  p(`Generated by \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (bench/run.ts); regenerate it, do not edit it. ` +
    'Every figure below comes from one run on one machine: sluice and its peers (rsyslog, syslog-ng) got the same `loggen` load in the same run, ' +
    'repetitions interleaved. One loggen connection, RFC 5424 messages of 256 bytes, loopback only.');
  if (partial) {
    p('', `> **Partial or quick run** (${o.quick ? 'quick: ' : ''}${o.reps} repetition(s)${o.target ? ` of ~${o.target} s` : ''}${peers ? `, scenarios: ${scen.map((s) => s.name).join(', ')}` : ', no peer scenarios'}${micro ? '' : ', no micro benches'}): indicative only. ` +
      'The reference figures come from a full `npm run bench` on a quiet machine.');
  }
  p('', '## Environment', '', ...environment(startLoad, peers?.env ?? []));
  if (peerNote) p(`- **${peerNote}**`);
  if (peers) {
    p('', '## Ratios: sluice / peer (medians, same run)', '', ...renderRatios(peers));
    const an = anomalies(peers);
    p('', '## Anomalies', '');
    p(...(an.length ? an.map((a) => `- ${a}`) : ['None: every TCP/TLS receiver wrote every message sent, no empty or misshapen lines, no failed run.']));
    p('', '## Peer scenarios (median of the repetitions)', '');
    for (const s of scen) {
      const measured = s.receivers.filter((r) => peers.rows.some((x) => x.scenario === s.name && x.peer === r));
      const capped = repsFor(o, s) < o.reps ? `; ${repsFor(o, s)} repetitions, not ${o.reps}: max_reps in scenarios.sh keeps the full run under ~25 min` : '';
      p(`- \`${s.name}\`: ${s.description} (${measured.join(', ') || 'nothing measured'}${capped})`);
    }
    p('', ...renderTable(peers));
    if (prev) {
      const rr = renderRunToRun(peers, prev);
      if (rr.length) p('', '## Run-to-run check', '', ...rr);
    }
    p('', '## Output line shape', '', ...renderSamples(peers));
  }
  if (store) {
    p('', '## Store scenarios', '', `\`${store.command}\` — ${store.status}, ${store.seconds.toFixed(1)} s (bench/store/run.ts: each receiver writes its own fresh database or directory)`, '');
    if (store.output) p(store.output);
  }
  if (micro) {
    p('', '## Micro benchmarks', '');
    p('Each `bench/micro/*.ts` runs alone (no peer load at the same time) as its own process; its own output follows.');
    for (const m of micro) {
      p('', `### ${m.name}`, '', `\`${m.command}\` — ${m.status}, ${m.seconds.toFixed(1)} s`, '');
      if (m.output) p('```text', m.output, '```');
    }
  }
  p('', '## How it was measured', '');
  p('- Harness: `bench/peers/run-all.sh` (bash; vendored from the team\'s shared peer harness). Scenarios are lines of `bench/peers/scenarios.sh`; ' +
    'each receiver\'s config is `bench/peers/conf/<receiver>-<scenario>.conf.in` / `sluice-<scenario>.yaml.in`, rendered into a temp dir per run.');
  p('- Receivers run in the foreground: `rsyslogd -n -M <moddir> -f rsyslog.conf`, `syslog-ng -F --no-caps -f syslog-ng.conf …`, and sluice as ' +
    '`node <package.json bin> run -c sluice.yaml` (`api: false`, state under the run\'s dir). All listen on 127.0.0.1 and are stopped by PID (TERM, then KILL).');
  p('- Output line shape is the same for all: `<RFC 3339 time> <host> <tag>: <msg>` (rsyslog `RSYSLOG_FileFormat`, syslog-ng and sluice `${ISODATE} ${HOST} ${MSGHDR}${MSG}`; ' +
    'rsyslog writes an RFC 5424 tag without the ":" and keeps the BOM before MSG, so its lines are 2 bytes longer). No receiver writes the structured data. ' +
    'syslog-ng TCP/TLS paths use `flags(flow-control)` (TCP senders are slowed, nothing dropped; rsyslog imtcp and sluice apply backpressure by default). ' +
    '"syslog-ng tuned" raises log-fetch-limit, log-iw-size, log-fifo-size and flush-lines (its defaults hold it back on TCP); otherwise every daemon runs with its defaults.');
  p('- Load: `loggen -s 256 -n N -r RATE -I 60 127.0.0.1 PORT` plus the scenario\'s flags (`scenarios.sh`): `-i -S -P -F` newline-framed TCP, `-U -P` TLS (octet-counted), ' +
    '`-i -D -P -F` UDP, `-i -S -P -p \'[meta@32473 …]\'` octet-counted TCP with structured data. N per (receiver, scenario) is calibrated by one probe run so that a run lasts about the target time; ' +
    'paced scenarios send RATE × target messages.');
  p('- Forwarding (`fwd-memory`, `fwd-disk`): each daemon forwards to itself — loggen → TCP listener → forwarding destination → TCP to its own second listener → file; ' +
    'msgs/s is measured at that file, so it covers both ends of the hop. RFC 5424 on the hop (sluice `syslog` destination with octet framing, rsyslog omfwd `RSYSLOG_SyslogProtocol23Format` octet-counted, ' +
    'syslog-ng `network()` `flags(syslog-protocol)`). Memory queue: sluice `buffer: { type: memory }`, rsyslog `queue.type="LinkedList"`, syslog-ng\'s output queue. ' +
    'Disk queue — every message written to the queue file before it is sent, none fsync\'ed (kill -9 safe, not power-loss safe): sluice `buffer: { type: disk }` (`fsync: never`, the default), ' +
    'rsyslog `queue.type="Disk"` (a pure disk queue, not disk-assisted), syslog-ng `disk-buffer(reliable(yes))`. The load starts 1.5 s after the second listener is up. Details: bench/peers/README.md.');
  p('- Timing: the output size (all files under the output directory for templated paths) is polled every 50 ms; elapsed = last change − first non-empty observation; ' +
    'a run ends when loggen has exited and the output has not grown for 2 s. After the run the output is checked line by line (outside the timed window): ' +
    'empty lines, line shape, and the sum of loggen\'s sequence numbers (each message exactly once).');
  p('- CPU: utime + stime of all the receiver\'s threads from `/proc/PID/stat`; idle RSS: `VmRSS` from `/proc/PID/status` once the receiver listens and has sat 1 s without load (`IDLE_SETTLE_S`; forwarding scenarios: after their 1.5 s settle), just before the load; peak RSS: `VmHWM` just before stopping. Steal: `/proc/stat` during the run.');
  p('- Ratios compare medians of the same run; differences under ~30 % on TCP/TLS are within this kind of machine\'s run-to-run noise when the sender (loggen, one core) is near 100 %. CPU s per 1M messages and peak RSS are steadier.');
  p('', '## Pitfalls met (see bench/peers/README.md)', '');
  p('- Debian 12 `rsyslog` and `syslog-ng-core` conflict; `setup.sh` apt-installs syslog-ng-core (it ships loggen) and unpacks rsyslog into /tmp/peers-root.');
  p('- `loggen -U` alone is TLS (adding `-S` is refused). loggen closes without reading TLS 1.3 session tickets: a receiver that sends them can lose the tail of the stream. ' +
    'sluice started as plain `node bin/sluice.js run` offers TLS 1.2 only (TLS 1.3 needs `openssl-sluice.cnf`, no tickets); rsyslog (GnuTLS) negotiates TLS 1.2, syslog-ng TLS 1.3: TLS rows do not compare identical ciphers.');
  p('- Forwarding to itself: rsyslog deadlocked with the relay input on the main queue (the relay ruleset has its own queue); syslog-ng\'s network() destination may connect before its own source listens, then waits time-reopen (60 s default; set to 1 s).');
  p('- UDP: loss is at the socket (kernel RcvbufErrors). sluice asks for an 8 MiB receive buffer by default (capped by net.core.rmem_max), rsyslog and syslog-ng run with the kernel default — see the rb figures. loggen -r paces in bursts.');
  if (peers) p('', '<details><summary>Per-run rows</summary>', '', ...renderRunRows(peers), '', '</details>');
  p('');
  const file = path.resolve(ROOT, o.out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, out.join('\n'));
  fs.renameSync(`${file}.tmp`, file);
  const rel = path.relative(process.cwd(), file);
  say(`wrote ${rel && !rel.startsWith('..') ? rel : file}`);
}

// ------------------------------------------------------------------ main
const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError('expected an integer 1..50');
  return n;
};
const seconds = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1 || n > 120) throw new InvalidArgumentError('expected seconds, 1..120');
  return n;
};
const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(/[\s,]+/).filter(Boolean)];

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('npm run bench --')
    .description('sluice benchmarks: micro benches and peer scenarios (sluice vs rsyslog and syslog-ng); writes bench/RESULTS.md')
    .argument('[names...]', 'peer scenarios (see --list), micro benches (bench/micro/<name>.ts), "micro" or "peers"; none = everything')
    .option('-r, --reps <n>', 'repetitions per (receiver, scenario), interleaved (default 3, 1 with --quick; scenarios with max_reps in scenarios.sh, e.g. fwd-*, run at most that often unless --reps is given)', positiveInt)
    .option('-t, --target <seconds>', 'target seconds of load per run', seconds)
    .option('-s, --scenarios <list>', 'peer scenarios, comma separated', list)
    .option('-p, --peers <list>', 'receivers: rsyslog,syslog-ng,syslog-ng-tuned,sluice (also node-file,node-discard)', list)
    .option('-q, --quick', '1 repetition of ~3 s, short micro benches (a few minutes; indicative only)', false)
    .option('-o, --out <file>', 'results markdown, relative to the repository', 'bench/RESULTS.md')
    .option('--max-minutes <m>', 'bound of the peer harness (default: 23, 10 with --quick, or 1.5 × the estimate)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 600) throw new InvalidArgumentError('expected minutes, up to 600');
      return n;
    })
    .option('--setup <mode>', 'run bench/peers/setup.sh: auto (only if a peer is missing and we are root), yes, no', 'auto')
    .option('--keep', 'keep the harness work dir under /tmp', false)
    .option('--list', 'list scenarios and micro benches, then exit', false)
    .option('--report-from <dir>', 'only rewrite the markdown from an earlier bench/peers/results/<stamp> dir (no runs)')
    .showHelpAfterError();
  program.parse(argv, { from: 'user' });
  const opts = program.opts<{ reps?: number; target?: number; scenarios?: string[]; peers?: string[]; quick: boolean;
    out: string; maxMinutes?: number; setup: string; keep: boolean; list: boolean; reportFrom?: string }>();
  const names = program.args;
  if (!['auto', 'yes', 'no'].includes(opts.setup)) throw new InvalidArgumentError('--setup: auto, yes or no');

  const allScen = scenarioList();
  const allMicro = microNames();
  if (opts.list) {
    for (const s of allScen) process.stdout.write(`${s.name.padEnd(22)} peer scenario: ${s.description} [${s.receivers.join(', ')}]\n`);
    for (const m of allMicro) process.stdout.write(`${m.padEnd(22)} micro bench: bench/micro/${m}.ts\n`);
    return 0;
  }
  if (opts.reportFrom) {
    const dir = path.resolve(opts.reportFrom);
    if (!fs.existsSync(path.join(dir, 'runs.tsv'))) throw new InvalidArgumentError(`--report-from: no runs.tsv in ${dir}`);
    const peers = loadPeerResults(dir);
    const names = new Set(peers.rows.map((r) => r.scenario));
    const reps = Math.max(1, ...peers.rows.map((r) => Number(r.rep) || 0));
    const o: BenchOptions = { reps, target: 0, quick: false, out: opts.out, setup: 'no', keep: false };
    const pd = previousResults(path.dirname(dir), dir);
    startedAt = `${path.basename(dir)} (results dir; report rewritten ${stamp()})`;
    writeReport(o, argv, os.loadavg(), null, peers, pd ? loadPeerResults(pd) : null, '', allScen.filter((s) => names.has(s.name)), allScen.length);
    return 0;
  }
  // what to run: positional names select; none = everything
  let selScen: string[] = [], selMicro: string[] = [];
  let doStore = names.length === 0 && !opts.scenarios;
  const unknown: string[] = [];
  for (const n of names) {
    if (n === 'store') doStore = true;
    else if (n === 'micro') selMicro.push(...allMicro);
    else if (n === 'peers') selScen.push(...allScen.map((s) => s.name));
    else if (allScen.some((s) => s.name === n)) selScen.push(n);
    else if (allMicro.includes(n)) selMicro.push(n);
    else unknown.push(n);
  }
  for (const n of opts.scenarios ?? []) {
    if (allScen.some((s) => s.name === n)) selScen.push(n);
    else unknown.push(n);
  }
  if (unknown.length) {
    process.stderr.write(`unknown benchmark name(s): ${unknown.join(', ')}\nknown: ${[...allScen.map((s) => s.name), ...allMicro, 'micro', 'peers', 'store'].join(', ')}\n`);
    return 2;
  }
  if (names.length === 0 && !opts.scenarios) {
    selScen = allScen.map((s) => s.name);
    selMicro = [...allMicro];
  }
  const o: BenchOptions = {
    reps: opts.reps ?? (opts.quick ? 1 : 3),
    target: opts.target ?? (opts.quick ? 3 : 8),
    scenarios: [...new Set(selScen)],
    peers: opts.peers,
    quick: opts.quick,
    out: opts.out,
    maxMinutes: opts.maxMinutes,
    setup: opts.setup as BenchOptions['setup'],
    keep: opts.keep,
    custom: opts.reps !== undefined || opts.target !== undefined,
    exactReps: opts.reps !== undefined,
  };
  const scen = allScen.filter((s) => o.scenarios!.includes(s.name));
  const doMicro = selMicro.length > 0;
  const doPeers = scen.length > 0;
  if (!doMicro && !doPeers && !doStore) {
    process.stderr.write('nothing to run (no micro benches or peer scenarios found)\n');
    return 2;
  }
  const startLoad = os.loadavg();
  startedAt = stamp();
  const t0 = Date.now();
  say(`start: ${doMicro ? `${selMicro.length} micro bench(es)` : 'no micro benches'}, ${doPeers ? `${scen.length} peer scenario(s)` : 'no peer scenarios'}${o.quick ? ' (quick)' : ''}; loadavg ${startLoad.map((x) => x.toFixed(2)).join(' ')}`);
  if (os.loadavg()[0]! > os.cpus().length * 0.5) say('note: the machine is busy (loadavg above half the CPUs); figures will be noisy');

  const stop = (sig: NodeJS.Signals): void => {
    interrupted = true;
    say(`${sig}: stopping (no report is written)`);
    if (current) killGroup(current, 'SIGTERM');
    setTimeout(() => process.exit(130), 20_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  let failed = false;
  const micro = doMicro ? await runMicro([...new Set(selMicro)], o.quick) : null;
  if (interrupted) return 130;
  if (micro?.some((m) => m.status !== 'ok')) failed = true;

  let peers: PeerResults | null = null, prev: PeerResults | null = null, peerNote = '';
  if (doPeers) {
    const dir = path.join(PEERS_DIR, 'results', stamp().replace(/[-:]/g, ''));
    const r = await runPeers(o, scen, dir);
    peerNote = r.note;
    if (!r.ok) failed = true;
    if (fs.existsSync(path.join(dir, 'runs.tsv'))) {
      peers = loadPeerResults(dir);
      if (peers.scenarios.length === 0) peers.scenarios = scen;
      if (peers.env.some((l) => l.includes('FAILED'))) failed = true;
      const pd = previousResults(path.join(PEERS_DIR, 'results'), dir);
      prev = pd ? loadPeerResults(pd) : null;
      say(`peer results: ${path.relative(ROOT, dir)}`);
    } else {
      say('the peer harness wrote no results');
      failed = true;
    }
  }
  if (interrupted) return 130;
  const store = doStore ? await runStore(o.quick) : null;
  if (store && store.status !== 'ok') failed = true;
  if (interrupted) return 130;
  writeReport(o, argv, startLoad, micro, peers, prev, peerNote, scen, allScen.length, store);
  if (peers) {
    const an = anomalies(peers);
    for (const a of an) say(`ANOMALY: ${a}`);
    const r = renderRatios(peers);
    process.stderr.write(`\n${(r.length > 2 ? r.slice(2) : r).join('\n')}\n\n`);
  }
  say(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof InvalidArgumentError ? 2 : 1);
  });
}
