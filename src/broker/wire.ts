// The broker wire format: what sluice publishes to NATS and RabbitMQ, and how its sources read messages back.
//
// A message carries one or more events as NDJSON, one JSON event (DESIGN.md's contract) per
// line, with content type application/x-ndjson. Several events per message is what makes
// 100k events/s possible (a broker's per-message cost dominates). The sources read that back,
// and also plain syslog lines or foreign JSON from other publishers, per `format`.

import { hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { ByteWriter } from '../codec/byte-writer.js';
import { parseSyslog } from '../codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource, type Transport } from '../event/log-event.js';
import { eventFromJson } from '../sources/http/decode.js';
import type { Template } from '../template/template.js';
import { OwnLineReader, type OwnLine } from './wire-reader.js';
import { writePlainJsonString as writeReceived, writeStructuredDataJson } from '../codec/json-bytes.js';

export const CONTENT_TYPE = 'application/x-ndjson';
/** Header with the number of events in a message (informational; readers count lines). */
export const EVENTS_HEADER = 'Sluice-Events';

export type BrokerFormat = 'auto' | 'json' | 'syslog' | 'raw';

/** One broker message on its way out: its payload, the events it carries, and its identity. */
export interface OutMessage {
  key: string;
  payload: Buffer;
  events: LogEvent[];
  id: string;
  host: string;
  severity: number | null;
}

/** A message being filled: its writer holds `key \0` and then the payload's lines. */
interface Group { w: ByteWriter; prefix: number; events: LogEvent[] }

/** Scratch for the key macros' bytes: the last event's at 0, the current one after it. */
const keyBytes = new ByteWriter(256);
/** Writers kept between batches (a message's payload is copied out), a few and not the biggest. */
const spareWriters: ByteWriter[] = [];
const SPARE_WRITERS = 8;
const SPARE_WRITER_BYTES = 1024 * 1024;

/**
 * Splits a batch into messages: events grouped by their rendered subject / routing key, at
 * most `maxEvents` and `maxBytes` per message. An event bigger than maxBytes alone is
 * returned in `oversize` (it can never be published). Lines are written as bytes straight
 * into the message, with no intermediate strings (the destinations' hot path).
 */
export function packMessages(events: LogEvent[], key: Template, escape: (v: string) => string, maxEvents: number, maxBytes: number): { messages: OutMessage[]; oversize: LogEvent[] } {
  const groups = new Map<string, Group>();
  const messages: OutMessage[] = [];
  const oversize: LogEvent[] = [];
  const seen = new Map<string, number>();
  const constant = key.constant ? key.render(events[0]!) : null;
  // The message is w.buf[prefix, end); a line written after it (the one that did not fit) moves down.
  const flush = (k: string, g: Group, end: number): void => {
    if (g.events.length === 0) return;
    const w = g.w;
    const payload = Buffer.allocUnsafe(end - g.prefix);
    w.buf.copy(payload, 0, g.prefix, end);
    const id = messageId(w.buf.subarray(0, end), seen);
    const first = g.events[0]!;
    messages.push({ key: k, payload, events: g.events, id, host: first.hostOrPeer, severity: first.severity });
    w.buf.copyWithin(g.prefix, end, w.pos);
    w.pos = g.prefix + (w.pos - end);
    g.events = [];
  };
  // Runs of events with the same key (one host's lines) are told apart by the macros' bytes, without rendering the key.
  const kw = keyBytes;
  let lastKey = '';
  let lastLen = -1;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    let k: string;
    if (constant !== null) k = constant;
    else {
      const at = lastLen < 0 ? 0 : lastLen;
      kw.pos = at;
      key.renderKey(ev, kw);
      const n = kw.pos - at;
      let same = n === lastLen;
      if (same) { const b = kw.buf; for (let j = 0; j < n; j++) if (b[j] !== b[at + j]) { same = false; break; } }
      if (same) k = lastKey;
      else {
        k = lastKey = key.render(ev, escape);
        kw.buf.copyWithin(0, at, at + n);
        lastLen = n;
      }
    }
    let g = groups.get(k);
    if (g === undefined) {
      const w = spareWriters.pop() ?? new ByteWriter(16 * 1024);
      w.reset();
      w.text(k);
      w.byte(0);
      groups.set(k, (g = { w, prefix: w.pos, events: [] }));
    }
    const w = g.w;
    const before = w.pos;
    writeEventJson(ev, w);
    w.byte(0x0a);
    const n = w.pos - before;
    if (n > maxBytes) { w.pos = before; oversize.push(ev); continue; }
    if (g.events.length >= maxEvents || before - g.prefix + n > maxBytes) flush(k, g, before);
    g.events.push(ev);
  }
  for (const [k, g] of groups) {
    flush(k, g, g.w.pos);
    if (spareWriters.length < SPARE_WRITERS && g.w.buf.length <= SPARE_WRITER_BYTES) spareWriters.push(g.w);
  }
  return { messages, oversize };
}

