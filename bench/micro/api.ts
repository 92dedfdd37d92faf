// Micro benchmark: the search API and the web UI over 1,000,000 stored events (the embedded store).
//
// Run: node dist/bench/micro/api.js [events=1000000] [out=bench/api-results.md]
//
// 1. Fills an embedded store with realistic syslog traffic over the last 30 h (300 hosts, 12
//    apps, sshd/nginx/kernel/cron/postfix/sudo/app lines with varied numbers, addresses, users;
//    the word `segfault` in 1 of 5,000 events, `xmrig` in 1 of 100,000), written in batches
//    straight through the store destination (real parser, real sealer), not over TCP.
// 2. Starts the real daemon (`sluice run`) on that store with a read token made by
//    `sluice token create`, and times, over HTTP from this process (median of 20 after one
//    untimed warm-up): /api/search for the rare word (newest 100), /api/hits over 24 h (60
//    buckets), /api/facets by host over 24 h, and a few neighbours for comparison.
// 3. In Debian's chromium (playwright-core, headless, the flags of the UI test, a fresh profile)
//    signs in once, then per navigation (median of 10) the time from navigation start to the
//    first result rows on the page and to the histogram drawn (performance.now() in the page,
//    taken in the animation frame after the DOM holds them).
// Prints a table and writes it to the out file. Every wait is bounded in time and count.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { StoreDestination, storeDestinationSchema } from '../../src/destinations/store/index.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'sluice.js');
const CHROMIUM = '/usr/bin/chromium';
const HOUR = 3_600_000;
const SPAN_MS = 30 * HOUR;
const BATCH = 8192;
const API_REPS = 20;
const UI_REPS = 10;
const GOALS = { results: 300, histogram: 500 };
const FILL_BOUND_MS = 400_000;
const REQUEST_TIMEOUT_MS = 30_000;
const NAV_TIMEOUT_MS = 30_000;

const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 40000, tlsPeer: null };

