// Turns a batch into HTTP request bodies of one mode (Loggly single/bulk, NDJSON, JSON array) within the size limits.

import type { LogEvent } from '../../event/log-event.js';
import type { HttpMode } from './config.js';

export type BodyKind = 'json' | 'message';

export interface EncoderOptions {
  mode: HttpMode;
  body: BodyKind;
  maxBatchBytes: number;
  maxEventBytes: number;
}

/** One request: its uncompressed body and the events it carries. */
export interface EncodedRequest {
  body: Buffer;
  events: LogEvent[];
}

export interface EncodedBatch {
  requests: EncodedRequest[];
  /** Events not sent because they are too large, with the reason for the dead-letter file. */
  oversize: LogEvent[];
  oversizeReason: string;
}

const NL = Buffer.from('\n');
const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

/** Content-Type of a request body. Loggly documents text/plain for bulk; it detects JSON per line itself. */
export function contentType(mode: HttpMode, body: BodyKind): string {
  switch (mode) {
    case 'loggly_single': return body === 'json' ? 'application/json' : 'text/plain; charset=utf-8';
    case 'loggly_bulk': return 'text/plain; charset=utf-8';
    case 'ndjson': return 'application/x-ndjson';
    case 'json_array': return 'application/json';
  }
}

/** Bytes of one event as it appears inside a body of `mode`. */
export function encodeEvent(ev: LogEvent, mode: HttpMode, body: BodyKind): Buffer {
  if (body === 'json') return Buffer.from(JSON.stringify(ev.toJSON()), 'utf8');
  const text = ev.message ?? '';
  if (mode === 'json_array') return Buffer.from(JSON.stringify(text), 'utf8');
  if (mode === 'loggly_single') return Buffer.from(text, 'utf8');
  // Line-oriented bodies: a raw newline would split the message into two events downstream.
  return Buffer.from(text.replace(/\r/g, '\\r').replace(/\n/g, '\\n'), 'utf8');
}

/** Framing bytes a request of `mode` adds around n events. */
function overhead(mode: HttpMode, n: number): number {
  switch (mode) {
    case 'loggly_single': return 0;
    case 'loggly_bulk': return n - 1; // separators only, as Loggly's bulk examples
    case 'ndjson': return n; // every line ends with \n
    case 'json_array': return 2 + n - 1;
  }
}

function join(mode: HttpMode, parts: Buffer[]): Buffer {
  if (mode === 'loggly_single') return parts[0]!;
  const out: Buffer[] = [];
  if (mode === 'json_array') out.push(OPEN);
  for (let i = 0; i < parts.length; i++) {
    if (mode === 'ndjson') { out.push(parts[i]!, NL); continue; }
    if (i > 0) out.push(mode === 'json_array' ? COMMA : NL);
    out.push(parts[i]!);
  }
  if (mode === 'json_array') out.push(CLOSE);
  return Buffer.concat(out);
}

/**
 * Encodes a batch: one request per event in loggly_single, otherwise as few requests as
 * fit under maxBatchBytes, keeping batch order. An event over maxEventBytes (or too big
 * to fit a request on its own) is set aside, never sent.
 */
export function encodeBatch(events: LogEvent[], o: EncoderOptions): EncodedBatch {
  const requests: EncodedRequest[] = [];
  const oversize: LogEvent[] = [];
  let oversizeReason = '';
  let parts: Buffer[] = [];
  let group: LogEvent[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (group.length === 0) return;
    requests.push({ body: join(o.mode, parts), events: group });
    parts = [];
    group = [];
    bytes = 0;
  };
  for (const ev of events) {
    const b = encodeEvent(ev, o.mode, o.body);
    const alone = b.length + overhead(o.mode, 1);
    if (b.length > o.maxEventBytes || alone > o.maxBatchBytes) {
      oversize.push(ev);
      oversizeReason = b.length > o.maxEventBytes
        ? `event of ${b.length} bytes exceeds max_event_bytes ${o.maxEventBytes} (Loggly's per-event limit is 1MB); not sent`
        : `event of ${b.length} bytes does not fit in max_batch_bytes ${o.maxBatchBytes}; not sent`;
      continue;
    }
    if (o.mode === 'loggly_single') {
      requests.push({ body: b, events: [ev] });
      continue;
    }
    if (group.length > 0 && bytes + b.length + overhead(o.mode, group.length + 1) > o.maxBatchBytes) flush();
    parts.push(b);
    group.push(ev);
    bytes += b.length;
  }
  flush();
  return { requests, oversize, oversizeReason };
}
