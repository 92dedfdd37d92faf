// Builds batches of test messages fast: one template per run, copied in bulk, then only the
// seq digits (per message) and the timestamp (per batch) are rewritten in place.

import { usageError } from './errors.js';

export type MessageFormat = 'rfc5424' | 'rfc3164';
/** How each message is delimited on the wire: LF-terminated, RFC 6587 octet counting, or not at all (datagrams). */
export type WireFraming = 'lf' | 'octet' | 'none';

export interface EncoderOptions {
  format: MessageFormat;
  framing: WireFraming;
  /** Bytes per message, counted as loggen -s does (see messageSize); 0 = no padding. */
  size: number;
  message: string;
  hostname: string;
  appname: string;
  procid: string;
  facility: number;
  severity: number;
  runId: string;
  /** Highest seq this run can use; fixes the digit count so every message has the same length. */
  maxSeq: number;
}

/** `count` messages back to back in `buf`, each exactly `stride` bytes including its framing. */
export interface MessageBatch {
  readonly buf: Buffer;
  readonly count: number;
  readonly stride: number;
}

// The SD-ID carries the private enterprise number of the sluice project's test data, so a
// receiver can find seq and run in structured data as well as in the text.
const SD_ID = 'sluice@32473';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC5424_STAMP_LEN = 24; // 2026-11-23T18:36:06.123Z
const RFC3164_STAMP_LEN = 15; // Nov 23 18:36:06

/**
 * Where --size counts: with lf framing the trailing LF is part of the N bytes (as loggen -s
 * counts it); with octet framing N is the octet count, so the frame is "N " plus N bytes; a
 * datagram is N bytes.
 */
export function framingOverhead(framing: WireFraming): number {
  return framing === 'lf' ? 1 : 0;
}

function checkToken(name: string, value: string, max: number): void {
  if (value.length === 0 || value.length > max || !/^[\x21-\x7e]+$/.test(value)) {
    throw usageError(`--${name} "${value}" must be 1-${max} printable ASCII characters without spaces`);
  }
}

