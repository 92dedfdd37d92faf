// Micro benchmark: events/s of the in-process pipeline (parse → router → memory buffer → a
// destination that renders each event's line as a file destination does) plain, with 100 Sigma rules, with redact, and the cost of
// the copy a transform makes (LogEvent.clone) — all in the same run, repetitions interleaved.
//
// Run: node dist/bench/micro/analysis.js [seconds-per-case=2] [reps=3]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { DEFAULT_LINE_TEMPLATE, Template } from '../../src/template/template.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import type { Destination, SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { DeadLetterFile } from '../../src/pipeline/dead-letter.js';
import { DestinationRunner } from '../../src/pipeline/destination-runner.js';
import { Router, type LogPath, type RuleSink } from '../../src/pipeline/router.js';
import { sigmaRuleSetKind, sigmaRuleSetSchema } from '../../src/rules/sigma/index.js';
import { TransformChain } from '../../src/transforms/chain.js';
import { redactKind, redactSchema } from '../../src/transforms/redact/index.js';

const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '10.1.2.3', port: 51234, tlsPeer: null };

/** Real-looking traffic: sshd, sudo, cron, nginx access, kernel, postfix, app JSON-ish lines. */
function makeLines(n: number): Buffer[] {
  const out: Buffer[] = [];
  const users = ['alice', 'bob', 'deploy', 'root', 'postgres'];
  for (let i = 0; i < n; i++) {
    const ip = `198.51.${(i * 7) % 256}.${(i * 13) % 254 + 1}`;
    const u = users[i % users.length]!;
    const lines = [
      `<38>Mar  1 12:00:${String(i % 60).padStart(2, '0')} bastion sshd[${1000 + i}]: Failed password for ${u} from ${ip} port ${40000 + (i % 20000)} ssh2`,
      `<38>Mar  1 12:00:01 bastion sshd[${1000 + i}]: Accepted publickey for ${u} from ${ip} port 51000 ssh2: ED25519 SHA256:Zm9vYmFyYmF6`,
      `<85>Mar  1 12:00:02 db1 sudo:    ${u} : TTY=pts/0 ; PWD=/home/${u} ; USER=root ; COMMAND=/usr/bin/systemctl status nginx`,
      `<78>Mar  1 12:00:03 app1 CRON[${2000 + i}]: (${u}) CMD (/usr/local/bin/backup.sh --quiet)`,
      `<190>Mar  1 12:00:04 lb1 nginx: ${ip} - - [01/Mar/2026:12:00:04 +0000] "GET /api/v1/items?page=${i % 50} HTTP/1.1" 200 ${512 + i % 4000} "-" "curl/8.5.0"`,
      `<6>Mar  1 12:00:05 web1 kernel: [${i}.123456] IPv4: martian source 10.0.0.${i % 255} from ${ip}, on dev eth0`,
      `<22>Mar  1 12:00:06 mx1 postfix/smtpd[${3000 + i}]: connect from unknown[${ip}]`,
      `<134>1 2026-03-01T12:00:07.${String(i % 1000).padStart(3, '0')}Z api1 orders 4242 REQ [req id="${i}" ip="${ip}"] order ${i} created by ${u}@example.com total=${i % 999}.99`,
    ];
    out.push(Buffer.from(lines[i % lines.length]!));
  }
  return out;
}