// ------------------------------------------------------------------ traffic
/** Small deterministic PRNG (mulberry32): the same store every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTS = [
  ...Array.from({ length: 160 }, (_, i) => `web-${String(i + 1).padStart(3, '0')}`),
  ...Array.from({ length: 60 }, (_, i) => `k8s-node-${String(i + 1).padStart(2, '0')}`),
  ...Array.from({ length: 30 }, (_, i) => `db-${String(i + 1).padStart(2, '0')}`),
  ...Array.from({ length: 30 }, (_, i) => `cache-${String(i + 1).padStart(2, '0')}`),
  ...Array.from({ length: 20 }, (_, i) => `mx-${String(i + 1).padStart(2, '0')}.mail.example.net`),
];
const USERS = ['alice', 'bob', 'carol', 'deploy', 'root', 'postgres', 'www-data', 'backup', 'ci-runner', 'mallory'];
const PATHS = ['/api/v1/items', '/api/v1/orders', '/login', '/static/app.js', '/health', '/api/v2/search', '/cart', '/checkout', '/img/logo.png', '/feed.xml'];
const STATUS = [200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 502, 503];

/** One RFC 5424 line; `rnd` decides its kind and values. The rare words go in at fixed rates. */
function line(i: number, time: number, rnd: () => number): string {
  const host = HOSTS[Math.floor(rnd() * HOSTS.length)]!;
  const u = USERS[Math.floor(rnd() * USERS.length)]!;
  const ip = `${10 + Math.floor(rnd() * 190)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`;
  const ts = new Date(time).toISOString();
  const pid = 100 + Math.floor(rnd() * 60000);
  const hdr = (pri: number, app: string, msgid = '-', sd = '-') => `<${pri}>1 ${ts} ${host} ${app} ${pid} ${msgid} ${sd} `;
  if (i % 100_000 === 4242) return hdr(10, 'kworkerds', '-') + `process xmrig started by ${u} from /tmp/.x/${pid} connecting to ${ip}:3333`;
  if (i % 5000 === 17) return hdr(11, 'kernel') + `[${(time / 1000 % 100000).toFixed(6)}] app[${pid}]: segfault at ${(pid * 4096).toString(16)} ip 00007f${(pid * 31).toString(16)} sp 00007ffd error 4 in libc.so.6`;
  const k = rnd();
  if (k < 0.34) {
    const st = STATUS[Math.floor(rnd() * STATUS.length)]!;
    const p = PATHS[Math.floor(rnd() * PATHS.length)]!;
    return hdr(st >= 500 ? 187 : 190, 'nginx', 'access') + `${ip} - ${rnd() < 0.3 ? u : '-'} "${rnd() < 0.8 ? 'GET' : 'POST'} ${p}?page=${Math.floor(rnd() * 50)} HTTP/1.1" ${st} ${200 + Math.floor(rnd() * 40000)} "-" "Mozilla/5.0 (X11; Linux x86_64)" rt=${(rnd() * 2).toFixed(3)}`;
  }
  if (k < 0.46) {
    return rnd() < 0.6
      ? hdr(38, 'sshd') + `Failed password for ${rnd() < 0.3 ? 'invalid user ' : ''}${u} from ${ip} port ${1024 + Math.floor(rnd() * 60000)} ssh2`
      : hdr(38, 'sshd') + `Accepted publickey for ${u} from ${ip} port ${1024 + Math.floor(rnd() * 60000)} ssh2: ED25519 SHA256:${pid.toString(36)}Zm9vYmFy`;
  }
  if (k < 0.54) return hdr(86, 'sudo') + `${u} : TTY=pts/${Math.floor(rnd() * 9)} ; PWD=/home/${u} ; USER=root ; COMMAND=/usr/bin/systemctl ${rnd() < 0.5 ? 'restart' : 'status'} ${['nginx', 'postgresql', 'redis', 'app'][Math.floor(rnd() * 4)]}`;
  if (k < 0.62) return hdr(78, 'CRON') + `(${u}) CMD (/usr/local/bin/${['backup.sh', 'rotate.sh', 'report.py', 'sync'][Math.floor(rnd() * 4)]} --quiet)`;
  if (k < 0.70) return hdr(6, 'kernel') + `[${(time / 1000 % 100000).toFixed(6)}] IPv4: martian source ${ip} from 10.0.${Math.floor(rnd() * 256)}.1, on dev eth${Math.floor(rnd() * 2)}`;
  if (k < 0.78) return hdr(22, 'postfix/smtpd') + `${rnd() < 0.5 ? 'connect from' : 'disconnect from'} unknown[${ip}] ehlo=1 mail=1 rcpt=${Math.floor(rnd() * 5)} data=1 quit=1`;
  if (k < 0.86) return hdr(30, 'systemd') + `${['Started', 'Stopped', 'Reloading'][Math.floor(rnd() * 3)]} ${['nginx', 'postgresql', 'redis', 'app', 'logrotate'][Math.floor(rnd() * 5)]}.service - unit ${pid}`;
  if (k < 0.93) {
    const lvl = rnd() < 0.1 ? 3 : rnd() < 0.3 ? 4 : 6;
    return hdr(128 + lvl, 'orders', 'REQ', `[req@32473 id="${i.toString(36)}" ip="${ip}" user="${u}"]`) + `order ${pid}-${i % 977} ${lvl === 3 ? 'failed: payment gateway timeout after 30s' : lvl === 4 ? 'retrying inventory reservation' : 'created'} total=${(rnd() * 999).toFixed(2)} EUR`;
  }
  if (k < 0.97) return hdr(27, 'dockerd') + `level=${rnd() < 0.2 ? 'error' : 'info'} msg="container ${pid.toString(16)}${i.toString(16)} ${['started', 'exited with code 0', 'health check ok', 'pulled image'][Math.floor(rnd() * 4)]}"`;
  return hdr(131, 'postgres') + `[${pid}] ${u}@app ERROR:  duplicate key value violates unique constraint "orders_pkey" DETAIL: Key (id)=(${pid}) already exists.`;
}

