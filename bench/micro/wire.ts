// Micro benchmark of the broker wire format (src/broker/wire.ts): ns per event to pack loggen-like
// RFC 5424 events into NDJSON messages (the edge's cost, message ids included), and to read the
// messages back (the aggregator's cost), for sluice's own lines and for the same lines as
// foreign JSON (keys in another order: the JSON.parse path).
//
// Run: node dist/bench/micro/wire.js [seconds-per-row=1] [events-per-message=200]

import { escapeSubjectToken, MessageDecoder, packMessages } from '../../src/broker/wire.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Template } from '../../src/template/template.js';

const SECONDS = Number(process.argv[2] ?? 1);
const PER_MESSAGE = Number(process.argv[3] ?? 200);
const BATCH = 8000;
const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 51234, tlsPeer: null };

/** BATCH events as loggen -P -s 256 sends them, parsed from one buffer as the syslog source does. */
function loggenEvents(): LogEvent[] {
  const lines: Buffer[] = [];
  for (let i = 0; i < BATCH; i++) {
    const head = `<38>1 2026-12-02T05:39:41+00:00 localhost prg00000 1234 - - \ufeffseq: ${String(i).padStart(10, '0')}, thread: 0000, runid: 1796189981, stamp: 2026-12-02T05:39:41 `;
    lines.push(Buffer.from(head + 'PADD'.repeat(64).slice(0, 256 - Buffer.byteLength(head))));
  }
  const buf = Buffer.concat(lines);
  const now = Date.now();
  const out: LogEvent[] = [];
  let p = 0;
  for (const l of lines) {
    const ev = new LogEvent(SOURCE, now + Math.floor(out.length / 1000));
    parseSyslog(ev, buf, p, p + l.length, 'auto');
    out.push(ev);
    p += l.length;
  }
  return out;
}

/**
 * CPU ns per event of fn(), which handles `perCall` events, run for SECONDS of wall time after
 * a warm-up. CPU time (process.cpuUsage), not wall time: other work on a shared machine
 * disturbs it far less.
 */
function measure(perCall: number, fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  let calls = 0;
  const end = performance.now() + SECONDS * 1000;
  const c0 = process.cpuUsage();
  while (performance.now() < end) { fn(); calls++; }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / (calls * perCall);
}

const events = loggenEvents();
const subject = Template.compile('logs.${HOST}');
const pack = () => packMessages(events, subject, escapeSubjectToken, PER_MESSAGE, 900 * 1024);
const packed = pack().messages;
const payloads = packed.map((m) => m.payload);
// The same events as another publisher's JSON: one key moved, so the line is not sluice's layout.
const foreign = payloads.map((p) => Buffer.from(p.toString().split('\n').filter(Boolean).map((l) => {
  const o = JSON.parse(l) as Record<string, unknown>;
  const { timestamp, ...rest } = o;
  return JSON.stringify({ ...rest, timestamp });
}).join('\n') + '\n'));
const decoder = new MessageDecoder('bus', 'nats', 'auto', 1 << 20);
const decodeAll = (list: Buffer[]) => () => { const now = Date.now(); for (const p of list) if (!decoder.decode(p, now).ok) throw new Error('decode failed'); };

const rows: [string, number][] = [
  [`pack ${BATCH} events, ${PER_MESSAGE} per message (ids included)`, measure(BATCH, pack)],
  ['read sluice lines back', measure(BATCH, decodeAll(payloads))],
  ['read foreign JSON lines (same events, keys reordered)', measure(BATCH, decodeAll(foreign))],
];
const bytes = payloads.reduce((n, p) => n + p.length, 0) / BATCH;
process.stdout.write(`Wire format, loggen-like 256-byte RFC 5424 events (${bytes.toFixed(0)} JSON bytes each), ${SECONDS} s per row, CPU time\n\n| step | CPU ns per event |\n|---|---:|\n`);
for (const [name, ns] of rows) process.stdout.write(`| ${name} | ${ns.toFixed(0)} |\n`);
