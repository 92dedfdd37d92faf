// The `event` column of a stored row: what the other columns and the raw bytes do not already say.
//
// Format 1 rows hold the whole EventJson (starts with `{`): it repeated every column, and the
// message, timestamp and structured data that `raw` holds already, so it was most of a row's
// bytes, its JSON.stringify was the largest single cost of ingest, and the seal hashed it all.
// Format 2 rows (starts with `[`) hold
//
//   [version, port, tls_peer, timestamp, structured_data, message(, fields)]
//
// where timestamp, structured_data and message are either their value (string, object or
// null) or [a, b]: "decode raw[a, b)" (timestamp as latin1, message as UTF-8, structured data
// with the parser's parseStructuredData), the same decoders LogEvent uses on the same bytes,
// so the EventJson read back is the one toJSON() gave. `fields` is left out when empty.
// Both forms are read; rows are written in format 2. recordBytes hashes the column as stored.

import { parseStructuredData, type StructuredData } from '../../codec/structured-data.js';
import { EventFlag, type EventJson, type LogEvent } from '../../event/log-event.js';
import type { StoredRow } from './record.js';

/** The columns eventJson reads (a SELECT list). */
export const EVENT_COLUMNS = 'seq, time, received, host, app, procid, msgid, facility, severity, source, transport, peer, raw, event';

/** A stored row without its hash: what eventJson reads. */
export type EventRow = Omit<StoredRow, 'hash'>;

/** True for a format 1 row (the whole EventJson in `event`). */
export function isWholeEvent(event: string): boolean {
  return event.charCodeAt(0) === 0x7b; // '{'
}

/**
 * The format 2 `event` text of ev. Fields read from the bytes become references into raw
 * (raw = ev.rawBytes), so no message string is made here.
 */
export function compactEvent(ev: LogEvent): string {
  const s = ev.source;
  const base = ev.start;
  const ts = ev.asReceived('timestamp') ? `[${ev.tsStart - base},${ev.tsEnd - base}]` : json(ev.timestamp);
  const sd = ev.asReceived('structuredData') ? `[${ev.sdStart - base},${ev.sdEnd - base}]` : json(ev.structuredData);
  const msg = ev.asReceived('message') ? `[${ev.msgStart - base},${ev.end - base}]` : json(ev.message);
  let out = `[${json(ev.versionNumber)},${json(s.port)},${json(s.tlsPeer)},${ts},${sd},${msg}`;
  const fields = ev.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8) ? ev.toJSON().fields : ev.fields;
  if (fields !== null) {
    const f = JSON.stringify(fields);
    if (f !== '{}') out += ',' + f;
  }
  return out + ']';
}

function json(v: unknown): string {
  return v === null || v === undefined ? 'null' : typeof v === 'number' ? String(v) : JSON.stringify(v);
}

type Ref = [number, number];
type Compact = [number | null, number | null, string | null, string | null | Ref, StructuredData | null | Ref, string | null | Ref, Record<string, unknown>?];

const isRef = (v: unknown): v is Ref => Array.isArray(v);

/** The EventJson of a stored row, either form. */
export function eventJson(row: EventRow): EventJson {
  if (isWholeEvent(row.event)) return JSON.parse(row.event) as EventJson;
  const c = JSON.parse(row.event) as Compact;
  const raw = row.raw;
  const ref = (r: Ref): Buffer => {
    if (raw === null || r[0] < 0 || r[1] > raw.length || r[0] > r[1]) throw new Error(`row ${row.seq}: event refers to raw bytes ${r[0]}..${r[1]} it does not have`);
    return raw;
  };
  const ts = c[3];
  const sd = c[4];
  const msg = c[5];
  return {
    timestamp: isRef(ts) ? ref(ts).toString('latin1', ts[0], ts[1]) : ts,
    received_at: new Date(row.received).toISOString(),
    facility: row.facility,
    severity: row.severity,
    version: c[0],
    hostname: row.host,
    appname: row.app,
    procid: row.procid,
    msgid: row.msgid,
    structured_data: isRef(sd) ? parseStructuredData(ref(sd), sd[0], sd[1]) : sd,
    message: isRef(msg) ? ref(msg).toString('utf8', msg[0], msg[1]) : msg,
    source: { name: row.source ?? '', transport: row.transport ?? '', address: row.peer, port: c[1], tls_peer: c[2] },
    fields: c[6] ?? {},
  };
}