/**
 * Per source, the end of its lines when fields are empty: `,"source":{...},"fields":{}}`,
 * made once per source (events of a connection share it) and copied in one piece.
 */
const sourceTail = new WeakMap<EventSource, Buffer>();
let lastReceived = -1;
const receivedText = Buffer.alloc(32); // "YYYY-MM-DDTHH:MM:SS.sssZ" (longer past year 9999)
let receivedLen = 0;
const NULL = 0x6e756c6c; // "null", big-endian
/** Characters a JSON string cannot hold as they are (quote, backslash, controls) and surrogates, which JSON.stringify escapes when alone. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Constant parts of the line, as bytes. */
const K = Object.fromEntries(['{"timestamp":', ',"received_at":"', '","facility":', ',"severity":', ',"version":', ',"hostname":', ',"appname":',
  ',"procid":', ',"msgid":', ',"structured_data":', ',"message":', ',"fields":', ',"structured_data":null,"message":'].map((t, i) => [i, Buffer.from(t, 'latin1')])) as Record<number, Buffer>;

/**
 * `","facility":F,"severity":S,"version":V,"hostname":` for each facility 0..23, severity
 * 0..7 and version 0..9 or null: seven pieces copied as one, made when first needed.
 */
const PRI_VERSION: (Buffer | undefined)[] = new Array(25 * 9 * 11);

function priVersion(f: number | null, s: number | null, v: number | null): Buffer | undefined {
  if ((f !== null && (f > 23 || f < 0 || !Number.isInteger(f))) || (s !== null && (s > 7 || s < 0 || !Number.isInteger(s))) ||
    (v !== null && (v > 9 || v < 0 || !Number.isInteger(v)))) return undefined;
  const i = ((f === null ? 24 : f) * 9 + (s === null ? 8 : s)) * 11 + (v === null ? 10 : v);
  return (PRI_VERSION[i] ??= Buffer.from(`","facility":${num(f)},"severity":${num(s)},"version":${num(v)},"hostname":`, 'latin1'));
}

function lit(w: ByteWriter, b: Buffer): void {
  w.range(b, 0, b.length);
}

function writeNull(w: ByteWriter): void {
  w.ensure(4);
  w.buf.writeUInt32BE(NULL, w.pos);
  w.pos += 4;
}

/** A JSON string; short plain ASCII is copied by hand (a native call costs more than its bytes). */
function writeString(w: ByteWriter, v: string | null): void {
  if (v === null) { writeNull(w); return; }
  const n = v.length;
  if (n < 64) {
    w.ensure(n + 2);
    const out = w.buf;
    let p = w.pos;
    out[p++] = 0x22;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) break;
      out[p++] = c;
    }
    if (i === n) {
      out[p++] = 0x22;
      w.pos = p;
      return;
    }
  }
  if (NEEDS_ESCAPE.test(v)) { w.text(JSON.stringify(v)); return; }
  w.byte(0x22);
  w.text(v);
  w.byte(0x22);
}