/** A template assembled piece by piece, remembering byte offsets of the parts that change. */
class TemplateBuilder {
  private readonly parts: Buffer[] = [];
  length = 0;
  add(s: string): number {
    const at = this.length;
    const b = Buffer.from(s, 'utf8');
    this.parts.push(b);
    this.length += b.length;
    return at;
  }
  build(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

export class MessageEncoder {
  /** Bytes per message on the wire, framing included. */
  readonly stride: number;
  /** Bytes per message as --size counts them. */
  readonly messageSize: number;
  private readonly template: Buffer;
  private readonly width: number;
  private readonly seqAt1: number;
  private readonly seqAt2: number;
  private readonly stampAt: number;
  private readonly format: MessageFormat;
  private stampKey = -1;

  constructor(o: EncoderOptions) {
    checkToken('hostname', o.hostname, 255);
    checkToken('appname', o.appname, 48);
    if (!Number.isInteger(o.facility) || o.facility < 0 || o.facility > 23) throw usageError(`--facility ${o.facility} is not 0-23`);
    if (!Number.isInteger(o.severity) || o.severity < 0 || o.severity > 7) throw usageError(`--severity ${o.severity} is not 0-7`);
    if (/[\r\n]/.test(o.message)) throw usageError('--message must not contain CR or LF: they would split the message at the receiver');
    this.format = o.format;
    this.width = String(Math.max(0, Math.floor(o.maxSeq))).length;

    const assemble = (pad: string): { b: TemplateBuilder; seqAt1: number; seqAt2: number; stampAt: number } => {
      const b = new TemplateBuilder();
      const digits = '0'.repeat(this.width);
      const pri = `<${o.facility * 8 + o.severity}>`;
      let seqAt1: number;
      let stampAt: number;
      if (o.format === 'rfc5424') {
        b.add(`${pri}1 `);
        stampAt = b.add(' '.repeat(RFC5424_STAMP_LEN));
        b.add(` ${o.hostname} ${o.appname} ${o.procid} - [${SD_ID} seq="`);
        seqAt1 = b.add(digits);
        b.add(`" run="${o.runId}"] seq=`);
      } else {
        b.add(pri);
        stampAt = b.add(' '.repeat(RFC3164_STAMP_LEN));
        b.add(` ${o.hostname} ${o.appname}[${o.procid}]: seq=`);
        seqAt1 = -1;
      }
      const seqAt2 = b.add(digits);
      b.add(` run=${o.runId}${o.message ? ' ' + o.message : ''}${pad}`);
      return { b, seqAt1, seqAt2, stampAt };
    };

    const overhead = framingOverhead(o.framing);
    let t = assemble('');
    const natural = t.b.length + overhead;
    if (o.size > 0) {
      if (o.size < natural) {
        throw usageError(`--size ${o.size} is smaller than the message without padding (${natural} bytes); raise --size or shorten --message/--hostname`);
      }
      const n = o.size - natural;
      // Dots after a space keep the original text intact for a receiver that splits words.
      if (n > 0) t = assemble(n === 1 ? '.' : ' ' + '.'.repeat(n - 1));
    }
    const body = t.b.build();
    this.messageSize = body.length + overhead;
    const head = o.framing === 'octet' ? Buffer.from(`${body.length} `, 'latin1') : Buffer.alloc(0);
    const tail = o.framing === 'lf' ? Buffer.from('\n', 'latin1') : Buffer.alloc(0);
    this.template = Buffer.concat([head, body, tail]);
    this.stride = this.template.length;
    this.stampAt = head.length + t.stampAt;
    this.seqAt2 = head.length + t.seqAt2;
    // RFC 3164 has the seq once; writing the same place twice keeps the hot loop branch-free.
    this.seqAt1 = t.seqAt1 < 0 ? this.seqAt2 : head.length + t.seqAt1;
  }

  /** How many messages fit in a write of about `bytes` (at least one). */
  perBatch(bytes: number): number {
    return Math.max(1, Math.floor(bytes / this.stride));
  }

  /** A new buffer (never reused: a socket may still hold the previous one) with `count` messages. */
  encode(firstSeq: number, count: number, nowMs: number): MessageBatch {
    this.stamp(nowMs);
    const stride = this.stride;
    const total = stride * count;
    const buf = Buffer.allocUnsafe(total);
    this.template.copy(buf, 0);
    // Doubling copies: log2(count) native calls instead of one per message.
    for (let filled = stride; filled < total; ) {
      const n = Math.min(filled, total - filled);
      buf.copy(buf, filled, 0, n);
      filled += n;
    }
    const w = this.width;
    const a = this.seqAt1;
    const b = this.seqAt2;
    for (let i = 0, base = 0; i < count; i++, base += stride) {
      let n = firstSeq + i;
      for (let d = w - 1; d >= 0; d--) {
        const c = 48 + (n % 10);
        n = Math.floor(n / 10);
        buf[base + a + d] = c;
        buf[base + b + d] = c;
      }
    }
    return { buf, count, stride };
  }

  /** Rewrites the template's timestamp when it changed since the last batch. */
  private stamp(nowMs: number): void {
    const key = this.format === 'rfc5424' ? nowMs : Math.floor(nowMs / 1000);
    if (key === this.stampKey) return;
    this.stampKey = key;
    const d = new Date(nowMs);
    const text = this.format === 'rfc5424' ? d.toISOString() : rfc3164Stamp(d);
    this.template.write(text, this.stampAt, 'latin1');
  }
}

/** "Mmm dd hh:mm:ss" in local time, the day padded with a space as BSD syslog writes it. */
function rfc3164Stamp(d: Date): string {
  const two = (n: number): string => (n < 10 ? '0' : '') + n;
  const day = d.getDate();
  return `${MONTHS[d.getMonth()]} ${day < 10 ? ' ' : ''}${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
