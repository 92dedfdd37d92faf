// Turns framed byte ranges into parsed events, checking UTF-8 once per chunk where it can.

import { isUtf8 } from 'node:buffer';
import { parseSyslog, type ParseMode } from '../../codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import type { SourceStats } from '../stats.js';

export class MessageDecoder {
  events: LogEvent[] = [];
  private now = 0;
  private chunk: Buffer | null = null;
  private chunkValid = true;
  private bytes = 0;

  constructor(
    public source: EventSource,
    private readonly mode: ParseMode,
    private readonly stats: SourceStats,
  ) {}

  /** Call before the framer sees `chunk`: one UTF-8 check covers every message inside it. */
  begin(chunk: Buffer, now: number): void {
    this.now = now;
    this.chunkValid = isUtf8(chunk);
    this.chunk = chunk;
  }

  /** A framer's FrameHandler. */
  readonly frame = (buf: Buffer, start: number, end: number, truncated: boolean): void => {
    const ev = new LogEvent(this.source, this.now);
    const problem = parseSyslog(ev, buf, start, end, this.mode);
    if (problem !== null) this.stats.error('parsing', 'parse_error', `message is not ${this.mode}: ${problem}; kept whole as MSG`, { peer: this.source.address });
    if (truncated) ev.flags |= EventFlag.TRUNCATED;
    // The chunk's check covers a whole frame inside it; a frame assembled from several
    // reads, or cut short (possibly inside a character), is checked on its own.
    const known = buf === this.chunk && !truncated && this.chunkValid;
    if (!known && !isUtf8(buf.subarray(start, end))) {
      ev.flags |= EventFlag.INVALID_UTF8;
      this.stats.error('decoding', 'invalid_utf8', 'message is not valid UTF-8; stored as received, JSON shows U+FFFD', { peer: this.source.address });
    }
    this.bytes += end - start;
    this.events.push(ev);
  };

  /** Hands over the events decoded so far and counts them. */
  take(): LogEvent[] {
    const out = this.events;
    if (out.length > 0) {
      this.events = [];
      this.stats.received.inc(out.length);
      this.stats.bytes.inc(this.bytes);
      this.bytes = 0;
    }
    return out;
  }
}
