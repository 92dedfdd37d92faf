// Micro benchmark: events/s of each output encoder on 256-byte RFC 5424 events, as parsed and after fields were read.
//
// Run: node dist/bench/micro/encoders.js [seconds-per-format=1] [batch=1000]

import { fileURLToPath } from 'node:url';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { ENCODERS, OUTPUT_FORMATS, type EncodeOptions, type OutputFormat } from '../../src/codec/encode/index.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Template } from '../../src/template/template.js';

const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '10.1.2.3', port: 51234, tlsPeer: null };

export interface EncoderBenchRow {
  format: string;
  variant: 'as parsed' | 'fields read';
  eventsPerSecond: number;
  bytesPerEvent: number;
}

/** `n` parsed RFC 5424 events of exactly `size` bytes, in one buffer as a source holds them. */
function makeEvents(n: number, size = 256): LogEvent[] {
  const lines: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const head = `<134>1 2026-03-01T12:00:00.${String(i % 1000).padStart(3, '0')}Z web-${i % 8}.example.net nginx ${1000 + i} ACCESS [meta seq="${i}"] GET /index.html status=200 `;
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

const OPTIONS: Record<OutputFormat, EncodeOptions> = {
  rfc5424: {},
  rfc3164: {},
  json: {},
  cef: { vendor: 'Example', product: 'Gateway', version: '1.0' },
  leef: { vendor: 'Example', product: 'Gateway', version: '1.0' },
  kv: { separator: '||' },
  template: { template: Template.compile('${ISODATE} ${HOST} ${MSGHDR}${MSG}') },
};

export function runEncoderBench(seconds = 1, batch = 1000): EncoderBenchRow[] {
  const rows: EncoderBenchRow[] = [];
  const w = new ByteWriter(1 << 20);
  for (const variant of ['as parsed', 'fields read'] as const) {
    for (const format of OUTPUT_FORMATS) {
      const encode = ENCODERS[format];
      const opts = OPTIONS[format];
      // Fresh events per run: "fields read" fills each event's decoded-value cache first.
      const events = makeEvents(batch);
      if (variant === 'fields read') for (const e of events) e.toJSON();
      for (let k = 0; k < 20; k++) { w.reset(); for (const e of events) encode(e, w, opts); } // warm-up
      let n = 0, bytes = 0;
      const t0 = process.hrtime.bigint();
      const deadline = Date.now() + seconds * 1000;
      while (Date.now() < deadline) {
        for (let k = 0; k < 10; k++) {
          w.reset();
          for (let i = 0; i < events.length; i++) encode(events[i]!, w, opts);
          n += events.length;
          bytes += w.pos;
        }
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      rows.push({ format, variant, eventsPerSecond: n / s, bytesPerEvent: bytes / n });
    }
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? 1), batch = Number(process.argv[3] ?? 1000);
  console.log(`encoders: 256-byte RFC 5424 events (structured data, PID, MSGID), batches of ${batch}, ${seconds} s per format`);
  console.log('format    variant      events/s     bytes/event');
  for (const r of runEncoderBench(seconds, batch)) {
    console.log(`${r.format.padEnd(9)} ${r.variant.padEnd(12)} ${Math.round(r.eventsPerSecond).toLocaleString('en-US').padStart(11)}  ${r.bytesPerEvent.toFixed(0).padStart(6)}`);
  }
}
