// RELP frames (librelp's wire format): an incremental, bounded parser on Buffers and an encoder.
//
//   RELP-FRAME = TXNR SP COMMAND SP DATALEN [SP DATA] LF
//   TXNR = 1*9DIGIT (0 only for hints such as serverclose), COMMAND = 1*32ALPHA,
//   DATALEN = 1*9DIGIT; with DATALEN 0 there is neither the SP nor DATA.
//
// The parser is as strict as librelp's (relpframe.c): any byte out of place is a framing
// error, and the connection must be dropped, because nothing after it can be trusted.

import type { ByteWriter } from '../byte-writer.js';

export const MAX_TXNR = 999_999_999;

/** The transaction number after `t`: monotonic, wrapping from 999999999 back to 1. */
export function nextTxnr(t: number): number {
  return t >= MAX_TXNR ? 1 : t + 1;
}

/**
 * One complete frame. DATA is buf[start, end): a view into the chunk it arrived in when it
 * fits in one, otherwise a buffer of its own. `truncated`: DATALEN was over the parser's
 * limit and only its first maxData bytes are kept (the rest was read and dropped).
 */
export type RelpFrameHandler = (txnr: number, command: string, buf: Buffer, start: number, end: number, truncated: boolean) => void;

export type OversizeMode = 'error' | 'truncate';

const SP = 0x20;
const LF = 0x0a;
const MAX_DIGITS = 9;
const MAX_COMMAND = 32;

const enum State { TXNR, COMMAND, DATALEN, DATA, SKIP, TRAILER, FAILED }

const EMPTY = Buffer.alloc(0);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function show(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
}

export class RelpFrameParser {
  /** Why the stream is unusable, or null. Once set, push() ignores everything. */
  error: string | null = null;
  private state: State = State.TXNR;
  private digits = 0;
  private txnr = 0;
  private command = '';
  private dataLen = 0;
  /** Data of a frame that spans chunks: `keep` bytes go to `data`, the rest (oversize) is skipped. */
  private data: Buffer = EMPTY;
  private have = 0;
  private keep = 0;
  private skip = 0;
  private truncated = false;
  private halted = false;
  /** Bytes consumed so far, for error messages. */
  private offset = 0;

  /**
   * @param maxData largest DATA accepted whole. Over it: 'error' fails the stream (before
   *   any of it is buffered); 'truncate' keeps maxData bytes and reads past the rest.
   */
  constructor(private readonly maxData: number, private readonly oversize: OversizeMode, private readonly onFrame: RelpFrameHandler) {}

  /** True while a frame has begun but not ended (its bytes would be lost if the stream ended here). */
  get midFrame(): boolean {
    return this.state !== State.TXNR || this.digits > 0;
  }

  /** Stops delivering frames (after `close`, or when the connection is going away). */
  halt(): void {
    this.halted = true;
  }

