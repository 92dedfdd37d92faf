// The syslog destination: events encoded (RFC 5424/3164, JSON, CEF, LEEF, kv, template) and
// sent to a SIEM or relay over UDP, TCP or TLS (RFC 5425).
//
// One batch is encoded into one buffer and written with one write; it is reported ok only
// when the socket took all of it. Retries, backoff and buffering belong to the runner:
// this class holds at most the batch in flight.

import { ByteWriter } from '../../codec/byte-writer.js';
import { ENCODERS, type EncodeOptions, type Encoder } from '../../codec/encode/index.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError } from '../../errors.js';
import { log } from '../../log.js';
import { ClientTls } from '../../net/tls-client.js';
import { Template } from '../../template/template.js';
import type { DestinationKind } from '../index.js';
import type { Destination, SendResult } from '../types.js';
import { syslogDestinationInfo, type SyslogDestinationConfig } from './config.js';
import { StreamConnection, UdpConnection, type StreamTarget } from './connection.js';

export { syslogDestinationSchema, type SyslogDestinationConfig } from './config.js';

/** Room left before each message for its octet count ("12345 "); 10 digits cover any length. */
const OCTET_RESERVE = 11;
/** How long stop() waits for the receiver to close after our end(). */
const CLOSE_TIMEOUT_MS = 5_000;
const WRITER_BYTES = 256 * 1024;

export type Framing = 'octet' | 'lf' | 'datagram';

export interface SyslogContext {
  /** The destination's name, for the daemon's log lines. */
  name?: string;
  /** Relative certificate paths resolve against this (default: the working directory). */
  baseDir?: string;
}

interface Encoded {
  buf: Buffer;
  /** Datagram boundaries (UDP): start/end offsets into buf, pairwise. */
  bounds: number[];
  sent: number;
  bad: LogEvent[];
  badReason: string;
}

export class SyslogDestination implements Destination {
  readonly maxBatch: number;
  readonly framing: Framing;
  private readonly encoder: Encoder;
  private readonly options: EncodeOptions;
  private readonly component: string;
  private writer = new ByteWriter(WRITER_BYTES);
  private stream: StreamConnection | null = null;
  private udp: UdpConnection | null = null;

  constructor(private readonly cfg: SyslogDestinationConfig, private readonly ctx: SyslogContext = {}) {
    this.maxBatch = cfg.batch_events;
    this.component = `destination ${ctx.name ?? 'syslog'}`;
    const scheme = cfg.url.scheme;
    this.framing = scheme === 'udp' ? 'datagram' : cfg.framing ?? (scheme === 'tls' ? 'octet' : 'lf');
    this.encoder = ENCODERS[cfg.format];
    this.options = {
      facility: cfg.facility,
      severity: cfg.severity,
      hostname: cfg.hostname,
      appname: cfg.tag,
      header: cfg.header,
      separator: cfg.separator,
      pair: cfg.pair,
      template: cfg.format === 'template' ? Template.compile(cfg.template) : undefined,
      vendor: cfg.vendor,
      product: cfg.product,
      version: cfg.version,
      delimiter: cfg.delimiter,
    };
  }

  get url(): string {
    return this.cfg.url.text;
  }

  /** True while a TCP/TLS connection is open (tests wait on it). */
  get connected(): boolean {
    return this.stream?.connected ?? false;
  }

  /** TCP/TLS connections made so far. */
  get connects(): number {
    return this.stream?.connects ?? 0;
  }

  /** Reads the TLS files (a wrong path fails here, at start); connecting waits for the first batch. */
  async start(): Promise<void> {
    this.prepare();
  }

