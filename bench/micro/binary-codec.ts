// Micro benchmark: encode + decode of 256-byte syslog events in the disk buffer's binary form.
//
// Run: node dist/bench/micro/binary-codec.js [seconds=3] [batch=256]

import { fileURLToPath } from 'node:url';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { decodeEvents, encodeEvents } from '../../src/event/binary.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';

export interface CodecBenchResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  encodeEventsPerSecond: number;
  decodeEventsPerSecond: number;
  bytesPerEvent: number;
}

const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '10.1.2.3', port: 51234, tlsPeer: null };

/** A batch of parsed RFC 5424 events of exactly `size` bytes each, in one shared buffer as a source would have them. */
export function makeSyslogBatch(n: number, size = 256): LogEvent[] {
  const lines: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const head = `<134>1 2026-03-01T12:00:00.000Z web-${i % 8}.example.net nginx ${1000 + i} ACCESS [meta seq="${i}"] `;
    lines.push(Buffer.from(head + 'x'.repeat(Math.max(0, size - Buffer.byteLength(head)))));
  }
  const buf = Buffer.concat(lines);
  const out: LogEvent[] = [];
  let p = 0;
  for (const l of lines) {
    const ev = new LogEvent(SOURCE, Date.now());
    parseSyslog(ev, buf, p, p + l.length, 'auto');
    out.push(ev);
    p += l.length;
  }
  return out;
}

/**
 * `read`: every field read once first (toJSON), as after filters and templates, so `d`
 * holds cached values; by default the events are as parsed, untouched.
 */
export function runBinaryCodecBench(seconds = 3, batch = 256, read = false): CodecBenchResult {
  const events = makeSyslogBatch(batch);
  if (read) for (const e of events) e.toJSON();
  // Warm up so the figures are for optimised code.
  for (let i = 0; i < 2000; i++) decodeEvents(encodeEvents(events));
  let n = 0, encNs = 0n, decNs = 0n, bytes = 0;
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    for (let k = 0; k < 50; k++) {
      const t0 = process.hrtime.bigint();
      const enc = encodeEvents(events);
      const t1 = process.hrtime.bigint();
      const dec = decodeEvents(enc);
      const t2 = process.hrtime.bigint();
      encNs += t1 - t0;
      decNs += t2 - t1;
      n += dec.length;
      bytes += enc.length;
    }
  }
  const total = Number(encNs + decNs) / 1e9;
  return {
    events: n,
    seconds: total,
    eventsPerSecond: n / total,
    encodeEventsPerSecond: n / (Number(encNs) / 1e9),
    decodeEventsPerSecond: n / (Number(decNs) / 1e9),
    bytesPerEvent: bytes / n,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? 3), batch = Number(process.argv[3] ?? 256);
  const f = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`binary-codec: 256-byte RFC 5424 events with structured data, batches of ${batch}`);
  for (const read of [false, true]) {
    const r = runBinaryCodecBench(seconds, batch, read);
    console.log(`  ${read ? 'all fields read first' : 'as parsed           '}: encode+decode ${f(r.eventsPerSecond)} events/s ` +
      `(encode ${f(r.encodeEventsPerSecond)}/s, decode ${f(r.decodeEventsPerSecond)}/s), ${r.bytesPerEvent.toFixed(1)} bytes/event`);
  }
}
