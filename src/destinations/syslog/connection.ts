// The syslog destination's transports: one persistent TCP/TLS stream, or a connected UDP socket.
//
// A batch counts as sent only when the socket took it: the stream's write callback (the
// bytes are in the kernel) or every datagram's send callback. Syslog over TCP has no
// acknowledgement beyond that; a receiver that dies with unread bytes in its kernel buffer
// loses them (RELP exists for that).

import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { ClientTls } from '../../net/tls-client.js';

/** OpenSSL and Node codes of a server certificate that failed verification. */
const CERT_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH',
]);

/** A socket or TLS error for a person: errno or TLS code, the reason, and a hint where one helps. */
export function explainSocketError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = e instanceof Error ? e.message : String(err);
  let out = code && !text.includes(code) ? `${code}: ${text}` : text;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    out = `certificate verify failed: ${out} (connect by a name the certificate holds, or set tls.servername)`;
  } else if (code && CERT_VERIFY_CODES.has(code)) {
    out = `certificate verify failed: ${out} (set tls.ca to the CA that signed the receiver's certificate)`;
  } else if (code === 'ECONNREFUSED') {
    out += ' (is a receiver listening there?)';
  } else if (code?.startsWith('ERR_SSL_') && /ALERT/.test(code)) {
    out = `the receiver refused the TLS session: ${out} (does it require a client certificate, or one from another CA?)`;
  }
  return out;
}

export interface StreamTarget {
  /** As configured, for messages: "tls://siem.example.net:6514". */
  url: string;
  host: string;
  port: number;
  /** TLS client options (certificates, servername, verification); null for plain TCP. */
  /** Read at each connect: renewed client files are picked up. */
  tls: ClientTls | null;
  connectTimeoutMs: number;
}

/**
 * With TLS 1.3 the client's handshake ends before the server has checked the client's
 * certificate: a server that refuses it says so one round trip later, after which the
 * first batch would already count as written. A server that accepts sends session
 * tickets, so the connection is ready at the first ticket, the first refusal, or after
 * this long for servers that send no tickets.
 */
const TLS13_SETTLE_MS = 1000;

export class StreamConnection {
  private socket: net.Socket | null = null;
  private opening: Promise<net.Socket> | null = null;
  private closed = false;
  /** Why the current or last connection ended, for the messages of what fails next. */
  private lastProblem: string | null = null;
  /** Connections made so far (tests and logs). */
  connects = 0;

  constructor(private readonly target: StreamTarget, private readonly onEvent: (what: string, detail?: Record<string, unknown>) => void = () => {}) {}

  /** True while a connection is open and usable. */
  get connected(): boolean {
    return this.socket !== null && usable(this.socket);
  }

  /** The open connection, or a new one; rejects with an error that names the URL and the reason. */
  connect(): Promise<net.Socket> {
    if (this.closed) return Promise.reject(new Error(`${this.target.url}: the destination is stopping`));
    const s = this.socket;
    if (s !== null) {
      if (usable(s)) return Promise.resolve(s);
      // The peer closed its side (or the socket failed) since the last batch: start afresh.
      this.socket = null;
      s.destroy();
    }
    if (this.opening === null) {
      this.opening = this.open().finally(() => { this.opening = null; });
    }
    return this.opening;
  }