  private prepare(): void {
    if (this.stream || this.udp) return;
    const { scheme, host, port, text } = this.cfg.url;
    if (scheme === 'udp') {
      this.udp = new UdpConnection({ url: text, host, port });
      return;
    }
    const target: StreamTarget = {
      url: text, host, port, connectTimeoutMs: this.cfg.connect_timeout,
      tls: scheme === 'tls' ? new ClientTls(this.cfg.tls, host, this.ctx.baseDir ?? process.cwd(), this.url, this.component) : null,
    };
    this.stream = new StreamConnection(target, (what, detail) => log(what === 'connected' ? 'info' : 'warn', this.component, what, detail));
  }

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    let enc: Encoded;
    try {
      this.prepare();
      enc = this.encode(events);
    } catch (e) {
      done({ status: 'retry', error: `${this.url}: ${describeError(e)}` });
      return;
    }
    const finish = (err: Error | null): void => {
      if (err !== null) {
        // The socket may still hold a view of this buffer: encode the next batch elsewhere.
        this.writer = new ByteWriter(WRITER_BYTES);
        done({ status: 'retry', error: err.message });
      } else if (enc.bad.length > 0) {
        done({ status: 'reject', error: `${this.url}: cannot encode as ${this.cfg.format}: ${enc.badReason}`, events: enc.bad });
      } else done({ status: 'ok' });
    };
    if (enc.sent === 0) { finish(null); return; }
    if (this.udp) {
      const datagrams: Buffer[] = [];
      for (let i = 0; i < enc.bounds.length; i += 2) datagrams.push(enc.buf.subarray(enc.bounds[i]!, enc.bounds[i + 1]!));
      this.udp.send(datagrams, finish);
      return;
    }
    const stream = this.stream!;
    stream.connect().then(
      (s) => stream.write(s, enc.buf, this.cfg.send_timeout, finish),
      (e: Error) => finish(e),
    );
  }

  /** Encodes a batch with its framing into the writer; events whose encoding throws are set aside. */
  encode(events: LogEvent[]): Encoded {
    const w = this.writer;
    w.reset();
    const bounds: number[] = [];
    const bad: LogEvent[] = [];
    let badReason = '';
    const framing = this.framing;
    const max = this.cfg.max_message_bytes;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      const start = w.pos;
      try {
        const ms = framing === 'octet' ? start + OCTET_RESERVE : start;
        if (framing === 'octet') { w.ensure(OCTET_RESERVE); w.pos = ms; }
        this.encoder(ev, w, this.options);
        // An empty message cannot be framed (RFC 6587 lengths start at 1) and says nothing.
        if (w.pos === ms) throw new Error('the message is empty');
        if (framing === 'octet') frameOctet(w, start);
        else if (framing === 'lf') frameLf(w, start);
        else {
          if (w.pos - start > max) w.pos = start + utf8Cut(w.buf, start, max);
          bounds.push(start, w.pos);
        }
      } catch (e) {
        w.pos = start;
        bad.push(ev);
        badReason ||= describeError(e);
      }
    }
    return { buf: w.view(), bounds, sent: events.length - bad.length, bad, badReason };
  }

  /** Flushes nothing of its own (the runner drains first), ends the connection and waits for it to close. */
  async stop(): Promise<void> {
    await this.stream?.close(CLOSE_TIMEOUT_MS);
    await this.udp?.close();
  }
}

/** Moves the message written after the reserve at `start` to follow its "LEN " prefix (RFC 6587 octet counting). */
function frameOctet(w: ByteWriter, start: number): void {
  const ms = start + OCTET_RESERVE;
  const n = w.pos - ms;
  const len = String(n);
  const buf = w.buf;
  let p = start;
  for (let i = 0; i < len.length; i++) buf[p++] = len.charCodeAt(i);
  buf[p++] = 0x20;
  if (p !== ms) buf.copyWithin(p, ms, ms + n);
  w.pos = p + n;
}

/**
 * Ends the message at `start` with LF (RFC 6587 non-transparent framing). A line feed
 * inside would split the message at the receiver, so trailing line ends are dropped and
 * inner ones become spaces; octet framing keeps every byte.
 */
function frameLf(w: ByteWriter, start: number): void {
  const buf = w.buf;
  let end = w.pos;
  while (end > start && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  let i = end > start ? buf.subarray(start, end).indexOf(0x0a) : -1;
  while (i >= 0) {
    buf[start + i] = 0x20;
    const next = buf.subarray(start + i + 1, end).indexOf(0x0a);
    i = next < 0 ? -1 : i + 1 + next;
  }
  w.pos = end;
  w.byte(0x0a);
}

/** The longest prefix of buf[start, start+max) that does not end inside a UTF-8 sequence. */
function utf8Cut(buf: Buffer, start: number, max: number): number {
  let n = max;
  // Back up over continuation bytes (10xxxxxx) to the lead byte of the character cut in two.
  let k = 0;
  while (n > 0 && k < 4 && (buf[start + n]! & 0xc0) === 0x80) { n--; k++; }
  return n;
}

export const syslogDestinationKind: DestinationKind = {
  ...syslogDestinationInfo,
  build: (config, ctx) => new SyslogDestination(config as SyslogDestinationConfig, { name: ctx.name, baseDir: ctx.baseDir }),
};
