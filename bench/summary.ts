// Peer benchmark summary: medians, spreads and sluice/peer ratios from one results directory of
// bench/peers/run-all.sh (runs.tsv, scenarios.tsv, env.md, samples.tsv).
//
// Used by bench/run.ts (which writes bench/RESULTS.md) and by run-all.sh on its own:
//   node dist/bench/summary.js bench/peers/results/<stamp>   -> markdown on stdout

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunRow {
  peer: string;
  scenario: string;
  rep: string;
  sent: number;
  written: number;
  loss_pct: number | null;
  elapsed_s: number;
  load_s: number;
  msgs_s: number;
  mb_s: number;
  rss_kb: number;
  cpu_s: number;
  cpu_pct: number;
  loggen_cpu_s: number;
  steal_pct: number;
  load1: number;
  out_bytes: number;
  udp_rcvbuf_err: number;
  blank: number;
  bad_shape: number;
  files: number;
  sock_rcvbuf: number;
  /** 1 every message exactly once by sequence numbers, 0 not, -1 not checked */
  seq_ok: number;
  /** VmRSS once listening and settled, before the load (0: not measured, older results) */
  idle_rss_kb: number;
}

export interface ScenarioInfo {
  name: string;
  proto: 'tcp' | 'tls' | 'udp';
  rate: number;
  output: 'file' | 'dir';
  receivers: string[];
  description: string;
  /** at most this many repetitions in a run (scenarios.sh max_reps), unless --reps was given */
  maxReps?: number;
  /** seconds each run waits before the load (forwarding hop: lib/run-one.sh FWD_SETTLE_S) */
  settleS?: number;
}

export interface CellStats {
  n: number;
  med: number;
  min: number;
  max: number;
  spread: number;
  mb: number;
  sent: number;
  good: number;
  loss: number;
  lossMin: number;
  lossMax: number;
  rssMb: number;
  /** median idle RSS (MB); 0 when the rows predate the measurement */
  idleRssMb: number;
  cpuPct: number;
  cpuPerM: number;
  elapsed: number;
  steal: number;
  senderPct: number;
  rcvbufErr: number;
  blank: number;
  seqBad: number;
  bad: number;
  files: number;
  sockRcvbuf: number;
}

export interface PeerResults {
  dir: string;
  rows: RunRow[];
  scenarios: ScenarioInfo[];
  env: string[];
  samples: { peer: string; scenario: string; sample: string }[];
  stats: Map<string, CellStats>;
}

/** Column order of the receivers in every table. */
export const RECEIVERS = ['sluice', 'rsyslog', 'syslog-ng', 'syslog-ng-tuned', 'node-file', 'node-discard'] as const;
export const PEERS = RECEIVERS.filter((r) => r !== 'sluice');
export const LABEL: Record<string, string> = {
  sluice: 'sluice',
  rsyslog: 'rsyslog',
  'syslog-ng': 'syslog-ng',
  'syslog-ng-tuned': 'syslog-ng tuned',
  'node-file': 'Node naive (split + write per line)',
  'node-discard': 'Node raw (count bytes, discard)',
};

const key = (scenario: string, peer: string): string => `${scenario}|${peer}`;

function readTsv(file: string): Record<string, string>[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) return [];
  const cols = lines[0]!.split('\t');
  return lines.slice(1).map((l) => {
    const v = l.split('\t');
    const o: Record<string, string> = {};
    cols.forEach((c, i) => { o[c] = v[i] ?? ''; });
    return o;
  });
}

const num = (s: string | undefined): number => {
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
};

export function readRuns(file: string): RunRow[] {
  return readTsv(file).map((r) => ({
    peer: r.peer ?? '',
    scenario: r.scenario ?? '',
    rep: r.rep ?? '',
    sent: num(r.sent),
    written: num(r.written),
    loss_pct: r.loss_pct === undefined || r.loss_pct === 'NA' || r.loss_pct === '' ? null : num(r.loss_pct),
    elapsed_s: num(r.elapsed_s),
    load_s: num(r.load_s),
    msgs_s: num(r.msgs_s),
    mb_s: num(r.mb_s),
    rss_kb: num(r.rss_kb),
    cpu_s: num(r.cpu_s),
    cpu_pct: num(r.cpu_pct),
    loggen_cpu_s: num(r.loggen_cpu_s),
    steal_pct: num(r.steal_pct),
    load1: num(r.load1),
    out_bytes: num(r.out_bytes),
    udp_rcvbuf_err: num(r.udp_rcvbuf_err),
    blank: num(r.blank),
    bad_shape: num(r.bad_shape),
    files: num(r.files),
    sock_rcvbuf: num(r.sock_rcvbuf),
    seq_ok: r.seq_ok === undefined || r.seq_ok === '' ? -1 : num(r.seq_ok),
    idle_rss_kb: num(r.idle_rss_kb),
  }));
}