  private open(): Promise<net.Socket> {
    const t = this.target;
    return new Promise((resolve, reject) => {
      let settled = false;
      let s: net.Socket;
      try {
        s = t.tls ? tls.connect({ ...t.tls.options, host: t.host, port: t.port }) : net.connect({ host: t.host, port: t.port });
      } catch (e) {
        reject(new Error(`cannot connect to ${t.url}: ${explainSocketError(e)}`));
        return;
      }
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.destroy();
        reject(new Error(`cannot connect to ${t.url}: ${explainSocketError(e)}`));
      };
      const timer = setTimeout(() => {
        fail(Object.assign(new Error(`no ${t.tls ? 'TLS session' : 'connection'} after ${t.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, t.connectTimeoutMs);
      const onError = (e: Error): void => fail(e);
      const onClose = (): void => fail(new Error(t.tls
        ? 'the receiver closed the connection during the TLS handshake (did it refuse our client certificate? its log says why)'
        : 'the receiver closed the connection at once'));
      s.on('error', onError);
      s.on('close', onClose);
      // Read (and drop) whatever the receiver sends: TLS session tickets and alerts must be
      // read, and a closed read side is how a receiver that went away shows.
      s.on('data', () => {});
      const ready = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.off('error', onError);
        s.off('close', onClose);
        this.adopt(s);
        resolve(s);
      };
      s.once(t.tls ? 'secureConnect' : 'connect', () => {
        s.setNoDelay(true);
        s.setKeepAlive(true, 60_000);
        if (t.tls && (s as tls.TLSSocket).getProtocol() === 'TLSv1.3') {
          const settle = setTimeout(ready, Math.min(TLS13_SETTLE_MS, t.connectTimeoutMs));
          // Not from inside the 'session' event: a write made there, while OpenSSL is still
          // reading the ticket, corrupts the record stream (the server sees "bad record mac").
          s.once('session', () => { clearTimeout(settle); setImmediate(ready); });
          s.once('close', () => clearTimeout(settle));
        } else ready();
      });
    });
  }

  /** Watches an established connection so that a failure or a receiver's close is noticed between batches. */
  private adopt(s: net.Socket): void {
    this.socket = s;
    this.connects++;
    this.lastProblem = null;
    this.onEvent('connected', { to: this.target.url });
    s.on('error', (e) => {
      this.lastProblem ??= explainSocketError(e);
    });
    s.on('end', () => {
      // The receiver closed its side; Node ends ours (no half-open), and the next batch reconnects.
      this.lastProblem ??= 'the receiver closed the connection';
    });
    s.on('close', () => {
      if (this.socket === s) this.socket = null;
      if (!this.closed) this.onEvent('disconnected', { to: this.target.url, reason: this.lastProblem ?? 'closed' });
    });
  }

  /**
   * Writes one batch; `cb(null)` once the socket has taken all of it, or `cb(error)` when it
   * failed, the connection closed first, or the receiver took nothing for `timeoutMs` (the
   * connection is then destroyed, so that a retry starts on a fresh one).
   */
  write(s: net.Socket, buf: Buffer, timeoutMs: number, cb: (err: Error | null) => void): void {
    const url = this.target.url;
    let finished = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.off('close', onClose);
      if (err !== null) {
        this.lastProblem ??= err.message;
        s.destroy();
      }
      cb(err);
    };
    const onClose = (): void => finish(new Error(`connection to ${url} closed before the batch was sent: ${this.lastProblem ?? 'closed'}`));
    const timer = setTimeout(() => {
      const unsent = s.writableLength;
      finish(new Error(`${url}: the receiver did not take the batch within ${timeoutMs} ms (${unsent} of ${buf.length} bytes unsent; it stopped reading?); reconnecting`));
    }, timeoutMs);
    s.once('close', onClose);
    if (!usable(s)) {
      finish(new Error(`connection to ${url} is closed: ${this.lastProblem ?? 'closed'}`));
      return;
    }
    s.write(buf, (err) => {
      if (err) finish(new Error(`sending to ${url} failed: ${explainSocketError(err)}`));
      else finish(null);
    });
  }

  /** Ends the connection after what was written, and waits (at most timeoutMs) for it to close. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (opening) await opening.catch(() => {});
    const s = this.socket;
    this.socket = null;
    if (s === null || s.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => s.destroy(), timeoutMs);
      s.once('close', () => { clearTimeout(timer); resolve(); });
      s.end();
    });
  }
}

function usable(s: net.Socket): boolean {
  return !s.destroyed && s.writable && !s.readableEnded;
}

/** Connected UDP: one datagram per message; an ICMP "port unreachable" comes back as ECONNREFUSED. */
export class UdpConnection {
  private socket: dgram.Socket | null = null;
  private opening: Promise<dgram.Socket> | null = null;
  private closed = false;
  private lastProblem: string | null = null;

  constructor(private readonly target: { url: string; host: string; port: number }) {}

  private connect(): Promise<dgram.Socket> {
    if (this.closed) return Promise.reject(new Error(`${this.target.url}: the destination is stopping`));
    if (this.socket !== null) return Promise.resolve(this.socket);
    return (this.opening ??= this.open().finally(() => { this.opening = null; }));
  }

  private async open(): Promise<dgram.Socket> {
    const t = this.target;
    let address: string, family: number;
    try {
      ({ address, family } = await lookup(t.host));
    } catch (e) {
      throw new Error(`cannot send to ${t.url}: ${explainSocketError(e)}`);
    }
    const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => { s.close(); reject(new Error(`cannot send to ${t.url}: ${explainSocketError(e)}`)); };
      s.once('error', onError);
      s.connect(t.port, address, () => { s.off('error', onError); resolve(); });
    });
    // Errors between sends (an ICMP error read back) are remembered for the next send's message.
    s.on('error', (e) => { this.lastProblem = explainSocketError(e); });
    this.socket = s;
    return s;
  }

  /** Sends each datagram; `cb(null)` after every send callback succeeded, else `cb(first error)`. */
  send(datagrams: Buffer[], cb: (err: Error | null) => void): void {
    this.connect().then((s) => {
      let left = datagrams.length;
      let failed = false;
      if (left === 0) { cb(null); return; }
      for (const d of datagrams) {
        s.send(d, (err) => {
          if (failed) return;
          if (err) {
            failed = true;
            cb(new Error(`sending to ${this.target.url} failed: ${explainSocketError(err)}${this.lastProblem ? ` (before: ${this.lastProblem})` : ''}`));
            this.lastProblem = null;
            return;
          }
          if (--left === 0) cb(null);
        });
      }
    }, (e: Error) => cb(e));
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (opening) await opening.catch(() => {});
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
