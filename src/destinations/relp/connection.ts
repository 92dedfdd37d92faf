// One RELP client session: connect (TCP or TLS), negotiate with `open`, send frames, read `rsp`s.
//
// The connection knows nothing of batches: it numbers frames, reports each answer and, once,
// that it is gone (closed, reset, serverclose, garbage, or no answer within ack_timeout).

import net from 'node:net';
import tls from 'node:tls';
import type { ClientTls } from '../../net/tls-client.js';
import { ByteWriter } from '../../codec/byte-writer.js';
import { nextTxnr, RelpFrameParser, writeFrame } from '../../codec/relp/frame.js';
import { clientOffers, offeredVersion, parseOffers, parseRsp, RELP_VERSION } from '../../codec/relp/messages.js';

export interface RelpTarget {
  /** relp://host:port, for messages. */
  url: string;
  host: string;
  port: number;
  /** TLS options when the session is RELP over TLS, else null. */
  /** Read at each connect: renewed client files are picked up. */
  tls: ClientTls | null;
  connectTimeoutMs: number;
  ackTimeoutMs: number;
}

export interface RelpConnectionEvents {
  /** The answer to syslog frame `txnr`: code 200 is success; `text` is the server's reason otherwise. */
  rsp(txnr: number, code: number, text: string): void;
  /** The session is over (called once); every frame not yet answered must be sent again. */
  lost(reason: string): void;
}

/** rsp DATA can carry the server's offers; nothing legitimate comes near this. */
const MAX_RSP_BYTES = 1024 * 1024;

export class RelpConnection {
  private txnr = 1;
  private inFlight = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  private dead = false;
  private deadReason = '';
  private closing: { txnr: number; done: () => void } | null = null;
  private readonly out = new ByteWriter(64 * 1024);
  private events: RelpConnectionEvents | null = null;

  private constructor(private readonly socket: net.Socket, private readonly target: RelpTarget) {}

  get alive(): boolean {
    return !this.dead;
  }

  /** Connects and completes the open handshake, or rejects with the URL and the reason. */
  static open(target: RelpTarget): Promise<RelpConnection> {
    return new Promise((resolve, reject) => {
      const socket = target.tls
        ? tls.connect({ ...target.tls.options, host: target.host, port: target.port })
        : net.connect({ host: target.host, port: target.port });
      const conn = new RelpConnection(socket, target);
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.dead = true;
        socket.destroy();
        reject(new Error(`${target.url}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no RELP session within connect_timeout (${target.connectTimeoutMs} ms)`), target.connectTimeoutMs);
      socket.on('error', (e) => fail(`cannot connect: ${e.message}`));
      socket.on('close', () => fail('connection closed during the open handshake'));
      socket.once(target.tls ? 'secureConnect' : 'connect', () => {
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 60_000);
        socket.write(frameBytes(conn.out, conn.takeTxnr(), 'open', clientOffers()));
      });
      const parser = new RelpFrameParser(MAX_RSP_BYTES, 'error', (txnr, command, buf, start, end) => {
        if (settled) { conn.frame(txnr, command, buf, start, end); return; }
        if (command !== 'rsp' || txnr !== 1) { fail(`expected the answer to open, got "${txnr} ${command}"`); return; }
        const rsp = parseRsp(buf, start, end);
        if (typeof rsp === 'string') { fail(`bad answer to open: ${rsp}`); return; }
        if (rsp.code !== 200) { fail(`server refused the session: ${rsp.code} ${rsp.text}`); return; }
        const offers = parseOffers(rsp.body);
        const version = offeredVersion(offers);
        if (version === null || version > RELP_VERSION) { fail(`server offers relp_version ${offers.get('relp_version')?.join(',') ?? '(none)'}, this client speaks ${RELP_VERSION}`); return; }
        if (!(offers.get('commands') ?? []).includes('syslog')) { fail('server does not offer the syslog command'); return; }
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.on('error', (e) => conn.gone(`connection error: ${e.message}`));
        socket.on('close', () => conn.gone('connection closed by the server'));
        resolve(conn);
      });
      socket.on('data', (chunk: Buffer) => {
        if (!parser.push(chunk) && parser.error !== null) {
          if (settled) conn.gone(`bad data from the server: ${parser.error}`);
          else fail(`bad data from the server: ${parser.error}`);
        }
      });
    });
  }

  /** Starts reporting answers and loss to `events` (at once if the session already ended). */
  attach(events: RelpConnectionEvents): void {
    this.events = events;
    if (this.dead) events.lost(this.deadReason);
  }

  private takeTxnr(): number {
    const t = this.txnr;
    this.txnr = nextTxnr(t);
    return t;
  }

  /** Writes syslog frames for `payloads`; returns the txnr of each, in order. */
  sendSyslog(payloads: Buffer[]): number[] {
    const w = this.out;
    w.reset();
    const txnrs: number[] = [];
    for (const p of payloads) {
      const t = this.takeTxnr();
      txnrs.push(t);
      writeFrame(w, t, 'syslog', p);
    }
    if (this.dead || payloads.length === 0) return txnrs;
    this.socket.write(Buffer.from(w.view()));
    if (this.inFlight === 0) this.armAckTimer();
    this.inFlight += payloads.length;
    return txnrs;
  }

  private frame(txnr: number, command: string, buf: Buffer, start: number, end: number): void {
    if (this.dead) return;
    if (txnr === 0 && command === 'serverclose') {
      this.gone('the server ended the session (serverclose)');
      return;
    }
    if (command !== 'rsp') {
      this.gone(`unexpected command "${command}" (txnr ${txnr}) from the server`);
      return;
    }
    if (this.closing && txnr === this.closing.txnr) {
      this.closing.done();
      return;
    }
    const rsp = parseRsp(buf, start, end);
    if (typeof rsp === 'string') {
      this.gone(`bad rsp for txnr ${txnr}: ${rsp}`);
      return;
    }
    this.inFlight--;
    if (this.inFlight > 0) this.armAckTimer();
    else this.clearAckTimer();
    this.events?.rsp(txnr, rsp.code, rsp.text);
  }

  private armAckTimer(): void {
    this.clearAckTimer();
    this.ackTimer = setTimeout(() => {
      this.gone(`no rsp within ack_timeout (${this.target.ackTimeoutMs} ms) for ${this.inFlight} frame(s) in flight`);
    }, this.target.ackTimeoutMs);
  }

  private clearAckTimer(): void {
    if (this.ackTimer) { clearTimeout(this.ackTimer); this.ackTimer = null; }
  }

  /** Ends the session for good (once); frames in flight are the caller's to resend. */
  gone(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.deadReason = `${this.target.url}: ${reason}`;
    this.clearAckTimer();
    this.socket.destroy();
    this.closing?.done();
    this.events?.lost(this.deadReason);
  }

  /** Polite close: `close`, wait (bounded) for its rsp, then disconnect. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.dead) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      function finish(): void { clearTimeout(timer); resolve(); }
      this.closing = { txnr: this.takeTxnr(), done: finish };
      this.socket.write(frameBytes(this.out, this.closing.txnr, 'close', null));
    });
    this.events = null;
    this.gone('closed');
  }
}

function frameBytes(w: ByteWriter, txnr: number, command: string, data: string | null): Buffer {
  w.reset();
  writeFrame(w, txnr, command, data);
  return Buffer.from(w.view());
}
