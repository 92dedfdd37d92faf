// Events as COPY text-format rows (tab-separated, \N for NULL) for the PostgreSQL store.

import type { LogEvent } from '../../event/log-event.js';
import { messageTsvector } from '../../store/postgres/words.js';
import type { StoreTables } from './schema.js';

/** The event's time for ranges and partitions: its timestamp, else its receive time. */
export function eventTimeMs(e: LogEvent): number {
  const ts = e.timestamp;
  if (ts !== null) {
    const ms = Date.parse(ts);
    if (Number.isFinite(ms)) return ms;
  }
  return e.receivedAt;
}

/** PostgreSQL text cannot hold NUL; the raw bytes keep the original. */
function noNul(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, '\uFFFD') : s;
}

function esc(s: string): string {
  // Backslash, tab, newline and CR are COPY's delimiters and escapes.
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : s;
}

function text(s: string | null): string {
  return s === null ? '\\N' : esc(noNul(s));
}

function deepNoNul(v: unknown): unknown {
  if (typeof v === 'string') return noNul(v);
  if (Array.isArray(v)) return v.map(deepNoNul);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[noNul(k)] = deepNoNul(x);
    return o;
  }
  return v;
}

/** What the columns do not hold, as JSON (jsonb rejects \u0000 escapes, so NULs become U+FFFD). */
function restJson(e: LogEvent): string {
  // Only what is set: the reader reads a missing key as null ({} for fields).
  const rest: Record<string, unknown> = {};
  const ts = e.timestamp;
  if (ts !== null) rest.timestamp = ts;
  const v = e.versionNumber;
  if (v !== null) rest.version = v;
  if (e.sdStart >= 0 || (e.d !== null && e.d.structuredData != null)) rest.structured_data = e.structuredData;
  if (e.source.port !== null) rest.port = e.source.port;
  if (e.source.tlsPeer !== null) rest.tls_peer = e.source.tlsPeer;
  if (e.fields !== null || e.flags !== 0) {
    const f = e.toJSON().fields;
    if (Object.keys(f).length > 0) rest.fields = f;
  }
  const s = JSON.stringify(rest);
  return s.includes('\\u0000') ? JSON.stringify(deepNoNul(rest)) : s;
}

/** One COPY row (with its trailing newline) for `e`, in copyColumns() order. */
export function copyRow(e: LogEvent, t: StoreTables, timeMs: number): string {
  const message = e.message;
  const raw = e.rawBytes;
  let row = new Date(timeMs).toISOString() + '\t' + new Date(e.receivedAt).toISOString()
    + '\t' + text(e.hostname) + '\t' + text(e.appname) + '\t' + text(e.procid) + '\t' + text(e.msgid)
    + '\t' + (e.facility ?? '\\N') + '\t' + (e.severity ?? '\\N')
    + '\t' + text(e.source.name) + '\t' + text(e.source.transport) + '\t' + text(e.source.address)
    + '\t' + text(message)
    + '\t' + (raw.length === 0 ? '\\N' : '\\\\x' + raw.toString('hex'))
    + '\t' + esc(restJson(e));
  if (t.textIndex === 'tsvector') row += '\t' + (message === null ? '\\N' : esc(messageTsvector(noNul(message))));
  return row + '\n';
}