/** 100 rules in the shapes rule packs use: keyword lists, field selections, regular expressions. */
function makeRules(dir: string): void {
  const docs: string[] = [];
  const words = ['mimikatz', 'meterpreter', 'xmrig', 'kworkerds', 'tsunami', 'bashdoor', 'linpeas', 'pspy', 'chisel', 'ngrok', 'socat exec', 'nc -e', 'base64 -d', '/dev/tcp/', 'wget http', 'curl -s http', 'chmod 777', 'LD_PRELOAD', 'authorized_keys', 'crontab -r'];
  for (let i = 0; i < 40; i++) {
    docs.push(`title: keyword rule ${i}\nid: kw-${i}\nlogsource:\n  product: linux\ndetection:\n  keywords:\n    - '${words[i % words.length]} ${i}'\n    - 'suspicious-${i}'\n    - '${words[(i + 7) % words.length]}'\n  condition: keywords\nlevel: medium\n`);
  }
  const apps = ['sshd', 'sudo', 'cron', 'nginx', 'kernel', 'postfix/smtpd', 'orders', 'systemd'];
  for (let i = 0; i < 40; i++) {
    const app = apps[i % apps.length]!;
    const service = i % 2 === 0 ? `\n  service: ${app}` : '';
    docs.push(`title: field rule ${i}\nid: fld-${i}\nlogsource:\n  product: linux${service}\ndetection:\n  sel:\n    app: ${app}\n    message|contains:\n      - 'error ${i}'\n      - 'denied-${i}'\n  host|startswith: 'prod-${i}'\n  filter:\n    host: build-${i}\n  condition: (sel or host|startswith) and not filter\nlevel: low\n`.replace('  host|startswith: \'prod-' + i + '\'\n', `  prodhost:\n    host|startswith: 'prod-${i}'\n`).replace('(sel or host|startswith)', '(sel or prodhost)'));
  }
  // One rule that real traffic trips (1 event in 8 here), so alerts are made and routed too.
  docs[0] = "title: martian packets\nid: kw-0\nlogsource:\n  product: linux\ndetection:\n  keywords:\n    - 'martian source'\n  condition: keywords\nlevel: low\n";
  for (let i = 0; i < 20; i++) {
    docs.push(`title: regex rule ${i}\nid: re-${i}\nlogsource:\n  product: linux\ndetection:\n  sel:\n    message|re: 'COMMAND=/tmp/[a-z]{${1 + i % 5}}\\d+x${i}'\n  condition: sel\nlevel: high\n`);
  }
  fs.writeFileSync(path.join(dir, 'bench.yml'), docs.join('---\n'));
}

/** Renders every event as a file destination does (the default line template into bytes), writes nothing. */
class NullDestination implements Destination {
  readonly maxBatch = 10_000;
  sent = 0;
  private readonly w = new ByteWriter(1 << 20);
  private readonly line = Template.compile(DEFAULT_LINE_TEMPLATE);
  async start(): Promise<void> {}
  send(events: LogEvent[], done: (r: SendResult) => void): void {
    this.w.reset();
    for (let i = 0; i < events.length; i++) this.line.renderInto(events[i]!, this.w);
    this.sent += events.length;
    done({ status: 'ok' });
  }
  async stop(): Promise<void> {}
}

interface Case { name: string; extra(): Partial<LogPath> }

function runCase(c: Case, lines: Buffer[], seconds: number): { eps: number; alerts: number } {
  const metrics = new Metrics();
  const dest = new NullDestination();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-analysis-'));
  const runner = new DestinationRunner('out', dest, new MemoryBuffer(1 << 30, 'block'), metrics, { initialMs: 5, maxMs: 50 }, new DeadLetterFile(path.join(dir, 'dl.ndjson'), 'out'));
  runner.start();
  const extra = c.extra();
  const router = new Router([{ from: ['net'], filter: null, final: false, fallback: false, to: [runner], ...extra }], ['net', 'detect'], [runner]);
  const buf = Buffer.concat(lines);
  const offsets: number[] = [0];
  for (const l of lines) offsets.push(offsets[offsets.length - 1]! + l.length);
  const batch = 1000;
  const once = (): number => {
    let n = 0;
    for (let b = 0; b + batch <= lines.length; b += batch) {
      const events: LogEvent[] = new Array(batch);
      for (let i = 0; i < batch; i++) {
        const ev = new LogEvent(SOURCE, Date.now());
        parseSyslog(ev, buf, offsets[b + i]!, offsets[b + i + 1]!, 'auto');
        events[i] = ev;
      }
      router.dispatch('net', events, null, true);
      n += batch;
    }
    return n;
  };
  for (let k = 0; k < 3; k++) once(); // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) n += once();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(dir, { recursive: true, force: true });
  return { eps: n / s, alerts: alertsSeen };
}

let alertsSeen = 0;

function cloneCost(lines: Buffer[], seconds: number): number {
  const buf = Buffer.concat(lines);
  const events: LogEvent[] = [];
  let p = 0;
  for (const l of lines.slice(0, 1000)) { const ev = new LogEvent(SOURCE, Date.now()); parseSyslog(ev, buf, p, p + l.length, 'auto'); ev.message; events.push(ev); p += l.length; }
  let n = 0;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) for (let k = 0; k < 100; k++) { for (const e of events) sink += e.clone().end; n += events.length; }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (sink < 0) console.log(sink);
  return ns;
}