function writeNumber(w: ByteWriter, v: number | null): void {
  if (v === null) { writeNull(w); return; }
  if (v >= 0 && v < 10 && Number.isInteger(v)) { w.byte(0x30 + v); return; }
  w.text(String(v));
}

/**
 * One event as the JSON event contract (the same keys, order and values as
 * JSON.stringify(LogEvent.toJSON())), written as bytes without building the object.
 */
export function writeEventJson(ev: LogEvent, w: ByteWriter): void {
  const s = ev.source;
  let tail = sourceTail.get(s);
  if (tail === undefined) {
    tail = Buffer.from(`,"source":{"name":${q(s.name)},"transport":${q(s.transport)},"address":${str(s.address)},"port":${num(s.port)},"tls_peer":${str(s.tlsPeer)}},"fields":{}}`);
    sourceTail.set(s, tail);
  }
  if (ev.receivedAt !== lastReceived) {
    lastReceived = ev.receivedAt;
    receivedLen = receivedText.write(new Date(ev.receivedAt).toISOString(), 0, 'latin1');
  }
  // A field still as received is copied from the bytes: the getters' text, without the string.
  const b = ev.buf;
  lit(w, K[0]!);
  if (!ev.asReceived('timestamp') || !writeReceived(w, b, ev.tsStart, ev.tsEnd)) writeString(w, ev.timestamp);
  lit(w, K[1]!); w.range(receivedText, 0, receivedLen);
  const facility = ev.facility, severity = ev.severity, version = ev.versionNumber;
  const pv = priVersion(facility, severity, version);
  if (pv !== undefined) lit(w, pv);
  else {
    lit(w, K[2]!); writeNumber(w, facility);
    lit(w, K[3]!); writeNumber(w, severity);
    lit(w, K[4]!); writeNumber(w, version);
    lit(w, K[5]!);
  }
  if (!ev.asReceived('hostname') || !writeReceived(w, b, ev.hostStart, ev.hostEnd)) writeString(w, ev.hostname);
  lit(w, K[6]!);
  if (!ev.asReceived('appname') || !writeReceived(w, b, ev.appStart, ev.appEnd)) writeString(w, ev.appname);
  lit(w, K[7]!);
  if (!ev.asReceived('procid') || !writeReceived(w, b, ev.pidStart, ev.pidEnd)) writeString(w, ev.procid);
  lit(w, K[8]!);
  if (!ev.asReceived('msgid') || !writeReceived(w, b, ev.msgidStart, ev.msgidEnd)) writeString(w, ev.msgid);
  if (ev.asReceived('structuredData')) {
    lit(w, K[9]!);
    if (!writeStructuredDataJson(w, b, ev.sdStart, ev.sdEnd)) w.text(q(ev.structuredData));
    lit(w, K[10]!);
  } else {
    const sd = ev.structuredData;
    if (sd === null) lit(w, K[12]!);
    else { lit(w, K[9]!); w.text(q(sd)); lit(w, K[10]!); }
  }
  if (!ev.asReceived('message') || !writeReceived(w, b, ev.msgStart, ev.end)) writeString(w, ev.message);
  if (!(ev.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8)) && ev.fields === null) { lit(w, tail); return; }
  // `,"fields":{}}` is the last 13 bytes of the tail.
  w.range(tail, 0, tail.length - 13);
  lit(w, K[11]!);
  w.text(q(ev.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8) ? ev.toJSON().fields : ev.fields));
  w.byte(0x7d);
}

const q = JSON.stringify;
const str = (v: string | null): string => (v === null ? 'null' : q(v));
const num = (v: number | null): string => (v === null ? 'null' : String(v));

/**
 * The message's identity: a hash of its key and payload (`key \0 payload`: the events' JSON,
 * receive times included), so the same events sent again — a retry, a replay of the disk
 * buffer after a crash — get the same id and the broker drops the copy. Equal payloads within
 * one batch (a flood of one line in one millisecond) are numbered so they stay distinct.
 */