async function fill(storeDir: string, dataDir: string, total: number, now: number): Promise<{ ms: number; bytes: number }> {
  const dest = new StoreDestination(storeDestinationSchema.parse({ type: 'store', path: storeDir }), { name: 'store', metrics: new Metrics(), dataDir, baseDir: dataDir });
  await dest.start();
  const rnd = prng(20261201);
  const t0 = performance.now();
  const start = now - SPAN_MS;
  try {
    for (let i = 0; i < total; i += BATCH) {
      if (performance.now() - t0 > FILL_BOUND_MS) throw new Error(`fill: only ${i} of ${total} events after ${FILL_BOUND_MS / 1000} s`);
      const n = Math.min(BATCH, total - i);
      const events: LogEvent[] = new Array(n);
      for (let j = 0; j < n; j++) {
        // Arrival order = time order, as a live feed (with up to 2 s of jitter).
        const time = start + Math.floor(((i + j) / total) * SPAN_MS) - Math.floor(rnd() * 2000);
        const buf = Buffer.from(line(i + j, time, rnd), 'utf8');
        const ev = new LogEvent(SOURCE, time + 5);
        parseSyslog(ev, buf, 0, buf.length, 'auto');
        events[j] = ev;
      }
      const r = await new Promise<{ status: string; error?: string }>((resolve) => dest.send(events, resolve));
      if (r.status !== 'ok') throw new Error(`fill: store answered ${r.status}: ${r.error ?? ''}`);
    }
  } finally {
    await dest.stop();
  }
  const ms = performance.now() - t0;
  let bytes = 0;
  for (const f of fs.readdirSync(storeDir)) { const st = fs.statSync(path.join(storeDir, f)); if (st.isFile()) bytes += st.size; }
  return { ms, bytes };
}

// ------------------------------------------------------------------ daemon
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

interface Row { what: string; median: number; min: number; max: number; n: number; note: string; goal?: number }

async function timeRoute(base: string, token: string, what: string, route: string, check: (body: any) => string): Promise<Row> {
  const url = base + route;
  const once = async (): Promise<{ ms: number; body: unknown }> => {
    const t0 = performance.now();
    const r = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await r.json();
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`${route} answered ${r.status}: ${JSON.stringify(body)}`);
    return { ms, body };
  };
  const warm = await once();
  const times: number[] = [];
  for (let i = 0; i < API_REPS; i++) times.push((await once()).ms);
  return { what, median: median(times), min: Math.min(...times), max: Math.max(...times), n: API_REPS, note: `first (untimed) call ${fmt(warm.ms)} ms; ${check(warm.body)}` };
}

