// Reads and writes an event's values by name, the names the query language and rules use.
//
// Header names (message, host, app, procid, msgid, facility, severity, source, transport,
// sd.ID.PARAM) read the event itself; `fields.NAME` and any other name read fields.NAME.

import type { LogEvent } from './log-event.js';

export type FieldReader = (ev: LogEvent) => unknown;

/** A compiled reader for one name: the name is looked at once, not per event. */
export function fieldReader(name: string): FieldReader {
  switch (name) {
    case 'message': case 'msg': return (ev) => ev.message;
    case 'host': case 'hostname': return (ev) => ev.hostname;
    case 'app': case 'appname': case 'program': return (ev) => ev.appname;
    case 'procid': case 'pid': return (ev) => ev.procid;
    case 'msgid': return (ev) => ev.msgid;
    case 'facility': return (ev) => ev.facility;
    case 'severity': return (ev) => ev.severity;
    case 'timestamp': return (ev) => ev.timestamp;
    case 'source': return (ev) => ev.source.name;
    case 'transport': return (ev) => ev.source.transport;
    case 'source.address': case 'peer': return (ev) => ev.source.address;
    default: break;
  }
  if (name.startsWith('sd.')) {
    const dot = name.indexOf('.', 3);
    if (dot > 3) {
      const id = name.slice(3, dot), param = name.slice(dot + 1);
      return (ev) => ev.structuredData?.[id]?.[param] ?? null;
    }
  }
  const key = name.startsWith('fields.') ? name.slice(7) : name;
  const parts = key.split('.');
  if (parts.length === 1) return (ev) => ev.fields?.[key] ?? null;
  // A dotted name is first the flat key ("src.ip" as parsed by parse_kv), then a nested path (parse_json).
  return (ev) => {
    const f = ev.fields;
    if (f === null) return null;
    if (f[key] !== undefined) return f[key];
    let cur: unknown = f;
    for (const p of parts) {
      if (cur === null || typeof cur !== 'object') return null;
      cur = (cur as Record<string, unknown>)[p];
    }
    return cur ?? null;
  };
}

/** Text of a value for matching and templates ('' for null). */
export function valueText(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const HEADER_WRITERS: Record<string, (ev: LogEvent, v: string | null) => void> = {
  message: (ev, v) => { ev.message = v; },
  msg: (ev, v) => { ev.message = v; },
  host: (ev, v) => { ev.hostname = v; },
  hostname: (ev, v) => { ev.hostname = v; },
  app: (ev, v) => { ev.appname = v; },
  appname: (ev, v) => { ev.appname = v; },
  program: (ev, v) => { ev.appname = v; },
  procid: (ev, v) => { ev.procid = v; },
  pid: (ev, v) => { ev.procid = v; },
  msgid: (ev, v) => { ev.msgid = v; },
};

/** Sets a value by name on an event the caller owns (a header field, or fields.NAME). */
export function writeField(ev: LogEvent, name: string, value: unknown): void {
  const header = HEADER_WRITERS[name];
  if (header !== undefined) { header(ev, value === null || value === undefined ? null : valueText(value)); return; }
  const key = name.startsWith('fields.') ? name.slice(7) : name;
  (ev.fields ??= {})[key] = value;
}

/** Removes a value by name (header fields become null). */
export function removeField(ev: LogEvent, name: string): void {
  const header = HEADER_WRITERS[name];
  if (header !== undefined) { header(ev, null); return; }
  const key = name.startsWith('fields.') ? name.slice(7) : name;
  if (ev.fields !== null && key in ev.fields) delete ev.fields[key];
}

/** Whether a name is present on the event (Sigma `exists`). */
export function hasField(ev: LogEvent, name: string, read: FieldReader): boolean {
  const v = read(ev);
  return v !== null && v !== undefined;
}
