// RFC 6587 framing of a syslog byte stream: octet counting and newline framing, per frame.
//
// A frame that starts with a digit 1-9 is octet-counted ("LEN SP MSG"); anything else runs
// to the next LF. Both may alternate on one connection. Memory per connection is bounded by
// max_message_bytes: longer frames are truncated or rejected, never buffered whole.

export type Framing = 'auto' | 'lf' | 'octet';
export type OversizePolicy = 'truncate' | 'reject';

/** Receives each complete message as a byte range; `truncated` marks a cut oversize frame. */
export type FrameHandler = (buf: Buffer, start: number, end: number, truncated: boolean) => void;

export type FramingProblem =
  | 'oversize'          // frame longer than max_message_bytes (truncated or rejected by policy)
  | 'bad_octet_count'   // digits not followed by a space, or a count of more than 10 digits
  | 'incomplete_frame'; // the stream ended inside an octet-counted frame

export type ProblemHandler = (problem: FramingProblem, detail: string) => void;

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const MAX_COUNT_DIGITS = 10;

export class StreamFramer {
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Bytes needed before the pending octet frame can be handled; 0 = unknown (LF frame or partial header). */
  private need = 0;
  /** Bytes of an oversize octet frame still to discard. */
  private skip = 0;
  /** Discarding the rest of an oversize LF frame, up to the next LF. */
  private skipLine = false;
  /** The pending bytes are the start of a newline-framed line (else of an octet-counted frame). */
  private pendingIsLine = false;

  constructor(
    private readonly maxBytes: number,
    private readonly policy: OversizePolicy,
    private readonly framing: Framing,
    private readonly onFrame: FrameHandler,
    private readonly onProblem: ProblemHandler,
  ) {}

  push(chunk: Buffer): void {
    let p = this.skipAhead(chunk, 0);
    if (p === chunk.length) return;
    if (this.partsLen > 0) {
      p = this.finishPending(chunk, p);
      if (p < 0) return;
      p = this.skipAhead(chunk, p);
    }
    this.scan(chunk, p);
  }

