// Turns one HTTP request body into events: JSON objects, arrays, NDJSON, text and syslog lines.
//
// A body is decoded whole before anything is queued: a malformed line or an oversized
// event fails the request (400 / 413) and none of its events go on — all or nothing per
// request, so a client that retries does not duplicate the lines before the bad one.

import { isUtf8 } from 'node:buffer';
import { parseSyslog } from '../../codec/syslog-parser.js';
import type { StructuredData } from '../../codec/structured-data.js';
import { EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import { facilityCode, severityCode } from '../../event/syslog-names.js';
import type { HttpSourceFormat } from './config.js';

/** single: the body is one event (/inputs/); lines: one per line (/bulk/); any: array, NDJSON or one object (/, /events). */
export type BodyShape = 'single' | 'lines' | 'any';

export interface DecodeOptions {
  shape: BodyShape;
  format: HttpSourceFormat;
  maxEventBytes: number;
  source: EventSource;
  now: number;
  /** Tags from the URL or X-LOGGLY-TAG, added to fields.tags of every event. */
  tags: string[];
}

export type DecodeResult =
  | { ok: true; events: LogEvent[]; invalidUtf8: boolean }
  | { ok: false; status: 400 | 413; error: string };

class BadRequest extends Error {
  constructor(readonly status: 400 | 413, message: string) {
    super(message);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export function decodeBody(buf: Buffer, o: DecodeOptions): DecodeResult {
  try {
    return { ok: true, ...new Decoder(buf, o).run() };
  } catch (e) {
    if (e instanceof BadRequest) return { ok: false, status: e.status, error: e.message };
    throw e;
  }
}

class Decoder {
  private readonly events: LogEvent[] = [];
  private readonly valid: boolean;

  constructor(private readonly buf: Buffer, private readonly o: DecodeOptions) {
    this.valid = isUtf8(buf);
  }

  run(): { events: LogEvent[]; invalidUtf8: boolean } {
    const { buf, o } = this;
    let s = 0;
    let e = buf.length;
    while (s < e && WS.has(buf[s]!)) s++;
    while (e > s && WS.has(buf[e - 1]!)) e--;
    if (s === e) {
      if (o.shape === 'single') throw new BadRequest(400, 'empty body: expected one event');
      return { events: [], invalidUtf8: false };
    }
    const first = buf[s]!;
    const jsonish = o.format === 'auto' || o.format === 'json';
    if (o.shape === 'single') {
      this.piece(s, e, 1, 'body');
    } else if (jsonish && first === 0x5b /* [ */) {
      this.array(s, e);
    } else if (o.shape === 'any' && jsonish && first === 0x7b /* { */ && this.wholeObject(s, e)) {
      // one (possibly pretty-printed) object
    } else {
      if (o.format === 'json' && o.shape === 'any' && first !== 0x7b) {
        throw new BadRequest(400, 'format is json: expected a JSON object, an array of objects, or one object per line');
      }
      this.lines(s, e);
    }
    return { events: this.events, invalidUtf8: !this.valid };
  }

  private lines(s: number, e: number): void {
    const buf = this.buf;
    let line = 1 + countNewlines(buf, 0, s);
    let p = s;
    while (p <= e) {
      let nl = buf.indexOf(0x0a, p);
      if (nl < 0 || nl > e) nl = e;
      let end = nl;
      if (end > p && buf[end - 1] === 0x0d) end--;
      let start = p;
      while (start < end && (buf[start] === 0x20 || buf[start] === 0x09)) start++;
      if (start < end) this.piece(start, end, line, `line ${line}`);
      line++;
      p = nl + 1;
    }
  }

  /** One event's bytes, read as the format says. */
  private piece(s: number, e: number, line: number, where: string): void {
    const o = this.o;
    if (e - s > o.maxEventBytes) {
      throw new BadRequest(413, `${where}: event of ${e - s} bytes exceeds max_event_bytes ${o.maxEventBytes}`);
    }
    const c = this.buf[s]!;
    const json = o.format === 'json' || o.format === 'ndjson' || (o.format === 'auto' && c === 0x7b);
    if (json) {
      const text = this.buf.toString('utf8', s, e);
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (err) {
        throw new BadRequest(400, `${where}: malformed JSON: ${jsonErrorText(err, text, line)}`);
      }
      if (!isObject(v)) throw new BadRequest(400, `${where}: expected a JSON object, got ${jsonType(v)}`);
      this.events.push(eventFromJson(v, o.source, o.now, o.tags));
      return;
    }
    const ev = new LogEvent(o.source, o.now);
    // text: syslog only when it looks like syslog (starts with PRI); syslog: always.
    parseSyslog(ev, this.buf, s, e, o.format === 'syslog' || c === 0x3c /* < */ ? 'auto' : 'none');
    if (!this.valid && !isUtf8(this.buf.subarray(s, e))) ev.flags |= EventFlag.INVALID_UTF8;
    if (o.tags.length > 0) ev.fields = { tags: [...o.tags] };
    this.events.push(ev);
  }

  /** A JSON array: each element an object (or, in auto, a string taken as the message). */
  private array(s: number, e: number): void {
    const o = this.o;
    const text = this.buf.toString('utf8', s, e);
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new BadRequest(400, `malformed JSON array: ${jsonErrorText(err, text, 1 + countNewlines(this.buf, 0, s))}`);
    }
    if (!Array.isArray(v)) throw new BadRequest(400, 'malformed JSON array');
    // Only a body bigger than the limit can hold an element bigger than it: measure only then.
    const measure = e - s > o.maxEventBytes;
    v.forEach((el, i) => {
      if (measure) {
        const n = Buffer.byteLength(JSON.stringify(el) ?? '');
        if (n > o.maxEventBytes) throw new BadRequest(413, `element ${i + 1}: event of ${n} bytes exceeds max_event_bytes ${o.maxEventBytes}`);
      }
      if (isObject(el)) this.events.push(eventFromJson(el, o.source, o.now, o.tags));
      else if (typeof el === 'string' && o.format === 'auto') this.events.push(eventFromJson({ message: el }, o.source, o.now, o.tags));
      else throw new BadRequest(400, `element ${i + 1} of the array: expected a JSON object, got ${jsonType(el)}`);
    });
  }

  /** True (and the event taken) when the whole body is one JSON object; false means read it as lines. */
  private wholeObject(s: number, e: number): boolean {
    if (e - s > this.o.maxEventBytes) return false;
    const text = this.buf.toString('utf8', s, e);
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return false;
    }
    if (!isObject(v)) return false;
    this.events.push(eventFromJson(v, this.o.source, this.o.now, this.o.tags));
    return true;
  }
}

function countNewlines(buf: Buffer, s: number, e: number): number {
  let n = 0;
  for (let p = buf.indexOf(0x0a, s); p >= 0 && p < e; p = buf.indexOf(0x0a, p + 1)) n++;
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** JSON.parse's message, with the line of the error when it gives a position. */
function jsonErrorText(err: unknown, text: string, firstLine: number): string {
  const msg = (err as Error).message;
  const m = /position (\d+)/.exec(msg);
  if (!m || /\(line \d+/.test(msg)) return msg;
  const pos = Number(m[1]);
  let line = firstLine;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line === firstLine ? msg : `${msg} (line ${line})`;
}

/** The JSON event contract's keys and their aliases (Loggly and common logging libraries). */
const ALIASES: Record<string, string> = { host: 'hostname', app: 'appname', msg: 'message' };
const CANONICAL = new Set(['timestamp', 'hostname', 'appname', 'procid', 'msgid', 'severity', 'facility', 'message', 'version', 'structured_data']);

/**
 * A JSON object as an event: contract keys (timestamp, hostname/host, appname/app, procid,
 * msgid, severity (code or name), facility, message/msg, version, structured_data) become
 * event fields; anything else — and a contract key whose value does not fit — goes to
 * `fields`, so nothing sent is lost. A nested `fields` object is merged (sluice to sluice);
 * `tags` are merged with the URL's.
 */
export function eventFromJson(obj: Record<string, unknown>, source: EventSource, now: number, urlTags: string[]): LogEvent {
  const fields: Record<string, unknown> = {};
  const v: Record<string, unknown> = {};
  let tags: string[] = urlTags;
  for (const key of Object.keys(obj)) {
    const val = obj[key];
    const target = CANONICAL.has(key) ? key : ALIASES[key];
    if (target !== undefined) {
      // The canonical key wins over its alias; the loser is kept in fields.
      if (target !== key && Object.hasOwn(obj, target)) { fields[key] = val; continue; }
      const mapped = mapValue(target, val);
      if (mapped === undefined) fields[key] = val;
      else v[target] = mapped;
      continue;
    }
    if (key === 'fields' && isObject(val)) {
      for (const k of Object.keys(val)) if (k !== 'tags') fields[k] = val[k];
      if (val.tags !== undefined) {
        const merged = mergeTags(tags, val.tags);
        if (merged !== null) tags = merged;
        else fields.tags = val.tags;
      }
      continue;
    }
    if (key === 'tags') {
      const merged = mergeTags(tags, val);
      if (merged !== null) { tags = merged; continue; }
    }
    fields[key] = val;
  }
  // Tags that are not a list of strings stay as sent unless real tags take their place.
  if (tags.length > 0) fields.tags = [...tags];
  return LogEvent.fromValues(source, now, {
    timestamp: v.timestamp as string | null | undefined,
    hostname: v.hostname as string | null | undefined,
    appname: v.appname as string | null | undefined,
    procid: v.procid as string | null | undefined,
    msgid: v.msgid as string | null | undefined,
    severity: v.severity as number | null | undefined,
    facility: v.facility as number | null | undefined,
    message: v.message as string | null | undefined,
    version: v.version as number | null | undefined,
    structuredData: v.structured_data as StructuredData | null | undefined,
    fields: Object.keys(fields).length > 0 ? fields : null,
  });
}

/** The value for an event field, or undefined when it does not fit (then it stays in fields). */
function mapValue(key: string, val: unknown): unknown {
  if (val === null) return null;
  switch (key) {
    case 'timestamp':
      if (typeof val === 'string') return val;
      // Epoch numbers: seconds when small enough to be seconds, else milliseconds.
      if (typeof val === 'number' && Number.isFinite(val) && val >= 0) {
        const d = new Date(val < 1e11 ? val * 1000 : val);
        return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
      }
      return undefined;
    case 'hostname': case 'appname': case 'procid': case 'msgid':
      return typeof val === 'string' ? val : typeof val === 'number' ? String(val) : undefined;
    case 'severity':
      if (typeof val === 'number') return Number.isInteger(val) && val >= 0 && val <= 7 ? val : undefined;
      return typeof val === 'string' ? severityCode(val) : undefined;
    case 'facility':
      if (typeof val === 'number') return Number.isInteger(val) && val >= 0 && val <= 23 ? val : undefined;
      return typeof val === 'string' ? facilityCode(val) : undefined;
    case 'message':
      return typeof val === 'string' ? val : JSON.stringify(val);
    case 'version':
      return typeof val === 'number' && Number.isInteger(val) && val >= 0 ? val : undefined;
    case 'structured_data':
      return isStructuredData(val) ? val : undefined;
  }
  return undefined;
}

function isStructuredData(v: unknown): v is StructuredData {
  if (!isObject(v)) return false;
  return Object.values(v).every((params) => isObject(params)
    && Object.values(params).every((p) => typeof p === 'string' || (Array.isArray(p) && p.every((x) => typeof x === 'string'))));
}

/** Tags as a list: an array of strings or a comma-separated string; null when `val` is neither. */
function mergeTags(base: string[], val: unknown): string[] | null {
  let more: string[];
  if (typeof val === 'string') more = splitTags(val);
  else if (Array.isArray(val) && val.every((t) => typeof t === 'string')) more = val as string[];
  else return null;
  const out = [...base];
  for (const t of more) if (t !== '' && !out.includes(t)) out.push(t);
  return out;
}

export function splitTags(text: string): string[] {
  return text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
}
