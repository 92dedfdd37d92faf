// The broker wire format: what sluice publishes to NATS and RabbitMQ, and how its sources read messages back.
//
// A message carries one or more events as NDJSON, one JSON event (DESIGN.md's contract) per
// line, with content type application/x-ndjson. Several events per message is what makes
// 100k events/s possible (a broker's per-message cost dominates). The sources read that back,
// and also plain syslog lines or foreign JSON from other publishers, per `format`.

import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { parseSyslog } from '../codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource, type Transport } from '../event/log-event.js';
import { eventFromJson } from '../sources/http/decode.js';
import type { Template } from '../template/template.js';

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

/**
 * Splits a batch into messages: events grouped by their rendered subject / routing key, at
 * most `maxEvents` and `maxBytes` per message. An event bigger than maxBytes alone is
 * returned in `oversize` (it can never be published).
 */
export function packMessages(events: LogEvent[], key: Template, escape: (v: string) => string, maxEvents: number, maxBytes: number): { messages: OutMessage[]; oversize: LogEvent[] } {
  const groups = new Map<string, { text: string; events: LogEvent[]; bytes: number }>();
  const messages: OutMessage[] = [];
  const oversize: LogEvent[] = [];
  const seen = new Map<string, number>();
  const constant = key.constant ? key.render(events[0]!) : null;
  const flush = (k: string, g: { text: string; events: LogEvent[]; bytes: number }): void => {
    if (g.events.length === 0) return;
    const payload = Buffer.from(g.text, 'utf8');
    const id = messageId(k, payload, seen);
    const first = g.events[0]!;
    messages.push({ key: k, payload, events: g.events, id, host: first.hostOrPeer, severity: first.severity });
    g.text = '';
    g.events = [];
    g.bytes = 0;
  };
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    const k = constant ?? key.render(ev, escape);
    const line = eventJsonLine(ev);
    const n = Buffer.byteLength(line) + 1;
    if (n > maxBytes) { oversize.push(ev); continue; }
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { text: '', events: [], bytes: 0 }));
    if (g.events.length >= maxEvents || g.bytes + n > maxBytes) flush(k, g);
    g.text += line + '\n';
    g.events.push(ev);
    g.bytes += n;
  }
  for (const [k, g] of groups) flush(k, g);
  return { messages, oversize };
}

const q = JSON.stringify;
const str = (v: string | null): string => (v === null ? 'null' : q(v));
const num = (v: number | null): string => (v === null ? 'null' : String(v));
/** The JSON text of an event source, made once per source (events of a connection share it). */
const sourceJson = new WeakMap<EventSource, string>();
let lastReceived = -1;
let lastReceivedText = '';

/**
 * One event as the JSON event contract (the same keys and values as LogEvent.toJSON), written
 * without building the intermediate object: this is the broker destinations' hot path.
 */
export function eventJsonLine(ev: LogEvent): string {
  const s = ev.source;
  let src = sourceJson.get(s);
  if (src === undefined) {
    src = `{"name":${q(s.name)},"transport":${q(s.transport)},"address":${str(s.address)},"port":${num(s.port)},"tls_peer":${str(s.tlsPeer)}}`;
    sourceJson.set(s, src);
  }
  if (ev.receivedAt !== lastReceived) {
    lastReceived = ev.receivedAt;
    lastReceivedText = new Date(ev.receivedAt).toISOString();
  }
  const sd = ev.structuredData;
  const fields = ev.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8) ? q(ev.toJSON().fields) : ev.fields === null ? '{}' : q(ev.fields);
  return '{"timestamp":' + str(ev.timestamp) + ',"received_at":"' + lastReceivedText + '","facility":' + num(ev.facility) +
    ',"severity":' + num(ev.severity) + ',"version":' + num(ev.versionNumber) + ',"hostname":' + str(ev.hostname) +
    ',"appname":' + str(ev.appname) + ',"procid":' + str(ev.procid) + ',"msgid":' + str(ev.msgid) +
    ',"structured_data":' + (sd === null ? 'null' : q(sd)) + ',"message":' + str(ev.message) + ',"source":' + src + ',"fields":' + fields + '}';
}

/**
 * The message's identity: a hash of its key and payload (the events' JSON, receive times
 * included), so the same events sent again — a retry, a replay of the disk buffer after a
 * crash — get the same id and the broker drops the copy. Equal payloads within one batch
 * (a flood of one line in one millisecond) are numbered so they stay distinct.
 */
function messageId(key: string, payload: Buffer, seen: Map<string, number>): string {
  const h = createHash('sha256').update(key).update('\0').update(payload).digest('base64url').slice(0, 32);
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
    const { received_at: _r, source: _s, ...rest } = obj;
    const at = Date.parse(received as string);
    const ev = eventFromJson(rest, this.sourceFor(src as Record<string, unknown>), Number.isNaN(at) ? now : at, []);
    return ev;
  }

  /** The broker source with the original peer's address, cached: events of one peer share it. */
  private sourceFor(s: Record<string, unknown>): EventSource {
    const address = typeof s.address === 'string' ? s.address : null;
    const port = typeof s.port === 'number' ? s.port : null;
    const tlsPeer = typeof s.tls_peer === 'string' ? s.tls_peer : null;
    if (address === null && tlsPeer === null) return this.own;
    const k = `${address}|${port}|${tlsPeer}`;
    let src = this.sources.get(k);
    if (src === undefined) {
      if (this.sources.size > 10_000) this.sources.clear();
      this.sources.set(k, (src = { name: this.name, transport: this.transport, address, port, tlsPeer }));
    }
    return src;
  }
}