export function readScenarios(file: string): ScenarioInfo[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => {
    const [name = '', proto = 'tcp', rate = '0', output = 'file', receivers = '', description = '', maxReps = '', settle = '0'] = l.split('\t');
    return { name, proto: proto as ScenarioInfo['proto'], rate: num(rate), output: output as ScenarioInfo['output'], receivers: receivers.split(',').filter(Boolean), description,
      ...(maxReps ? { maxReps: num(maxReps) } : {}), settleS: num(settle) };
  });
}

export const median = (a: number[]): number => {
  if (a.length === 0) return 0;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function cellStats(rs: RunRow[]): CellStats {
  const rate = rs.map((r) => r.msgs_s);
  const med = median(rate);
  const loss = rs.map((r) => r.loss_pct ?? 0);
  const good = (r: RunRow): number => r.written - r.blank;
  return {
    n: rs.length,
    med,
    min: Math.min(...rate),
    max: Math.max(...rate),
    spread: med > 0 ? (100 * (Math.max(...rate) - Math.min(...rate))) / med : 0,
    mb: median(rs.map((r) => r.mb_s)),
    sent: median(rs.map((r) => r.sent)),
    good: median(rs.map(good)),
    loss: median(loss),
    lossMin: Math.min(...loss),
    lossMax: Math.max(...loss),
    rssMb: median(rs.map((r) => r.rss_kb)) / 1024,
    idleRssMb: median(rs.map((r) => r.idle_rss_kb)) / 1024,
    cpuPct: median(rs.map((r) => r.cpu_pct)),
    cpuPerM: median(rs.map((r) => (good(r) > 0 ? (r.cpu_s * 1e6) / good(r) : 0))),
    elapsed: median(rs.map((r) => r.elapsed_s)),
    steal: Math.max(...rs.map((r) => r.steal_pct)),
    senderPct: median(rs.map((r) => (r.load_s > 0 ? (100 * r.loggen_cpu_s) / r.load_s : 0))),
    rcvbufErr: median(rs.map((r) => r.udp_rcvbuf_err)),
    blank: rs.reduce((a, r) => a + r.blank, 0),
    seqBad: rs.filter((r) => r.seq_ok === 0).length,
    bad: rs.reduce((a, r) => a + r.bad_shape, 0),
    files: Math.max(...rs.map((r) => r.files)),
    sockRcvbuf: median(rs.map((r) => r.sock_rcvbuf)),
  };
}

export function computeStats(rows: RunRow[]): Map<string, CellStats> {
  const groups = new Map<string, RunRow[]>();
  for (const r of rows) {
    if (r.rep === 'probe') continue;
    const k = key(r.scenario, r.peer);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const stats = new Map<string, CellStats>();
  for (const [k, rs] of groups) stats.set(k, cellStats(rs));
  return stats;
}

export function loadPeerResults(dir: string): PeerResults {
  const rows = readRuns(path.join(dir, 'runs.tsv'));
  const envFile = path.join(dir, 'env.md');
  const env = fs.existsSync(envFile) ? fs.readFileSync(envFile, 'utf8').split('\n').filter((l) => l.trim().length > 0) : [];
  const samples = readTsv(path.join(dir, 'samples.tsv')).map((r) => ({ peer: r.peer ?? '', scenario: r.scenario ?? '', sample: r.sample ?? '' }));
  return { dir, rows, scenarios: readScenarios(path.join(dir, 'scenarios.tsv')), env, samples, stats: computeStats(rows) };
}

// ---------------------------------------------------------------- formatting
export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const signed = (n: number, d = 1): string => `${n > 0 ? '+' : n < 0 ? '−' : '±'}${Math.abs(n).toFixed(d)}`;

/** Scenarios that have rows, in registry order (unknown names last). */
function scenariosWithRows(res: PeerResults): ScenarioInfo[] {
  const have = new Set(res.rows.map((r) => r.scenario));
  const known = res.scenarios.filter((s) => have.has(s.name));
  const extra = [...have].filter((n) => !known.some((s) => s.name === n))
    .map((name): ScenarioInfo => ({ name, proto: 'tcp', rate: 0, output: 'file', receivers: [], description: name }));
  return [...known, ...extra];
}

export function isUdp(s: ScenarioInfo): boolean {
  return s.proto === 'udp';
}

/** The ratios table: sluice / each peer, msg/s medians (UDP: also the loss difference in points). */
export function renderRatios(res: PeerResults): string[] {
  const out: string[] = [];
  const scen = scenariosWithRows(res).filter((s) => res.stats.has(key(s.name, 'sluice')));
  const peers = PEERS.filter((p) => scen.some((s) => res.stats.has(key(s.name, p))));
  if (scen.length === 0) return ['No sluice rows in this run.'];
  if (peers.length === 0) return ['sluice ran alone in this run (no peer measured), so there are no ratios.'];
  out.push('sluice msg/s median ÷ the peer\'s msg/s median, same run, same load: > 1 means sluice wrote more messages per second. ' +
    'UDP: the ratio of written messages per second, and sluice\'s loss minus the peer\'s loss in percentage points (negative = sluice lost less). ' +
    'Second table: CPU seconds per million messages, idle RSS and peak RSS, sluice ÷ peer (< 1 means sluice used less).');
  out.push('');
  out.push(`| scenario | ${peers.map((p) => `vs ${LABEL[p]}`).join(' | ')} |`);
  out.push(`|---|${peers.map(() => '---:').join('|')}|`);
  for (const s of scen) {
    const sl = res.stats.get(key(s.name, 'sluice'))!;
    const cells = peers.map((p) => {
      const ps = res.stats.get(key(s.name, p));
      if (!ps || ps.med <= 0) return '-';
      const r = `**${f2(sl.med / ps.med)}×**`;
      return isUdp(s) ? `${r}, loss ${signed(sl.loss - ps.loss)} pt` : r;
    });
    out.push(`| ${s.name} | ${cells.join(' | ')} |`);
  }
  out.push('');
  out.push(`| scenario | ${peers.map((p) => `CPU/1M, idle RSS, peak RSS vs ${LABEL[p]}`).join(' | ')} |`);
  out.push(`|---|${peers.map(() => '---:').join('|')}|`);
  for (const s of scen) {
    const sl = res.stats.get(key(s.name, 'sluice'))!;
    const cells = peers.map((p) => {
      const ps = res.stats.get(key(s.name, p));
      if (!ps || ps.cpuPerM <= 0 || ps.rssMb <= 0) return '-';
      const idle = ps.idleRssMb > 0 && sl.idleRssMb > 0 ? `${f1(sl.idleRssMb / ps.idleRssMb)}×` : '-';
      return `${f2(sl.cpuPerM / ps.cpuPerM)}×, ${idle}, ${f1(sl.rssMb / ps.rssMb)}×`;
    });
    out.push(`| ${s.name} | ${cells.join(' | ')} |`);
  }
  return out;
}

/** The main table: one row per scenario and receiver. */
export function renderTable(res: PeerResults): string[] {
  const out: string[] = [];
  out.push('msgs/s = non-empty lines written / (last write − first write). MB/s = msgs/s × 256 B (syslog payload received). ' +
    'Spread = (max − min) / median. CPU s/1M = receiver CPU seconds (user + system, all threads) per million messages written. ' +
    'Idle RSS = VmRSS once the receiver listens and has sat 1 s without load (forwarding: its hop connected), just before the load; peak RSS = VmHWM at the end of the run. CPU % = receiver CPU / elapsed (100 % = one core). "sender %" = loggen\'s CPU over the same window: near 100 % means the sender, not the receiver, set the pace. ' +
    '"lines" = check of the output after the run: ok, or the number of empty lines / lines not shaped `<time> localhost prg00000[1234]: <msg>` (summed over the repetitions), or runs whose sequence numbers (loggen `seq: N`) do not add up to each message exactly once.');
  out.push('');
  out.push('| scenario | receiver | msgs/s median | min − max | spread | MB/s | written / sent (loss) | CPU s/1M | CPU % | idle RSS MB | peak RSS MB | sender % | run s | lines | max steal % |');
  out.push('|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|');
  for (const s of scenariosWithRows(res)) {
    for (const peer of RECEIVERS) {
      const c = res.stats.get(key(s.name, peer));
      if (!c) continue;
      const flag = c.spread > 10 && c.n > 1 ? ' (unstable)' : '';
      const loss = c.sent > 0
        ? `${fmtInt(c.good)} / ${fmtInt(c.sent)} (${c.loss.toFixed(2)} %${c.lossMax - c.lossMin > 0.5 ? `, ${c.lossMin.toFixed(1)}…${c.lossMax.toFixed(1)}` : ''})`
        : '-';
      const problems = [c.blank ? `${fmtInt(c.blank)} empty` : '', c.bad ? `${fmtInt(c.bad)} misshapen` : '', c.seqBad ? `seq mismatch in ${c.seqBad} run(s)` : ''].filter(Boolean);
      const lines = problems.length ? `**${problems.join(', ')}**` : 'ok';
      const name = peer === 'sluice' ? '**sluice**' : LABEL[peer] ?? peer;
      out.push(`| ${s.name} | ${name} | **${fmtInt(c.med)}** | ${fmtInt(c.min)} − ${fmtInt(c.max)} | ${f1(c.spread)} %${flag} | ${f1(c.mb)} | ${loss} | ${f2(c.cpuPerM)} | ${Math.round(c.cpuPct)} | ${c.idleRssMb > 0 ? f1(c.idleRssMb) : '-'} | ${f1(c.rssMb)} | ${Math.round(c.senderPct)} | ${f1(c.elapsed)} | ${lines} | ${f1(c.steal)} |`);
    }
  }
  const udp = scenariosWithRows(res).filter(isUdp).flatMap((s) => RECEIVERS.map((p) => [s.name, p, res.stats.get(key(s.name, p))] as const))
    .filter((x): x is readonly [string, (typeof RECEIVERS)[number], CellStats] => x[2] !== undefined);
  if (udp.length) {
    out.push('');
    out.push('UDP loss attribution — kernel `Udp: RcvbufErrors` during the run (median) and the receive buffer the socket got (`ss -m` rb): ' +
      udp.map(([sc, p, c]) => `${p}/${sc}: ${fmtInt(c.rcvbufErr)} of ${fmtInt(Math.max(0, c.sent - c.good))} lost, rb ${c.sockRcvbuf ? `${fmtInt(c.sockRcvbuf / 1024)} KiB` : '?'}`).join('; ') + '.');
  }
  const dirs = scenariosWithRows(res).filter((s) => s.output === 'dir');
  if (dirs.length) {
    out.push('');
    out.push('Templated-path scenarios: files written per run — ' + dirs.flatMap((s) => RECEIVERS.map((p) => {
      const c = res.stats.get(key(s.name, p));
      return c ? `${p}/${s.name}: ${c.files}` : '';
    })).filter(Boolean).join('; ') + '.');
  }
  return out;
}

/** Problems a reader must not miss: failed runs, loss on TCP/TLS, empty or misshapen lines, duplicates. */
export function anomalies(res: PeerResults): string[] {
  const out: string[] = [];
  const logs = path.join(path.relative(process.cwd(), res.dir) || '.', 'logs');
  for (const l of res.env) {
    if (/FAILED|not measured|time budget/.test(l)) out.push(l.replace(/^- /, '').replace(/\*\*/g, '').replace('(see logs/', `(see ${logs}/`));
  }
  const info = new Map(res.scenarios.map((s) => [s.name, s]));
  for (const r of res.rows) {
    if (r.rep === 'probe') continue;
    const s = info.get(r.scenario);
    const good = r.written - r.blank;
    const who = `${r.peer}/${r.scenario} rep ${r.rep}`;
    if (s && !isUdp(s) && r.sent > 0 && good < r.sent) out.push(`${who}: ${fmtInt(r.sent - good)} of ${fmtInt(r.sent)} messages missing from the output over ${s.proto.toUpperCase()}`);
    if (r.sent > 0 && good > r.sent) out.push(`${who}: ${fmtInt(good - r.sent)} more lines than messages sent (duplicates or split lines)`);
    if (r.blank > 0) out.push(`${who}: ${fmtInt(r.blank)} empty lines in the output`);
    if (r.seq_ok === 0) out.push(`${who}: as many lines as messages sent, but the sequence numbers do not add up: some messages written twice and others lost`);
    if (r.bad_shape > 0) out.push(`${who}: ${fmtInt(r.bad_shape)} lines not of the expected shape (see ${logs}/${r.peer}-${r.scenario}-${r.rep}.bad-lines.txt)`);
    if (r.sent === 0) out.push(`${who}: the sender reported no count (see ${logs}/${r.peer}-${r.scenario}-${r.rep}.sender.log)`);
  }
  return out;
}

export function renderSamples(res: PeerResults): string[] {
  if (res.samples.length === 0) return [];
  const out = ['First line each receiver wrote (repetition 1), cut at 110 characters. rsyslog writes an RFC 5424 tag without the ":" and keeps the BOM that loggen puts before MSG.', '', '```'];
  for (const sc of scenariosWithRows(res)) {
    for (const p of RECEIVERS) {
      const s = res.samples.find((x) => x.peer === p && x.scenario === sc.name);
      if (s) out.push(`${`${sc.name} ${p}:`.padEnd(36)} ${s.sample.replace(/\uFEFF/g, '<BOM>').slice(0, 110)}…`);
    }
  }
  out.push('```');
  return out;
}

export function renderRunToRun(res: PeerResults, prev: PeerResults): string[] {
  const lines: string[] = [];
  for (const s of scenariosWithRows(res)) {
    for (const p of RECEIVERS) {
      const c = res.stats.get(key(s.name, p));
      const pc = prev.stats.get(key(s.name, p));
      if (!c || !pc || pc.med <= 0) continue;
      lines.push(`| ${s.name} | ${LABEL[p] ?? p} | ${fmtInt(c.med)} (n=${c.n}) | ${fmtInt(pc.med)} (n=${pc.n}) | ${signed((100 * (c.med - pc.med)) / pc.med, 0)} % |`);
    }
  }
  if (lines.length === 0) return [];
  return [
    `Same scripts and machine, the previous run (\`${path.basename(prev.dir)}\`, kept under \`bench/peers/results/\`, not committed). A large change with the same configuration is machine noise (or a change in sluice), not a property of the receiver.`,
    '',
    '| scenario | receiver | msgs/s median, this run | earlier run | change |',
    '|---|---|---:|---:|---:|',
    ...lines,
  ];
}

export function renderRunRows(res: PeerResults): string[] {
  if (res.rows.length === 0) return [];
  const cols = Object.keys(res.rows[0]!) as (keyof RunRow)[];
  return [
    '| ' + cols.join(' | ') + ' |',
    '|' + cols.map(() => '---').join('|') + '|',
    ...res.rows.map((r) => '| ' + cols.map((c) => String(r[c] ?? 'NA')).join(' | ') + ' |'),
  ];
}

/** The newest other results directory under `resultsRoot` holding a runs.tsv with rows. */
export function previousResults(resultsRoot: string, current: string): string | null {
  if (!fs.existsSync(resultsRoot)) return null;
  const dirs = fs.readdirSync(resultsRoot)
    .map((d) => path.join(resultsRoot, d))
    .filter((d) => path.resolve(d) !== path.resolve(current) && fs.existsSync(path.join(d, 'runs.tsv')))
    .sort();
  // same load generator only (a `sluice send` run is not comparable with a loggen run)
  const sender = (d: string): string => {
    const f = path.join(d, 'env.md');
    return fs.existsSync(f) ? (/^- load generator: (\S+)/m.exec(fs.readFileSync(f, 'utf8'))?.[1] ?? '') : '';
  };
  const mine = sender(current);
  for (let i = dirs.length - 1; i >= 0; i--) {
    if (sender(dirs[i]!) === mine && readRuns(path.join(dirs[i]!, 'runs.tsv')).some((r) => r.rep !== 'probe')) return dirs[i]!;
  }
  return null;
}

/** Markdown of the peer part alone (what run-all.sh writes as peers.md). */
export function renderPeerMarkdown(res: PeerResults): string {
  const out: string[] = [];
  out.push('# Peer benchmark: sluice, rsyslog, syslog-ng');
  out.push('');
  out.push(`From \`${res.dir}\` (${res.rows.length} runs). One loggen connection, RFC 5424 messages of 256 bytes, loopback only.`);
  out.push('', '## Environment', '', ...res.env, '', '## Ratios: sluice / peer', '', ...renderRatios(res), '', '## Results (median of the repetitions)', '', ...renderTable(res));
  const an = anomalies(res);
  if (an.length) out.push('', '## Anomalies', '', ...an.map((a) => `- ${a}`));
  out.push('', '## Output line shape', '', ...renderSamples(res), '', '## Per-run rows', '', ...renderRunRows(res), '');
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node dist/bench/summary.js <bench/peers/results/STAMP>\n');
    process.exit(2);
  }
  process.stdout.write(renderPeerMarkdown(loadPeerResults(dir)));
}