  /** Parses a chunk; returns false if the stream is (now) broken or halted. */
  push(chunk: Buffer): boolean {
    if (this.error !== null || this.halted) return false;
    const n = chunk.length;
    let p = 0;
    while (p < n && !this.halted) {
      switch (this.state) {
        case State.TXNR: {
          const c = chunk[p]!;
          if (isDigit(c)) {
            if (++this.digits > MAX_DIGITS) return this.fail(p, 'TXNR has more than 9 digits');
            this.txnr = this.txnr * 10 + c - 0x30;
          } else if (c === SP && this.digits > 0) {
            this.state = State.COMMAND;
            this.digits = 0;
          } else {
            return this.fail(p, `expected a digit of TXNR${this.digits > 0 ? ' or a space' : ''}, got ${show(c)}`);
          }
          p++;
          break;
        }
        case State.COMMAND: {
          // Commands are short: gather the letters of this chunk in one slice.
          const s = p;
          while (p < n && isAlpha(chunk[p]!)) p++;
          if (this.command.length + (p - s) > MAX_COMMAND) return this.fail(p, 'COMMAND is longer than 32 letters');
          if (p > s) this.command += chunk.toString('latin1', s, p);
          if (p === n) break;
          const c = chunk[p]!;
          if (c !== SP || this.command.length === 0) return this.fail(p, `expected a letter of COMMAND${this.command.length > 0 ? ' or a space' : ''}, got ${show(c)}`);
          this.state = State.DATALEN;
          p++;
          break;
        }
        case State.DATALEN: {
          const c = chunk[p]!;
          if (isDigit(c)) {
            if (++this.digits > MAX_DIGITS) return this.fail(p, 'DATALEN has more than 9 digits');
            this.dataLen = this.dataLen * 10 + c - 0x30;
            p++;
            break;
          }
          if (this.digits === 0) return this.fail(p, `expected a digit of DATALEN, got ${show(c)}`);
          if (this.dataLen === 0) {
            // No data: the trailer follows the digits directly (librelp writes "N close 0\n").
            this.state = State.TRAILER;
            break;
          }
          if (c !== SP) return this.fail(p, `expected a space after DATALEN ${this.dataLen}, got ${show(c)}`);
          p++;
          if (this.dataLen > this.maxData) {
            if (this.oversize === 'error') return this.fail(p, `DATALEN ${this.dataLen} is over the limit of ${this.maxData} bytes`);
            this.truncated = true;
            this.keep = this.maxData;
            this.skip = this.dataLen - this.maxData;
          } else {
            this.truncated = false;
            this.keep = this.dataLen;
            this.skip = 0;
          }
          // Fast path: the whole frame is in this chunk; hand over a view, copy nothing.
          if (!this.truncated && p + this.dataLen < n) {
            if (chunk[p + this.dataLen] !== LF) return this.fail(p + this.dataLen, `expected LF after ${this.dataLen} bytes of DATA, got ${show(chunk[p + this.dataLen]!)}`);
            const s = p;
            p += this.dataLen + 1;
            this.emit(chunk, s, s + this.dataLen);
            break;
          }
          this.data = Buffer.allocUnsafe(this.keep);
          this.have = 0;
          this.state = State.DATA;
          break;
        }
        case State.DATA: {
          const take = Math.min(this.keep - this.have, n - p);
          chunk.copy(this.data, this.have, p, p + take);
          this.have += take;
          p += take;
          if (this.have === this.keep) this.state = this.skip > 0 ? State.SKIP : State.TRAILER;
          break;
        }
        case State.SKIP: {
          const take = Math.min(this.skip, n - p);
          this.skip -= take;
          p += take;
          if (this.skip === 0) this.state = State.TRAILER;
          break;
        }
        case State.TRAILER: {
          const c = chunk[p]!;
          if (c !== LF) return this.fail(p, `expected LF at the end of the frame, got ${show(c)}`);
          p++;
          const data = this.data;
          this.data = EMPTY;
          this.emit(data, 0, this.dataLen === 0 ? 0 : this.keep);
          break;
        }
        case State.FAILED:
          return false;
      }
    }
    this.offset += n;
    return !this.halted;
  }

  private emit(buf: Buffer, start: number, end: number): void {
    const { txnr, command, truncated } = this;
    this.state = State.TXNR;
    this.digits = 0;
    this.txnr = 0;
    this.command = '';
    this.dataLen = 0;
    this.truncated = false;
    this.onFrame(txnr, command, buf, start, end, truncated);
  }

  private fail(p: number, why: string): false {
    this.state = State.FAILED;
    this.data = EMPTY;
    this.error = `malformed RELP frame at byte ${this.offset + p} of the stream: ${why}`;
    return false;
  }
}

/** Appends one frame to `w`. `data` may be a string (UTF-8) or a byte range. */
export function writeFrame(w: ByteWriter, txnr: number, command: string, data: Buffer | string | null, start = 0, end?: number): void {
  w.text(String(txnr));
  w.byte(SP);
  w.text(command);
  w.byte(SP);
  if (data === null) {
    w.text('0');
  } else if (typeof data === 'string') {
    const len = Buffer.byteLength(data);
    w.text(String(len));
    if (len > 0) { w.byte(SP); w.text(data); }
  } else {
    const e = end ?? data.length;
    w.text(String(e - start));
    if (e > start) { w.byte(SP); w.range(data, start, e); }
  }
  w.byte(LF);
}

/** One frame as a new Buffer (for the rare frames: open, close, rsp with text). */
export function encodeFrame(txnr: number, command: string, data: Buffer | string | null = null): Buffer {
  const body = data === null ? EMPTY : typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const head = body.length > 0 ? `${txnr} ${command} ${body.length} ` : `${txnr} ${command} 0`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from([LF])]);
}
