// The one event model: a received message kept as bytes plus header offsets, decoded on demand.
//
// A syslog event is created by the parser with the offsets of its header fields into the
// buffer it arrived in; no string is made until someone reads a field. Events built from
// fields (HTTP JSON, brokers) set the values directly. Both look the same from outside.

import { parseStructuredData, type StructuredData } from '../codec/structured-data.js';
import { rfc3164TimestampToIso } from '../codec/timestamp.js';

export type Transport = 'udp' | 'tcp' | 'tls' | 'unix' | 'relp' | 'http' | 'https' | 'stdin' | 'internal' | 'nats' | 'amqp' | 'file' | 'journald' | 's3';

/** Where an event came from; shared by all events of one connection or datagram source. */
export interface EventSource {
  readonly name: string;
  readonly transport: Transport;
  /** Peer IP address (or socket path), null when not network-borne. */
  readonly address: string | null;
  readonly port: number | null;
  /** TLS client identity (certificate subject), null without client certificates. */
  readonly tlsPeer: string | null;
}

export const Format = { NONE: 0, RFC5424: 1, RFC3164: 2 } as const;

export const EventFlag = {
  /** The message bytes are not valid UTF-8; JSON output carries U+FFFD where they were. */
  INVALID_UTF8: 1,
  /** The message was longer than max_message_bytes and was cut. */
  TRUNCATED: 2,
  /** The message part began with a UTF-8 BOM (RFC 5424 §6.4), which was skipped. */
  BOM: 4,
  /** The timestamp range holds an RFC 3164 "Mmm dd hh:mm:ss" stamp, not ISO 8601. */
  TS_RFC3164: 8,
  /** A strict parse failed; the whole message is in MSG. */
  UNPARSED: 16,
} as const;

/**
 * Field values held as values rather than read from the bytes: undefined = "read from the
 * bytes". One class with every slot present, so every event has the same object shape.
 */
export class Decoded {
  timestamp: string | null | undefined = undefined;
  facility: number | null | undefined = undefined;
  severity: number | null | undefined = undefined;
  version: number | null | undefined = undefined;
  hostname: string | null | undefined = undefined;
  appname: string | null | undefined = undefined;
  procid: string | null | undefined = undefined;
  msgid: string | null | undefined = undefined;
  structuredData: StructuredData | null | undefined = undefined;
  message: string | null | undefined = undefined;
}

type Values = { [K in keyof Decoded]?: Decoded[K] };

export interface EventJson {
  timestamp: string | null;
  received_at: string;
  facility: number | null;
  severity: number | null;
  version: number | null;
  hostname: string | null;
  appname: string | null;
  procid: string | null;
  msgid: string | null;
  structured_data: StructuredData | null;
  message: string | null;
  source: { name: string; transport: string; address: string | null; port: number | null; tls_peer: string | null };
  fields: Record<string, unknown>;
}

const EMPTY = Buffer.alloc(0);

/** The fields whose received bytes an encoder may copy as they are (LogEvent.asReceived). */
export type ReceivedField = 'timestamp' | 'hostname' | 'appname' | 'procid' | 'msgid' | 'structuredData' | 'message';

export class LogEvent {
  // Raw bytes and header layout, written by the parser. Offsets are absolute into buf; -1 = absent.
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  format: number = Format.NONE;
  /** PRI value 0..191, or -1 when the message carried none. */
  pri = -1;
  version = -1;
  tsStart = -1;
  tsEnd = -1;
  hostStart = -1;
  hostEnd = -1;
  appStart = -1;
  appEnd = -1;
  pidStart = -1;
  pidEnd = -1;
  msgidStart = -1;
  msgidEnd = -1;
  sdStart = -1;
  sdEnd = -1;
  msgStart = -1;
  flags = 0;
  /** Milliseconds since the epoch when the message was read. */
  receivedAt: number;
  source: EventSource;
  fields: Record<string, unknown> | null = null;
  /**
   * Values set explicitly (events built from values, or changed by a transform); null while
   * every field is as received. Encoders copy raw bytes for any field not set here.
   */
  d: Decoded | null = null;
  /** Values decoded from the bytes, kept so a field is decoded once. */
  private c: Decoded | null = null;

  constructor(source: EventSource, receivedAt: number) {
    this.source = source;
    this.receivedAt = receivedAt;
  }