export function runAnalysisBench(seconds = 2, reps = 3): void {
  const lines = makeLines(20_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-rules-'));
  makeRules(dir);
  const { compiled, problems } = sigmaRuleSetKind.compile(sigmaRuleSetSchema.parse({ type: 'sigma', paths: ['bench.yml'] }), dir);
  if (problems.length) throw new Error(problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  const ruleSink = (): RuleSink => {
    const rs = sigmaRuleSetKind.build(compiled, { name: 'detect', metrics: new Metrics() });
    if (process.env.SLUICE_BENCH_DEBUG) for (const app of [null, 'sshd', 'nginx']) { const p = (rs as unknown as { planFor(a: string | null): { always: { info: { id: string } }[]; slots: number[] } }).planFor(app); console.log(app, p.always.length, p.always.map((r) => r.info.id).join(' '), p.slots); }
    return { name: 'detect', process: (evs) => { const a = rs.process(evs); alertsSeen += a.length; return a; } };
  };
  const cases: Case[] = [
    { name: 'plain pipeline', extra: () => ({}) },
    { name: '100 Sigma rules', extra: () => ({ rules: [ruleSink()] }) },
    { name: 'redact (mask)', extra: () => ({ transform: new TransformChain([redactKind.build(redactSchema.parse({ type: 'redact' }), { name: 'r', metrics: new Metrics() })]) }) },
    { name: 'redact (hmac)', extra: () => ({ transform: new TransformChain([redactKind.build(redactSchema.parse({ type: 'redact', mode: 'hmac', key: 'bench-key-0123456789' }), { name: 'r', metrics: new Metrics() })]) }) },
  ];
  const results = new Map<string, number[]>();
  const only = process.env.SLUICE_BENCH_CASE;
  if (only) cases.splice(0, cases.length, ...cases.filter((c) => c.name.startsWith(only)));
  const alerts = new Map<string, number>();
  for (let r = 0; r < reps; r++) for (const c of cases) { alertsSeen = 0; const x = runCase(c, lines, seconds); (results.get(c.name) ?? results.set(c.name, []).get(c.name)!).push(x.eps); alerts.set(c.name, x.alerts); }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const plain = median(results.get('plain pipeline') ?? [1]);
  console.log(`analysis: 20,000 real-looking syslog lines (sshd, sudo, cron, nginx, kernel, postfix, RFC 5424 app), batches of 1000, parse → router → memory buffer → destination rendering the default file line; ${reps} interleaved reps of ${seconds} s, median`);
  console.log('case                 events/s     vs plain   reps (alerts in the last rep)');
  for (const c of cases) {
    const m = median(results.get(c.name)!);
    console.log(`${c.name.padEnd(20)} ${Math.round(m).toLocaleString('en-US').padStart(10)}   ${(m / plain).toFixed(2).padStart(6)}x   ${results.get(c.name)!.map((x) => Math.round(x / 1000) + 'k').join(' ')}${alerts.get(c.name) ? `  (${alerts.get(c.name)!.toLocaleString('en-US')} alerts)` : ''}`);
  }
  if (process.env.SLUICE_BENCH_DEBUG) {
    // Where the time goes, per event: parse alone, rules alone (on parsed events).
    const rs = sigmaRuleSetKind.build(compiled, { name: 'detect', metrics: new Metrics() });
    const buf = Buffer.concat(lines);
    const mk = () => { let p = 0; return lines.map((l) => { const ev = new LogEvent(SOURCE, Date.now()); parseSyslog(ev, buf, p, p + l.length, 'auto'); p += l.length; return ev; }); };
    for (let k = 0; k < 5; k++) rs.process(mk());
    let tp = 0n, tr = 0n;
    for (let k = 0; k < 20; k++) { const a0 = process.hrtime.bigint(); const evs = mk(); const a1 = process.hrtime.bigint(); rs.process(evs); tr += process.hrtime.bigint() - a1; tp += a1 - a0; }
    console.log(`parse ${Number(tp) / 20 / lines.length} ns/event, 100 rules ${Number(tr) / 20 / lines.length} ns/event`);
  }
  if (!only) console.log(`LogEvent.clone (copy on write): ${cloneCost(lines, Math.min(1, seconds)).toFixed(0)} ns per event`);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runAnalysisBench(Number(process.argv[2] ?? 2), Number(process.argv[3] ?? 3));
}