function messageId(keyAndPayload: Buffer, seen: Map<string, number>): string {
  const h = hash('sha256', keyAndPayload, 'base64url').slice(0, 32);
  const n = seen.get(h) ?? 0;
  seen.set(h, n + 1);
  return n === 0 ? h : `${h}-${n}`;
}

/** NATS subject tokens: no separators, wildcards or spaces inside a macro's value. */
export function escapeSubjectToken(v: string): string {
  if (v.length === 0) return '_';
  return /[.*> \t\r\n]/.test(v) ? v.replace(/[.*> \t\r\n]/g, '_') : v;
}

/** AMQP topic routing key words: no dots, wildcards or spaces inside a macro's value. */
export function escapeRoutingWord(v: string): string {
  if (v.length === 0) return '_';
  return /[.*# \t\r\n]/.test(v) ? v.replace(/[.*# \t\r\n]/g, '_') : v;
}

/** A message's events, or why it cannot be read (a poison message). */
export type Decoded = { ok: true; events: LogEvent[] } | { ok: false; error: string };

/**
 * Reads a broker message. auto: JSON objects per line (sluice's own events, or any JSON),
 * otherwise syslog lines; json: JSON lines only; syslog: each line a syslog message; raw:
 * the whole payload is one message. Sluice events keep their receive time and the original
 * peer's address; their source becomes this broker source.
 */
export class MessageDecoder {
  private readonly sources = new Map<string, EventSource>();
  private readonly own: EventSource;
  /** Events of one batch share their receive time: parsed once. */
  private lastReceivedText = '';
  private lastReceived = NaN;
  private lastSource: EventSource | null = null;
  /** Sluice's own lines, read without JSON.parse (wire-reader.ts). */
  private readonly reader = new OwnLineReader();

  constructor(private readonly name: string, private readonly transport: Transport, private readonly format: BrokerFormat, private readonly maxEventBytes: number) {
    this.own = { name, transport, address: null, port: null, tlsPeer: null };
  }

  decode(buf: Buffer, now: number): Decoded {
    if (this.format === 'raw') return { ok: true, events: [this.text(buf, 0, buf.length, now, 'none')] };
    const events: LogEvent[] = [];
    let p = 0;
    let line = 0;
    const end = buf.length;
    while (p < end) {
      let nl = buf.indexOf(0x0a, p);
      if (nl < 0) nl = end;
      let e = nl;
      if (e > p && buf[e - 1] === 0x0d) e--;
      line++;
      if (e > p) {
        const r = this.piece(buf, p, e, now, line);
        if (typeof r === 'string') return { ok: false, error: r };
        events.push(r);
      }
      p = nl + 1;
    }
    if (events.length === 0) return { ok: false, error: 'empty message' };
    return { ok: true, events };
  }

  private piece(buf: Buffer, s: number, e: number, now: number, line: number): LogEvent | string {
    if (e - s > this.maxEventBytes) return `line ${line}: event of ${e - s} bytes exceeds max_event_bytes ${this.maxEventBytes}`;
    const c = buf[s]!;
    const f = this.format;
    if (f === 'json' || (f === 'auto' && c === 0x7b /* { */)) {
      const own = this.reader.read(buf, s, e);
      if (own !== null) return this.fromOwnLine(own, now);
      let v: unknown;
      try {
        v = JSON.parse(buf.toString('utf8', s, e));
      } catch (err) {
        return `line ${line}: malformed JSON: ${(err as Error).message}`;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `line ${line}: expected a JSON object`;
      return this.fromJson(v as Record<string, unknown>, now);
    }
    return this.text(buf, s, e, now, f === 'syslog' || c === 0x3c /* < */ ? 'auto' : 'none');
  }

  private text(buf: Buffer, s: number, e: number, now: number, mode: 'auto' | 'none'): LogEvent {
    const ev = new LogEvent(this.own, now);
    parseSyslog(ev, buf, s, e, mode);
    if (!isUtf8(buf.subarray(s, e))) ev.flags |= EventFlag.INVALID_UTF8;
    return ev;
  }

  private fromJson(obj: Record<string, unknown>, now: number): LogEvent {
    const src = obj.source;
    const received = obj.received_at;
    const sluice = typeof received === 'string' && typeof src === 'object' && src !== null && !Array.isArray(src);
    if (!sluice) return eventFromJson(obj, this.own, now, []);
    // One of ours: received_at and source are the contract's, not foreign fields.
    const at = this.receivedTime(received, now);
    const s = src as Record<string, unknown>;
    const source = this.sourceFor(typeof s.address === 'string' ? s.address : null, typeof s.port === 'number' ? s.port : null, typeof s.tls_peer === 'string' ? s.tls_peer : null);
    const own = ownEvent(obj, source, at);
    if (own !== null) return own;
    const { received_at: _r, source: _s, ...rest } = obj;
    return eventFromJson(rest, source, at, []);
  }

  /** The event JSON.parse and ownEvent would have made of the same line. */
  private fromOwnLine(o: OwnLine, now: number): LogEvent {
    const source = this.sourceFor(o.address, o.port, o.tlsPeer);
    return LogEvent.fromValues(source, this.receivedTime(o.receivedAt, now), {
      timestamp: o.timestamp, facility: o.facility, severity: o.severity, version: o.version, hostname: o.hostname,
      appname: o.appname, procid: o.procid, msgid: o.msgid, message: o.message, structuredData: null, fields: o.fields,
    });
  }

  /** received_at in ms (now when it does not parse); events of a batch share it, so it is parsed once. */
  private receivedTime(received: string, now: number): number {
    if (received !== this.lastReceivedText) {
      this.lastReceivedText = received;
      this.lastReceived = Date.parse(received);
    }
    return Number.isNaN(this.lastReceived) ? now : this.lastReceived;
  }

  /** The broker source with the original peer's address, cached: events of one peer share it. */
  private sourceFor(address: string | null, port: number | null, tlsPeer: string | null): EventSource {
    if (address === null && tlsPeer === null) return this.own;
    // Events of one message mostly come from one peer: the last one answers without a key.
    const last = this.lastSource;
    if (last !== null && last.address === address && last.port === port && last.tlsPeer === tlsPeer) return last;
    const k = `${address}|${port}|${tlsPeer}`;
    let src = this.sources.get(k);
    if (src === undefined) {
      if (this.sources.size > 10_000) this.sources.clear();
      this.sources.set(k, (src = { name: this.name, transport: this.transport, address, port, tlsPeer }));
    }
    return (this.lastSource = src);
  }
}

const str0 = (v: unknown): v is string | null => v === null || typeof v === 'string';
const int0 = (v: unknown, max: number): v is number | null => v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max);

/**
 * A sluice event exactly as writeEventJson writes it (the 13 keys, each value of its type,
 * no structured data, fields without tags): its values taken as they are. Anything else is
 * null, and eventFromJson maps it key by key; for what passes here both give the same event.
 */
function ownEvent(o: Record<string, unknown>, source: EventSource, at: number): LogEvent | null {
  const { timestamp, facility, severity, version, hostname, appname, procid, msgid, message, fields } = o;
  if (o.structured_data !== null || !str0(timestamp) || !int0(facility, 23) || !int0(severity, 7) || !int0(version, Number.MAX_SAFE_INTEGER)) return null;
  if (!str0(hostname) || !str0(appname) || !str0(procid) || !str0(msgid) || !str0(message)) return null;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields) || Object.hasOwn(fields, 'tags')) return null;
  if (Object.keys(o).length !== 13) return null;
  let any = false;
  for (const _ in fields) { any = true; break; }
  return LogEvent.fromValues(source, at, { timestamp, facility, severity, version, hostname, appname, procid, msgid, message, structuredData: null, fields: any ? fields as Record<string, unknown> : null });
}