  /** An event from already-known values (HTTP JSON input, brokers, tests). */
  static fromValues(source: EventSource, receivedAt: number, v: Values & { fields?: Record<string, unknown> | null }): LogEvent {
    const e = new LogEvent(source, receivedAt);
    const d = new Decoded();
    d.timestamp = v.timestamp ?? null;
    d.facility = v.facility ?? null;
    d.severity = v.severity ?? null;
    d.version = v.version ?? null;
    d.hostname = v.hostname ?? null;
    d.appname = v.appname ?? null;
    d.procid = v.procid ?? null;
    d.msgid = v.msgid ?? null;
    d.structuredData = v.structuredData ?? null;
    d.message = v.message ?? null;
    e.d = d;
    e.fields = v.fields ?? null;
    return e;
  }

  /**
   * A copy a transform may change without the original changing (copy on write for log
   * paths): the bytes are shared, the overrides and fields are copied (fields shallowly).
   * The decode cache is shared too: it only ever holds values read from the same bytes.
   */
  clone(): LogEvent {
    const e = new LogEvent(this.source, this.receivedAt);
    e.buf = this.buf; e.start = this.start; e.end = this.end; e.format = this.format; e.pri = this.pri; e.version = this.version;
    e.tsStart = this.tsStart; e.tsEnd = this.tsEnd; e.hostStart = this.hostStart; e.hostEnd = this.hostEnd;
    e.appStart = this.appStart; e.appEnd = this.appEnd; e.pidStart = this.pidStart; e.pidEnd = this.pidEnd;
    e.msgidStart = this.msgidStart; e.msgidEnd = this.msgidEnd; e.sdStart = this.sdStart; e.sdEnd = this.sdEnd;
    e.msgStart = this.msgStart; e.flags = this.flags;
    e.fields = this.fields === null ? null : { ...this.fields };
    if (this.d !== null) e.d = Object.assign(new Decoded(), this.d);
    e.c = this.c;
    return e;
  }

  private str(s: number, e: number): string | null {
    return s < 0 ? null : this.buf.toString('utf8', s, e);
  }

  /** Where setters write. */
  private dec(): Decoded {
    return this.d ?? (this.d = new Decoded());
  }

  /** Where decoded values are cached. */
  private cache(): Decoded {
    return this.c ?? (this.c = new Decoded());
  }

  get timestamp(): string | null {
    const d = this.d;
    if (d !== null && d.timestamp !== undefined) return d.timestamp;
    const c = this.c;
    if (c !== null && c.timestamp !== undefined) return c.timestamp;
    let v: string | null = null;
    if (this.tsStart >= 0) {
      const text = this.buf.toString('latin1', this.tsStart, this.tsEnd);
      v = this.flags & EventFlag.TS_RFC3164 ? rfc3164TimestampToIso(text, this.receivedAt) : text;
    }
    return (this.cache().timestamp = v);
  }
  set timestamp(v: string | null) { this.dec().timestamp = v; }

  get facility(): number | null {
    const d = this.d;
    if (d !== null && d.facility !== undefined) return d.facility;
    // RFC 3164 §4.3.3: a message without PRI is treated as user.notice (13).
    return this.pri >= 0 ? this.pri >> 3 : 1;
  }
  set facility(v: number | null) { this.dec().facility = v; }

  get severity(): number | null {
    const d = this.d;
    if (d !== null && d.severity !== undefined) return d.severity;
    return this.pri >= 0 ? this.pri & 7 : 5;
  }
  set severity(v: number | null) { this.dec().severity = v; }

  get versionNumber(): number | null {
    const d = this.d;
    if (d !== null && d.version !== undefined) return d.version;
    return this.version >= 0 ? this.version : null;
  }

  get hostname(): string | null {
    const d = this.d;
    if (d !== null && d.hostname !== undefined) return d.hostname;
    const c = this.c;
    if (c !== null && c.hostname !== undefined) return c.hostname;
    return (this.cache().hostname = this.str(this.hostStart, this.hostEnd));
  }
  set hostname(v: string | null) { this.dec().hostname = v; }

  get appname(): string | null {
    const d = this.d;
    if (d !== null && d.appname !== undefined) return d.appname;
    const c = this.c;
    if (c !== null && c.appname !== undefined) return c.appname;
    return (this.cache().appname = this.str(this.appStart, this.appEnd));
  }
  set appname(v: string | null) { this.dec().appname = v; }

  get procid(): string | null {
    const d = this.d;
    if (d !== null && d.procid !== undefined) return d.procid;
    const c = this.c;
    if (c !== null && c.procid !== undefined) return c.procid;
    return (this.cache().procid = this.str(this.pidStart, this.pidEnd));
  }
  set procid(v: string | null) { this.dec().procid = v; }

