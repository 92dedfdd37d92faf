// One RELP server session: open negotiation, syslog frames into batches, rsp in txnr order after delivery.
//
// The point of RELP is the acknowledgement, so `rsp 200` for a message leaves only once the
// message's batch is safely with every destination (BatchAck settled 'delivered'). Frames
// read in one chunk form one batch; answers are queued in txnr order and written as soon as
// everything before them is settled, since RELP requires answers in command order.

import { isUtf8 } from 'node:buffer';
import type net from 'node:net';
import { ByteWriter } from '../../codec/byte-writer.js';
import { nextTxnr, RelpFrameParser } from '../../codec/relp/frame.js';
import { formatOffers, offeredVersion, parseOffers, RELP_SOFTWARE, RELP_VERSION, rspText } from '../../codec/relp/messages.js';
import { parseSyslog } from '../../codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import { BatchAck, type AckOutcome } from '../../pipeline/acknowledgement.js';
import type { SourceStats } from '../stats.js';
import type { SourceContext } from '../types.js';
import type { RelpSourceConfig } from './config.js';

/** A batch of this session's syslog frames, dispatched with one BatchAck. */
interface Batch {
  outcome: AckOutcome | null;
}

/** One answer owed to the client, in txnr order. */
interface Reply {
  txnr: number;
  /** Set for syslog frames that went to the router: the answer waits for the batch. */
  batch: Batch | null;
  /** The rsp DATA when it does not depend on a batch (open, close, unknown command, oversize reject). */
  data: string | null;
  /** After this answer the session ends: serverclose hint, then close. */
  last: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SERVERCLOSE = Buffer.from('0 serverclose 0\n', 'latin1');
/** A client that does not close after our serverclose does not keep the slot. */
const LINGER_MS = 5000;
/** open/close frames are read whole up to this size even when max_message_bytes is smaller. */
const CONTROL_FRAME_BYTES = 16 * 1024;
/** The answer when a destination could not take a batch (e.g. its buffer is full under drop_newest). */
const REJECTED_TEXT = '500 not stored: a destination could not take the message';

export class RelpSession {
  private readonly parser: RelpFrameParser;
  private readonly out = new ByteWriter(4096);
  private opened = false;
  private expected = 1;
  private replies: Reply[] = [];
  private head = 0;
  /** Events of the chunk being read, dispatched together at its end. */
  private events: LogEvent[] = [];
  private eventBytes = 0;
  private batch: Batch | null = null;
  private now = 0;
  private chunk: Buffer | null = null;
  private chunkValid: boolean | null = null;
  private waitingRouter = false;
  private waitingDrain = false;
  /** No more input is read; the session ends once the queued answers are out. */
  private ending = false;
  private finished = false;
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly source: EventSource,
    private readonly ctx: SourceContext,
    private readonly cfg: RelpSourceConfig,
    private readonly stats: SourceStats,
  ) {
    this.parser = new RelpFrameParser(Math.max(cfg.max_message_bytes, CONTROL_FRAME_BYTES), 'truncate', this.frame);
    socket.setKeepAlive(true, 60_000);
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('end', () => this.end());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.stats.error('reading', e.code === 'ECONNRESET' ? 'connection_reset' : 'socket_error', `RELP connection error: ${e.message}`, { peer: this.peer }, 'info');
    });
    socket.on('close', () => {
      this.finished = true;
      // Unanswered frames are simply resent by the client on its next session.
      this.parser.halt();
    });
    socket.on('drain', () => {
      if (!this.waitingDrain) return;
      this.waitingDrain = false;
      this.resume();
    });
  }

  private get peer(): string {
    return `${this.source.address ?? ''}:${this.source.port ?? ''}`;
  }

  private data(chunk: Buffer): void {
    if (this.ending || this.finished) return;
    this.now = Date.now();
    this.chunk = chunk;
    this.chunkValid = null;
    const ok = this.parser.push(chunk);
    this.chunk = null;
    this.dispatch();
    if (!ok && this.parser.error !== null && !this.ending) {
      this.stats.error('framing', 'relp_frame', `${this.parser.error}; closing the session (serverclose)`, { peer: this.peer });
      this.end();
    }
    this.flush();
  }

  /** The frame handler: every frame in order, within one chunk. */
  private readonly frame = (txnr: number, command: string, buf: Buffer, start: number, end: number, truncated: boolean): void => {
    if (txnr === 0) {
      // A hint from the client: hints are never answered, and none is defined client → server.
      this.stats.error('protocol', 'relp_hint_ignored', `RELP hint "${command}" from a client ignored`, { peer: this.peer }, 'info');
      return;
    }
    if (txnr !== this.expected) {
      this.protocolError(`txnr ${txnr} out of sequence (expected ${this.expected})`);
      return;
    }
    this.expected = nextTxnr(txnr);
    if (command === 'syslog') {
      if (!this.opened) {
        this.reply(txnr, '500 command disabled: the session is not open', true);
        this.protocolError('syslog before open');
        return;
      }
      if (end - start > this.cfg.max_message_bytes) {
        end = start + this.cfg.max_message_bytes;
        truncated = true;
      }
      if (truncated && this.cfg.oversize === 'reject') {
        this.stats.dropped('oversize', 1);
        this.stats.error('framing', 'oversize', `message over max_message_bytes (${this.cfg.max_message_bytes}) rejected with rsp 500`, { peer: this.peer });
        this.reply(txnr, `500 message longer than ${this.cfg.max_message_bytes} bytes`, false);
        return;
      }
      this.message(buf, start, end, truncated);
      const batch = this.batch ?? (this.batch = { outcome: null });
      this.replies.push({ txnr, batch, data: null, last: false });
      return;
    }
    if (command === 'open') {
      this.open(txnr, buf.toString('utf8', start, end));
      return;
    }
    if (command === 'close') {
      // rsp with no data, then serverclose and close (librelp's server does the same).
      this.reply(txnr, '', true);
      return;
    }
    this.stats.error('protocol', 'relp_unknown_command', `unknown RELP command "${command}" answered with rsp 500`, { peer: this.peer });
    this.reply(txnr, `500 unknown command ${command}`, false);
  };

  private open(txnr: number, text: string): void {
    if (this.opened) {
      this.reply(txnr, '200 connection already open - ignored', false);
      return;
    }
    const offers = parseOffers(text);
    const version = offeredVersion(offers);
    if (version === null) {
      this.stats.error('protocol', 'relp_open', 'RELP open without a valid relp_version offer; session refused', { peer: this.peer, offers: text.slice(0, 200) });
      this.reply(txnr, '500 error: no valid relp_version offer', true);
      return;
    }
    if (!(offers.get('commands') ?? []).includes('syslog')) {
      this.stats.error('protocol', 'relp_open', 'RELP client does not offer the syslog command; session refused', { peer: this.peer, offers: text.slice(0, 200) });
      this.reply(txnr, '500 required command not supported by client', true);
      return;
    }
    this.opened = true;
    const accepted = formatOffers([
      ['relp_version', [String(Math.min(version, RELP_VERSION))]],
      ['relp_software', [RELP_SOFTWARE]],
      ['commands', ['syslog']],
    ]);
    this.reply(txnr, '200 OK\n' + accepted, false);
  }

  private reply(txnr: number, data: string, last: boolean): void {
    this.replies.push({ txnr, batch: null, data, last });
    if (last) this.stopReading();
  }

  /** Parses one message into an event of the current chunk's batch. */
  private message(buf: Buffer, start: number, end: number, truncated: boolean): void {
    // Senders such as rsyslog's RSYSLOG_SyslogProtocol23Format end messages with LF; drop it.
    while (end > start) {
      const c = buf[end - 1];
      if (c !== LF && c !== CR && c !== NUL) break;
      end--;
    }
    const ev = new LogEvent(this.source, this.now);
    const problem = parseSyslog(ev, buf, start, end, this.cfg.format);
    if (problem !== null) this.stats.error('parsing', 'parse_error', `message is not ${this.cfg.format}: ${problem}; kept whole as MSG`, { peer: this.peer });
    if (truncated) {
      ev.flags |= EventFlag.TRUNCATED;
      this.stats.dropped('truncated', 1);
      this.stats.error('framing', 'oversize', `message over max_message_bytes (${this.cfg.max_message_bytes}) truncated`, { peer: this.peer });
    }
    // A chunk that is valid UTF-8 as a whole holds only valid messages: frames are bounded
    // by ASCII bytes, so none can end inside a character. Check per message otherwise.
    let valid: boolean;
    if (buf === this.chunk) valid = (this.chunkValid ??= isUtf8(buf)) || isUtf8(buf.subarray(start, end));
    else valid = isUtf8(buf.subarray(start, end));
    if (!valid) {
      ev.flags |= EventFlag.INVALID_UTF8;
      this.stats.error('decoding', 'invalid_utf8', 'message is not valid UTF-8; stored as received, JSON shows U+FFFD', { peer: this.peer });
    }
    this.eventBytes += end - start;
    this.events.push(ev);
  }

  /** Hands the chunk's events to the router as one batch with one BatchAck. */
  private dispatch(): void {
    const batch = this.batch;
    if (batch === null) return;
    this.batch = null;
    const events = this.events;
    this.events = [];
    this.stats.received.inc(events.length);
    this.stats.bytes.inc(this.eventBytes);
    this.eventBytes = 0;
    const ack = new BatchAck((outcome) => {
      batch.outcome = outcome;
      this.flush();
    });
    const ready = this.ctx.router.dispatch(this.source.name, events, ack, true);
    if (!ready && !this.waitingRouter) {
      this.waitingRouter = true;
      this.socket.pause();
      this.ctx.router.whenReady(this.source.name, () => {
        this.waitingRouter = false;
        this.resume();
      });
    }
  }

  private resume(): void {
    if (!this.waitingRouter && !this.waitingDrain && !this.ending && !this.socket.destroyed) this.socket.resume();
  }

  /** Writes every answer whose turn has come; ends the session after the last one. */
  private flush(): void {
    if (this.finished) return;
    const w = this.out;
    w.reset();
    let close = false;
    const replies = this.replies;
    let i = this.head;
    for (; i < replies.length; i++) {
      const r = replies[i]!;
      if (r.batch !== null) {
        if (r.batch.outcome === null) break;
        if (r.batch.outcome === 'delivered') w.text(`${r.txnr} rsp 6 200 OK\n`);
        else writeRsp(w, r.txnr, REJECTED_TEXT);
      } else if (r.data !== null) {
        writeRsp(w, r.txnr, r.data);
      }
      if (r.last) { close = true; i++; break; }
    }
    if (i > this.head) {
      this.head = i;
      if (i === replies.length) { this.replies = []; this.head = 0; }
      else if (i > 1024 && i * 2 > replies.length) { this.replies = replies.slice(i); this.head = 0; }
    }
    if (close) w.range(SERVERCLOSE, 0, SERVERCLOSE.length);
    if (w.pos > 0) {
      // Copy: the writer is reused while the socket may still hold the chunk.
      const ok = this.socket.write(Buffer.from(w.view()));
      if (!ok && !this.waitingDrain && !close) {
        // The client is not reading its answers: stop reading its commands too.
        this.waitingDrain = true;
        this.socket.pause();
      }
    }
    if (close) this.close();
  }

  private close(): void {
    this.finished = true;
    this.parser.halt();
    this.socket.end();
    // Read (and ignore) whatever still comes, so the client's own close is seen at once.
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private stopReading(): void {
    this.ending = true;
    this.parser.halt();
    this.socket.pause();
  }

  /** Broken framing or sequence: answer what came before, then serverclose and close. */
  private protocolError(why: string): void {
    this.stats.error('protocol', 'relp_protocol', `${why}; closing the session (serverclose)`, { peer: this.peer });
    this.end();
  }

  /**
   * No more input: the peer closed its side, sent garbage, or the source is stopping.
   * Answers already owed still go out (their events are with the router), then serverclose.
   */
  private end(): void {
    if (this.finished) return;
    const last = this.replies[this.replies.length - 1];
    if (!this.ending || !last?.last) this.replies.push({ txnr: 0, batch: null, data: null, last: true });
    this.stopReading();
    this.flush();
  }

  /** The source is stopping: read nothing more, answer what was read, close. */
  shutdown(): Promise<void> {
    this.end();
    return this.closed;
  }
}

function writeRsp(w: ByteWriter, txnr: number, data: string): void {
  const text = data.startsWith('500 ') ? '500 ' + rspText(data.slice(4)) : data;
  const len = Buffer.byteLength(text);
  w.text(`${txnr} rsp ${len}`);
  if (len > 0) { w.byte(0x20); w.text(text); }
  w.byte(LF);
}
