// Parsed syslog events for store tests: real RFC 5424 bytes through the real parser.

import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';

export const TEST_SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 40000, tlsPeer: null };

/** One RFC 5424 message parsed as a TCP source would. */
export function parsed(line: string | Buffer, receivedAt = Date.now(), source: EventSource = TEST_SOURCE): LogEvent {
  const buf = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const ev = new LogEvent(source, receivedAt);
  parseSyslog(ev, buf, 0, buf.length, 'auto');
  return ev;
}

/** An RFC 5424 line with the given parts. */
export function rfc5424(o: { pri?: number; time: number | null; host?: string; app?: string; procid?: string; msgid?: string; sd?: string; msg: string }): string {
  const ts = o.time === null ? '-' : new Date(o.time).toISOString();
  return `<${o.pri ?? 134}>1 ${ts} ${o.host ?? 'web-01'} ${o.app ?? 'nginx'} ${o.procid ?? '-'} ${o.msgid ?? '-'} ${o.sd ?? '-'} ${o.msg}`;
}