  get msgid(): string | null {
    const d = this.d;
    if (d !== null && d.msgid !== undefined) return d.msgid;
    const c = this.c;
    if (c !== null && c.msgid !== undefined) return c.msgid;
    return (this.cache().msgid = this.str(this.msgidStart, this.msgidEnd));
  }
  set msgid(v: string | null) { this.dec().msgid = v; }

  get structuredData(): StructuredData | null {
    const d = this.d;
    if (d !== null && d.structuredData !== undefined) return d.structuredData;
    const c = this.c;
    if (c !== null && c.structuredData !== undefined) return c.structuredData;
    return (this.cache().structuredData = this.sdStart < 0 ? null : parseStructuredData(this.buf, this.sdStart, this.sdEnd));
  }
  set structuredData(v: StructuredData | null) { this.dec().structuredData = v; }

  /** The raw SD-ELEMENT text ("[id p=\"v\"]..."), or null; what ${SDATA} prints. */
  get structuredDataText(): string | null {
    const d = this.d;
    if (d !== null && d.structuredData !== undefined) return d.structuredData === null ? null : formatStructuredData(d.structuredData);
    return this.str(this.sdStart, this.sdEnd);
  }

  get message(): string | null {
    const d = this.d;
    if (d !== null && d.message !== undefined) return d.message;
    const c = this.c;
    if (c !== null && c.message !== undefined) return c.message;
    return (this.cache().message = this.msgStart < 0 || this.msgStart > this.end ? null : this.buf.toString('utf8', this.msgStart, this.end));
  }
  set message(v: string | null) { this.dec().message = v; }

  /**
   * True when a field is still its received bytes, unchanged: not set since, present, and its
   * getter's text is exactly those bytes (an RFC 3164 timestamp is converted, so it is not).
   * Encoders then copy the bytes (timestamp buf[tsStart, tsEnd), message buf[msgStart, end),
   * structured data buf[sdStart, sdEnd), ...) instead of making the string.
   */
  asReceived(field: ReceivedField): boolean {
    const d = this.d;
    switch (field) {
      case 'timestamp': return (d === null || d.timestamp === undefined) && this.tsStart >= 0 && (this.flags & EventFlag.TS_RFC3164) === 0;
      case 'hostname': return (d === null || d.hostname === undefined) && this.hostStart >= 0;
      case 'appname': return (d === null || d.appname === undefined) && this.appStart >= 0;
      case 'procid': return (d === null || d.procid === undefined) && this.pidStart >= 0;
      case 'msgid': return (d === null || d.msgid === undefined) && this.msgidStart >= 0;
      case 'structuredData': return (d === null || d.structuredData === undefined) && this.sdStart >= 0;
      case 'message': return (d === null || d.message === undefined) && this.msgStart >= 0 && this.msgStart <= this.end;
    }
  }

  /** The received bytes of the whole message (empty for events built from values). */
  get rawBytes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** Host for templates and routing: the hostname field, else the peer address. */
  get hostOrPeer(): string {
    return this.hostname ?? this.source.address ?? '';
  }

  toJSON(): EventJson {
    const s = this.source;
    return {
      timestamp: this.timestamp,
      received_at: new Date(this.receivedAt).toISOString(),
      facility: this.facility,
      severity: this.severity,
      version: this.versionNumber,
      hostname: this.hostname,
      appname: this.appname,
      procid: this.procid,
      msgid: this.msgid,
      structured_data: this.structuredData,
      message: this.message,
      source: { name: s.name, transport: s.transport, address: s.address, port: s.port, tls_peer: s.tlsPeer },
      fields: this.flags & (EventFlag.TRUNCATED | EventFlag.INVALID_UTF8) ? this.flaggedFields() : this.fields ?? {},
    };
  }

  /** fields plus the problems a reader of the JSON must know about: a cut or mis-encoded message. */
  private flaggedFields(): Record<string, unknown> {
    const f: Record<string, unknown> = { ...this.fields };
    if (this.flags & EventFlag.TRUNCATED) f.truncated = true;
    if (this.flags & EventFlag.INVALID_UTF8) f.invalid_utf8 = true;
    return f;
  }
}

/** RFC 5424 SD-ELEMENT text for a structured data object, with PARAM-VALUE escapes. */
export function formatStructuredData(sd: StructuredData): string {
  let out = '';
  for (const id of Object.keys(sd)) {
    out += '[' + id;
    const params = sd[id]!;
    for (const name of Object.keys(params)) {
      const v = params[name]!;
      for (const value of typeof v === 'string' ? [v] : v) out += ' ' + name + '="' + value.replace(/["\\\]]/g, '\\$&') + '"';
    }
    out += ']';
  }
  return out;
}
