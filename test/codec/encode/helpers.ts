// Shared fixtures of the encoder tests: parsed and value-built events, and one-shot encoding.

import { ByteWriter } from '../../../src/codec/byte-writer.js';
import { ENCODERS, type EncodeOptions, type OutputFormat } from '../../../src/codec/encode/index.js';
import { parseSyslog, type ParseMode } from '../../../src/codec/syslog-parser.js';
import { LogEvent, type EventSource } from '../../../src/event/log-event.js';

export const SRC: EventSource = { name: 'net', transport: 'tcp', address: '192.0.2.9', port: 514, tlsPeer: null };
/** Receive time of every test event: 2026-11-23T12:00:00.123Z. */
export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
export const NOW_ISO = '2026-11-23T12:00:00.123Z';

export function parsed(text: string | Buffer, mode: ParseMode = 'auto'): LogEvent {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  // Padding around the message: encoders must use its offsets, not the whole buffer.
  const padded = Buffer.concat([Buffer.from('JUNK'), buf, Buffer.from('JUNK')]);
  const ev = new LogEvent(SRC, NOW);
  parseSyslog(ev, padded, 4, 4 + buf.length, mode);
  return ev;
}

export function fromValues(v: Parameters<typeof LogEvent.fromValues>[2], source: EventSource = SRC): LogEvent {
  return LogEvent.fromValues(source, NOW, v);
}

/** Encodes one event into a fresh small writer (so growth is exercised too). */
export function encode(format: OutputFormat, ev: LogEvent, opts: EncodeOptions = {}): Buffer {
  const w = new ByteWriter(8);
  w.text('>'); // a prefix: encoders must append at w.pos
  ENCODERS[format](ev, w, opts);
  return Buffer.from(w.view().subarray(1));
}

export function encodeText(format: OutputFormat, ev: LogEvent, opts: EncodeOptions = {}): string {
  return encode(format, ev, opts).toString('utf8');
}

/** "Mmm dd hh:mm:ss" in local time, computed independently of the encoder. */
export function localStamp(ms: number): string {
  const d = new Date(ms);
  const mon = d.toLocaleString('en-US', { month: 'short' });
  const p = (n: number) => String(n).padStart(2, '0');
  return `${mon} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
