// `sluice top`: a live terminal view of a running daemon, read from its /metrics.
//
// Every interval it scrapes the Prometheus text, and shows per component the rates since the
// last scrape (events in and out, drops, errors), buffer fill, and the alerts per rule.

import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { SluiceError } from '../errors.js';

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses Prometheus text exposition (the subset prom-client writes). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

type Series = Map<string, number>;
/** Sums of a metric per label value (e.g. per component). */
function by(samples: Sample[], name: string, label: string, where: (l: Record<string, string>) => boolean = () => true): Series {
  const s: Series = new Map();
  for (const x of samples) if (x.name === name && where(x.labels)) { const k = x.labels[label] ?? ''; s.set(k, (s.get(k) ?? 0) + x.value); }
  return s;
}
const one = (samples: Sample[], name: string) => samples.find((x) => x.name === name)?.value;

export interface TopView { lines: string[] }

const num = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(digits));
const pad = (s: string, w: number) => (s.length >= w ? s.slice(0, w - 1) + ' ' : s + ' '.repeat(w - s.length));
const rpad = (s: string, w: number) => (s.length >= w ? s : ' '.repeat(w - s.length) + s);

/** The screen for the current scrape, with rates against the previous one (null on the first). */
export function renderTop(url: string, cur: Sample[], prev: Sample[] | null, seconds: number, now = new Date()): TopView {
  const rate = (name: string, label: string, key: string, where?: (l: Record<string, string>) => boolean) => {
    if (prev === null || seconds <= 0) return undefined;
    const a = by(cur, name, label, where).get(key) ?? 0;
    const b = by(prev, name, label, where).get(key) ?? 0;
    return Math.max(0, a - b) / seconds;
  };
  const lines: string[] = [];
  const rss = one(cur, 'sluice_process_resident_memory_bytes');
  const lag = one(cur, 'sluice_nodejs_eventloop_lag_seconds');
  const start = one(cur, 'sluice_process_start_time_seconds');
  const up = start !== undefined ? Math.max(0, now.getTime() / 1000 - start) : undefined;
  lines.push(`sluice top  ${url}  ${now.toISOString().slice(11, 19)}  up ${up === undefined ? '-' : `${Math.floor(up / 60)}m${Math.floor(up % 60)}s`}  rss ${rss === undefined ? '-' : `${(rss / 1048576).toFixed(0)} MiB`}  loop lag ${lag === undefined ? '-' : `${(lag * 1000).toFixed(1)} ms`}`);
  lines.push('');
  const errors = by(cur, 'sluice_errors_total', 'component');
  const dropped = by(cur, 'sluice_events_dropped_total', 'component');
  const received = by(cur, 'sluice_events_received_total', 'component');
  lines.push(pad('SOURCE', 18) + rpad('in/s', 10) + rpad('total', 10) + rpad('conns', 7) + rpad('dropped', 9) + rpad('errors', 8));
  for (const [name, total] of [...received].sort()) {
    lines.push(pad(name, 18) + rpad(num(rate('sluice_events_received_total', 'component', name), 1), 10) + rpad(num(total), 10)
      + rpad(num(by(cur, 'sluice_connections_open', 'component').get(name)), 7) + rpad(num(dropped.get(name) ?? 0), 9) + rpad(num(errors.get(name) ?? 0), 8));
  }
  lines.push('');
  const sent = by(cur, 'sluice_events_sent_total', 'component');
  const bufEvents = by(cur, 'sluice_buffer_events', 'component');
  const bufBytes = by(cur, 'sluice_buffer_bytes', 'component');
  const capacity = by(cur, 'sluice_buffer_capacity_bytes', 'component');
  const retries = by(cur, 'sluice_retries_total', 'component');
  lines.push(pad('DESTINATION', 18) + rpad('out/s', 10) + rpad('total', 10) + rpad('buffer', 9) + rpad('fill', 7) + rpad('dropped', 9) + rpad('retries', 9) + rpad('errors', 8));
  const dests = new Set([...sent.keys(), ...bufEvents.keys()]);
  for (const name of [...dests].sort()) {
    const cap = capacity.get(name);
    const fill = cap ? (100 * (bufBytes.get(name) ?? 0)) / cap : undefined;
    lines.push(pad(name, 18) + rpad(num(rate('sluice_events_sent_total', 'component', name), 1), 10) + rpad(num(sent.get(name) ?? 0), 10)
      + rpad(num(bufEvents.get(name) ?? 0), 9) + rpad(fill === undefined ? '-' : `${fill.toFixed(1)}%`, 7) + rpad(num(dropped.get(name) ?? 0), 9)
      + rpad(num(retries.get(name) ?? 0), 9) + rpad(num(errors.get(name) ?? 0), 8));
  }
  const ruleIn = by(cur, 'sluice_rule_events_total', 'component');
  if (ruleIn.size) {
    lines.push('');
    lines.push(pad('RULE SET', 18) + rpad('events/s', 10) + rpad('matches', 10) + rpad('alerts', 9) + rpad('alerts/s', 10) + rpad('evicted', 9));
    const matches = by(cur, 'sluice_rule_matches_total', 'component');
    const alerts = by(cur, 'sluice_alerts_total', 'component');
    const evicted = by(cur, 'sluice_rule_state_evictions_total', 'component');
    for (const name of [...ruleIn.keys()].sort()) {
      lines.push(pad(name, 18) + rpad(num(rate('sluice_rule_events_total', 'component', name), 1), 10) + rpad(num(matches.get(name) ?? 0), 10)
        + rpad(num(alerts.get(name) ?? 0), 9) + rpad(num(rate('sluice_alerts_total', 'component', name), 2), 10) + rpad(num(evicted.get(name) ?? 0), 9));
    }
    const perRule = cur.filter((x) => x.name === 'sluice_alerts_total' && x.value > 0).sort((a, b) => b.value - a.value).slice(0, 10);
    if (perRule.length) {
      lines.push('');
      lines.push(pad('ALERTS BY RULE', 50) + rpad('total', 8) + rpad('/s', 8));
      for (const x of perRule) {
        lines.push(pad(`${x.labels.component}/${x.labels.rule}`, 50) + rpad(num(x.value), 8)
          + rpad(num(rate('sluice_alerts_total', 'rule', x.labels.rule!, (l) => l.component === x.labels.component), 2), 8));
      }
    }
  }
  const errorRows = cur.filter((x) => x.name === 'sluice_errors_total' && x.value > 0);
  if (errorRows.length) {
    lines.push('');
    lines.push('ERRORS');
    for (const x of errorRows.slice(0, 8)) lines.push(`  ${x.labels.component} ${x.labels.stage} ${x.labels.error_type}: ${num(x.value)}`);
  }
  lines.push('');
  lines.push('q to quit');
  return { lines };
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description('live view of a running daemon from its /metrics: rates in and out per component, buffer fill, errors, alerts')
    .option('-c, --config <file>', 'config file of the daemon (its api listen address)')
    .option('--url <url>', 'the daemon\'s metrics URL', 'http://127.0.0.1:8514/metrics')
    .option('-i, --interval <seconds>', 'seconds between refreshes', '2')
    .option('--once', 'print one screen (rates over one interval) and exit')
    .action(async (opts: { config?: string; url: string; interval: string; once?: boolean }) => {
      let url = opts.url;
      if (opts.config) {
        const cfg = loadConfigFile(opts.config);
        if (!cfg.api) throw new SluiceError('SLUICE_ERR_USAGE', `${opts.config} has api: false: the daemon serves no /metrics`);
        url = `http://${cfg.api.host.includes(':') ? `[${cfg.api.host}]` : cfg.api.host}:${cfg.api.port}/metrics`;
      }
      const interval = Number(opts.interval);
      if (!(interval > 0)) throw new SluiceError('SLUICE_ERR_USAGE', `--interval must be a positive number of seconds, got ${opts.interval}`);
      const tty = process.stdout.isTTY === true;
      let prev: Sample[] | null = null;
      let prevAt = 0;
      let stop = false;
      const quit = () => {
        stop = true;
        if (tty) process.stdout.write('\x1b[?25h\x1b[?1049l');
        process.exit(0);
      };
      if (process.stdin.isTTY) {
        process.stdin.setRawMode(true);
        process.stdin.resume();
        process.stdin.on('data', (d) => { const k = d.toString(); if (k === 'q' || k === '\u0003' || k === '\u001b') quit(); });
      }
      process.on('SIGINT', quit);
      process.on('SIGTERM', quit);
      if (tty) process.stdout.write('\x1b[?1049h\x1b[?25l');
      for (let n = 0; !stop; n++) {
        let screen: string;
        try {
          const cur = await scrape(url);
          const at = Date.now();
          screen = renderTop(url, cur, prev, (at - prevAt) / 1000).lines.join('\n');
          prev = cur;
          prevAt = at;
        } catch (e) {
          screen = `sluice top  ${url}\n\ncannot read metrics: ${(e as Error).message}\n(is the daemon running with its api listener?)\n\nq to quit`;
          if (opts.once) throw new SluiceError('SLUICE_ERR_USAGE', `cannot read ${url}: ${(e as Error).message}`);
        }
        if (opts.once && n === 0) { await new Promise((r) => setTimeout(r, interval * 1000)); continue; }
        process.stdout.write(tty ? `\x1b[H\x1b[2J${screen}\n` : `${screen}\n`);
        if (opts.once) break;
        await new Promise((r) => setTimeout(r, interval * 1000));
      }
      if (opts.once) process.exit(0);
    });
}