async function browserRows(base: string, token: string, profile: string): Promise<Row[]> {
  const { chromium } = await import('playwright-core');
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1400, height: 900 },
  });
  try {
    // In the page, before its scripts: note when the rows and the histogram are first there.
    await ctx.addInitScript(() => {
      const w = globalThis as any;
      const doc = w.document;
      const marks: Record<string, number> = {};
      w.__marks = marks;
      const mark = (k: string) => { if (marks[k] === undefined) { marks[k] = -1; w.requestAnimationFrame(() => { marks[k] = w.performance.now(); }); } };
      const check = () => {
        if (marks.results === undefined && doc.querySelector('#rows > li.row') && /newest first/.test(doc.getElementById('summary')?.textContent ?? '')) mark('results');
        if (marks.histogram === undefined && doc.querySelector('#histogram canvas') && / events, /.test(doc.getElementById('hist-status')?.textContent ?? '')) mark('histogram');
        if (marks.facets === undefined && doc.querySelector('#facets .facet-value')) mark('facets');
      };
      new w.MutationObserver(check).observe(doc, { subtree: true, childList: true, characterData: true });
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(`${base}/`, { timeout: NAV_TIMEOUT_MS });
    await page.fill('#token', token);
    await page.click('#login button');
    await page.waitForSelector('#q', { timeout: NAV_TIMEOUT_MS });
    const out: Row[] = [];
    for (const [label, q] of [['everything', ''], ['rare word `segfault`', 'segfault']] as const) {
      const r: number[] = [], h: number[] = [], f: number[] = [];
      let shown = '';
      // One untimed load first (the browser's cache of the UI's files is warm after it).
      for (let i = 0; i <= UI_REPS; i++) {
        await page.goto(`${base}/?since=24h${q ? `&q=${q}` : ''}`, { timeout: NAV_TIMEOUT_MS });
        await page.waitForFunction(() => {
          const m = (globalThis as any).__marks;
          return m && m.results > 0 && m.histogram > 0 && m.facets > 0;
        }, null, { timeout: NAV_TIMEOUT_MS, polling: 50 });
        const m = await page.evaluate(() => (globalThis as any).__marks as Record<string, number>);
        shown = `${await page.textContent('#summary')}; histogram: ${(await page.textContent('#hist-status'))?.replace(/ —.*/, '')}`;
        if (i === 0) continue;
        r.push(m.results!); h.push(m.histogram!); f.push(m.facets!);
      }
      out.push({ what: `UI, ${label}, 24 h: navigation → first results rendered`, median: median(r), min: Math.min(...r), max: Math.max(...r), n: UI_REPS, note: shown, goal: GOALS.results });
      out.push({ what: `UI, ${label}, 24 h: navigation → histogram drawn`, median: median(h), min: Math.min(...h), max: Math.max(...h), n: UI_REPS, note: '', goal: GOALS.histogram });
      out.push({ what: `UI, ${label}, 24 h: navigation → facets shown`, median: median(f), min: Math.min(...f), max: Math.max(...f), n: UI_REPS, note: '' });
    }
    return out;
  } finally {
    await ctx.close();
  }
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000);
  const outFile = path.resolve(ROOT, process.argv[3] ?? path.join('bench', 'api-results.md'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-api-bench-'));
  const storeDir = path.join(dir, 'store');
  const dataDir = path.join(dir, 'data');
  const load0 = os.loadavg();
  let daemon: ReturnType<typeof spawn> | null = null;
  try {
    const now = Date.now();
    const filled = await fill(storeDir, dataDir, total, now);
    process.stderr.write(`filled ${total} events in ${(filled.ms / 1000).toFixed(1)} s\n`);

    const tok = spawnSync(process.execPath, [BIN, 'token', 'create', '--role', 'read', '--name', 'bench', '--data-dir', dataDir], { encoding: 'utf8', timeout: 30_000 });
    if (tok.status !== 0) throw new Error(`sluice token create failed: ${tok.stderr}`);
    const token = tok.stdout.trim().split('\n').at(-1)!;
    const apiPort = await freePort();
    fs.writeFileSync(path.join(dir, 'sluice.yaml'), `
data_dir: ${dataDir}
api: { listen: "http://127.0.0.1:${apiPort}" }
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  store: { type: store, path: ${storeDir} }
log:
  - { from: net, to: store }
`);
    const d = spawn(process.execPath, [BIN, 'run', '-c', path.join(dir, 'sluice.yaml')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    daemon = d;
    let log = '';
    d.stderr!.on('data', (b: Buffer) => { log += b.toString(); });
    const started = Date.now();
    while (!log.includes('[sluice] started')) {
      if (Date.now() - started > 60_000 || d.exitCode !== null) throw new Error(`daemon did not start:\n${log.replace(/slc_\S+/g, 'slc_…')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const base = `http://127.0.0.1:${apiPort}`;

    const rows: Row[] = [];
    const events = (b: any) => `${b.events.length} events${b.cursor ? ' (more)' : ''}`;
    rows.push(await timeRoute(base, token, '/api/search rare word `segfault`, 24 h, newest 100', '/api/search?q=segfault&since=24h&limit=100', events));
    rows.push(await timeRoute(base, token, '/api/search very rare word `xmrig`, 24 h, newest 100', '/api/search?q=xmrig&since=24h&limit=100', events));
    rows.push(await timeRoute(base, token, '/api/search everything, 24 h, newest 100', '/api/search?since=24h&limit=100', events));
    rows.push(await timeRoute(base, token, '/api/search field + word `app:sshd Failed`, 24 h, newest 100', `/api/search?q=${encodeURIComponent('app:sshd Failed')}&since=24h&limit=100`, events));
    rows.push(await timeRoute(base, token, '/api/hits everything, 24 h, 60 buckets', '/api/hits?since=24h&buckets=60', (b) => `${b.total} events in ${b.buckets.length} × ${b.step}${b.notices.length ? `; notices: ${b.notices.map((n: { code: string }) => n.code).join(',')}` : ''}`));
    rows.push(await timeRoute(base, token, '/api/hits `segfault`, 24 h, 60 buckets', '/api/hits?q=segfault&since=24h&buckets=60', (b) => `${b.total} events in ${b.buckets.length} × ${b.step}`));
    rows.push(await timeRoute(base, token, '/api/facets host, 24 h (top 10)', '/api/facets?since=24h&fields=host', (b) => `top ${b.facets.host.length} of the hosts, first ${b.facets.host[0]?.value} ${b.facets.host[0]?.count}${b.notices.length ? `; notices: ${b.notices.map((n: { code: string }) => n.code).join(',')}` : ''}`));
    rows.push(await timeRoute(base, token, '/api/facets host,app,severity (the UI\'s), 24 h', '/api/facets?since=24h', (b) => `${Object.keys(b.facets).length} fields`));

    let browserNote = '';
    if (fs.existsSync(CHROMIUM)) rows.push(...(await browserRows(base, token, path.join(dir, 'chromium'))));
    else browserNote = `${CHROMIUM} is missing: no browser timings (apt-get install chromium)`;

    const load1 = os.loadavg();
    const lines: string[] = [];
    lines.push(`# api: search, hits and facets over ${total.toLocaleString('en')} stored events`, '');
    lines.push(`Run ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by \`node dist/bench/micro/api.js ${total}\` (\`npm run bench -- api\`); ${os.cpus().length} cores, load average ${load0[0]!.toFixed(1)} at the start and ${load1[0]!.toFixed(1)} at the end (other work on the machine shows up in these times).`, '');
    lines.push(`Store: ${total.toLocaleString('en')} events over the last 30 h (${HOSTS.length} hosts, 12 apps; \`segfault\` in 1 of 5,000, \`xmrig\` in 1 of 100,000), filled through the store destination in batches of ${BATCH} in ${(filled.ms / 1000).toFixed(1)} s (${Math.round(total / filled.ms * 1000).toLocaleString('en')} events/s), ${(filled.bytes / total).toFixed(0)} bytes per event on disk. ` +
      `Served by \`sluice run\` (its ApiServer over the store destination's reader); requests from another process over loopback HTTP with a read token, each timed to the whole JSON body; API rows are the median of ${API_REPS} after one untimed call, UI rows the median of ${UI_REPS} navigations after one untimed (performance.now() in the page at the animation frame after the rows / the uPlot canvas are in the DOM; chromium headless, fresh profile, signed in once).`, '');
    lines.push('| measurement | median ms | min | max | n | goal | result |', '|---|---:|---:|---:|---:|---:|---|');
    for (const r of rows) {
      const goal = r.goal === undefined ? '' : `≤ ${r.goal}`;
      const verdict = r.goal === undefined ? r.note : `${r.median <= r.goal ? '**met**' : '**missed**'}${r.note ? `; ${r.note}` : ''}`;
      lines.push(`| ${r.what} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.n} | ${goal} | ${verdict} |`);
    }
    if (browserNote) lines.push('', browserNote);
    const text = lines.join('\n') + '\n';
    process.stdout.write(text);
    fs.writeFileSync(outFile, text);
    process.stdout.write(`\nwritten to ${path.relative(ROOT, outFile)}\n`);
  } finally {
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