  /** Skips what an oversize frame still owes (bytes, or the rest of a line); returns where to go on. */
  private skipAhead(chunk: Buffer, p: number): number {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length - p);
      this.skip -= n;
      p += n;
    }
    if (this.skipLine && p < chunk.length) {
      const i = chunk.indexOf(LF, p);
      if (i < 0) return chunk.length;
      this.skipLine = false;
      p = i + 1;
    }
    return p;
  }

  /**
   * Completes the frame begun in earlier chunks with the bytes it needs from `chunk`, copying
   * only those (not the whole chunk), and returns where the next frame starts in `chunk`;
   * -1 when the frame is still incomplete.
   */
  private finishPending(chunk: Buffer, p: number): number {
    const avail = chunk.length - p;
    let take: number;
    if (this.pendingIsLine) {
      const i = chunk.indexOf(LF, p);
      take = i < 0 ? -1 : i + 1 - p;
    } else if (this.need > 0) {
      take = this.partsLen + avail >= this.need ? this.need - this.partsLen : -1;
    } else {
      take = avail; // a count split across reads: read it again with everything that follows
    }
    if (take < 0) {
      this.parts.push(p === 0 ? chunk : chunk.subarray(p));
      this.partsLen += avail;
      if (this.pendingIsLine) this.checkPendingLine();
      return -1;
    }
    this.parts.push(chunk.subarray(p, p + take));
    const head = Buffer.concat(this.parts, this.partsLen + take);
    const line = this.pendingIsLine;
    this.parts = [];
    this.partsLen = 0;
    this.need = 0;
    this.pendingIsLine = false;
    // A pending line is finished without reading its start again as an octet count.
    if (line) this.line(head, 0);
    else this.scan(head, 0);
    return p + take;
  }

  /** The stream ended: hand over a last unterminated line, report a cut octet frame. */
  end(): void {
    if (this.partsLen === 0) return;
    const buf = Buffer.concat(this.parts, this.partsLen);
    this.parts = [];
    this.partsLen = 0;
    const need = this.need;
    this.need = 0;
    const line = this.pendingIsLine;
    this.pendingIsLine = false;
    if (!line) {
      const sp = buf.indexOf(SP);
      this.onProblem('incomplete_frame', `stream ended inside an octet-counted frame (${buf.length} of ${need || '?'} bytes)`);
      if (sp > 0 && sp + 1 < buf.length) this.onFrame(buf, sp + 1, buf.length, true);
      return;
    }
    const e = trimEnd(buf, 0, buf.length);
    if (e > 0) this.onFrame(buf, 0, e, false);
  }

  private checkPendingLine(): void {
    if (this.partsLen <= this.maxBytes) return;
    const buf = Buffer.concat(this.parts, this.partsLen);
    this.parts = [];
    this.partsLen = 0;
    this.onProblem('oversize', `line longer than ${this.maxBytes} bytes`);
    if (this.policy === 'truncate') this.onFrame(buf, 0, this.maxBytes, true);
    this.skipLine = true;
  }

  private isOctetStart(c: number): boolean {
    return this.framing !== 'lf' && c >= 0x31 && c <= 0x39;
  }

  /** Keeps an unfinished frame; `need` = its total length when known (octet-counted). */
  private hold(buf: Buffer, p: number, need: number, line: boolean): void {
    const rest = buf.subarray(p);
    this.parts.push(rest);
    this.partsLen = rest.length;
    this.need = need;
    this.pendingIsLine = line;
    if (line) this.checkPendingLine();
  }

  /** Handles the newline-framed line starting at p; returns where the next frame starts, or buf.length if held. */
  private line(buf: Buffer, p: number): number {
    const i = buf.indexOf(LF, p);
    if (i < 0) { this.hold(buf, p, 0, true); return buf.length; }
    const max = this.maxBytes;
    const e = trimEnd(buf, p, i);
    if (e - p > max) {
      this.onProblem('oversize', `line of ${e - p} bytes exceeds max_message_bytes ${max}; ${this.policy === 'truncate' ? 'truncated' : 'rejected'}`);
      if (this.policy === 'truncate') this.onFrame(buf, p, p + max, true);
    } else if (e > p) this.onFrame(buf, p, e, false);
    return i + 1;
  }

  private scan(buf: Buffer, p: number): void {
    const len = buf.length;
    const max = this.maxBytes;
    while (p < len) {
      const c = buf[p]!;
      if (c === LF || c === CR || c === NUL) { p++; continue; }
      if (this.isOctetStart(c)) {
        let q = p;
        let n = 0;
        while (q < len && q - p <= MAX_COUNT_DIGITS && buf[q]! >= 0x30 && buf[q]! <= 0x39) n = n * 10 + buf[q++]! - 0x30;
        if (q === len && q - p <= MAX_COUNT_DIGITS) { this.hold(buf, p, 0, false); return; }
        if (buf[q] === SP && q - p <= MAX_COUNT_DIGITS) {
          const body = q + 1;
          if (n <= max) {
            if (body + n > len) { this.hold(buf, p, body - p + n, false); return; }
            // Senders such as loggen end the counted message with LF; it is not part of MSG.
            const e = trimEnd(buf, body, body + n);
            if (e > body) this.onFrame(buf, body, e, false);
            p = body + n;
            continue;
          }
          if (this.policy === 'truncate') {
            if (body + max > len) { this.hold(buf, p, body - p + max, false); return; }
            this.onProblem('oversize', `octet count ${n} exceeds max_message_bytes ${max}; truncated`);
            this.onFrame(buf, body, body + max, true);
            p = body + max;
            this.skip = n - max;
          } else {
            this.onProblem('oversize', `octet count ${n} exceeds max_message_bytes ${max}; rejected`);
            p = body;
            this.skip = n;
          }
          const k = Math.min(this.skip, len - p);
          this.skip -= k;
          p += k;
          continue;
        }
        this.onProblem('bad_octet_count', `"${buf.toString('latin1', p, Math.min(q + 1, p + 16))}" is not a valid octet count; read as a newline-framed line`);
      } else if (this.framing === 'octet') {
        this.onProblem('bad_octet_count', 'frame does not start with an octet count; read as a newline-framed line');
      }
      p = this.line(buf, p);
    }
  }
}

/** End of buf[s, e) without trailing LF, CR and NUL (line terminators some senders add). */
function trimEnd(buf: Buffer, s: number, e: number): number {
  while (e > s) {
    const c = buf[e - 1];
    if (c !== LF && c !== CR && c !== NUL) break;
    e--;
  }
  return e;
}
