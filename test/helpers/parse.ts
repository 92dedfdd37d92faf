// Parsing one syslog message for the parser tests, and the local ISO time RFC 3164 stamps get.

import { parseSyslog, type ParseMode } from '../../src/codec/syslog-parser.js';
import { LogEvent, type EventJson } from '../../src/event/log-event.js';

export const SRC = { name: 'test', transport: 'tcp' as const, address: '192.0.2.9', port: 514, tlsPeer: null };
/** 2026-11-23T12:00:00 local time: fixes the year RFC 3164 stamps get. */
export const NOW = new Date(2026, 10, 23, 12, 0, 0).getTime();

export function parse(text: string | Buffer, mode: ParseMode = 'auto'): { ev: LogEvent; json: EventJson; problem: string | null } {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const ev = new LogEvent(SRC, NOW);
  const problem = parseSyslog(ev, buf, 0, buf.length, mode);
  return { ev, json: ev.toJSON(), problem };
}

/** syslog-local ISO offset for a date, as the parser renders RFC 3164 stamps. */
export function localIso(y: number, mo: number, d: number, h: number, mi: number, s: number, frac = ''): string {
  const off = -new Date(y, mo - 1, d, h, mi, s).getTimezoneOffset();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${y}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}${frac}${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
}
