// A stream-socket transport (TCP, TLS, unix): write() honours 'drain', close() ends the
// stream and waits for the receiver to close its side, so no data is cut off by a reset.

import type { Socket } from 'node:net';
import type { MessageBatch } from './encoder.js';
import { SendError, explainSocketError } from './errors.js';
import type { Target, Transport } from './transport.js';
import { CLOSE_CONFIRMATION } from '../../sources/syslog/close-confirmation.js';

const CONNECT_TIMEOUT_MS = 10_000;
// After end(), the receiver still has to read what the kernel buffers hold; a receiver that
// applies backpressure may take a while, one that never closes must not hang the sender.
const CLOSE_TIMEOUT_MS = 10_000;

type Pending = { kind: 'open' | 'drain' | 'close'; resolve: () => void; reject: (e: Error) => void };

export class StreamTransport implements Transport {
  failure: SendError | undefined;
  private socket: Socket | undefined;
  private pending: Pending | undefined;
  private opened = false;
  private ending = false;
  private timer: NodeJS.Timeout | undefined;
  /** What the receiver wrote to us (only its close confirmation is expected; kept short). */
  private heard = '';
  private mustConfirm = false;

  /**
   * @param connect    starts the connection
   * @param readyEvent the event after which data may flow ('connect', or 'secureConnect' for TLS)
   * @param resetHint  added to a reset or hang-up after connecting: what it usually means on this transport
   */
  constructor(
    private readonly target: Target,
    private readonly connect: () => Socket,
    private readonly readyEvent: 'connect' | 'secureConnect',
    private readonly resetHint?: string,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending = { kind: 'open', resolve, reject };
      this.timer = setTimeout(() => {
        this.fail(Object.assign(new Error(`no connection after ${CONNECT_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' }));
      }, CONNECT_TIMEOUT_MS);
      let s: Socket;
      try {
        s = this.connect();
      } catch (e) {
        this.fail(e);
        return;
      }
      this.socket = s;
      s.once(this.readyEvent, () => {
        this.opened = true;
        clearTimeout(this.timer);
        s.setNoDelay(true); // a paced sender's single messages should leave at once
        this.settle('open');
      });
      s.on('error', (e) => this.fail(e));
      s.on('drain', () => this.settle('drain'));
      // The receiver should send nothing, but TLS 1.3 session tickets and alerts must be read,
      // or closing with unread data makes our kernel answer with a reset.
      s.on('data', (d: Buffer) => { if (this.heard.length < 256) this.heard += d.toString('latin1'); });
      s.on('end', () => {
        if (!this.ending) this.fail(Object.assign(new Error('the receiver closed the connection'), { hangup: true }));
      });
      s.on('close', () => {
        if (this.ending && this.mustConfirm && !this.heard.includes(CLOSE_CONFIRMATION)) {
          this.ending = false;
          this.fail(new Error('the receiver closed without confirming that what it read is queued (it may have crashed; a sluice source needs close_confirmation: true)'));
        } else if (this.ending) this.settle('close');
        else this.fail(new Error('the connection closed unexpectedly'));
      });
    });
  }

  write(batch: MessageBatch): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket!.write(batch.buf)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending = { kind: 'drain', resolve, reject };
    });
  }

  close(confirmed = false): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.mustConfirm = confirmed;
    const s = this.socket!;
    return new Promise((resolve, reject) => {
      this.ending = true;
      this.pending = { kind: 'close', resolve, reject };
      this.timer = setTimeout(() => {
        const unsent = s.writableLength;
        if (unsent > 0) {
          this.ending = false; // a failure now, not an orderly close
          this.fail(new Error(`the receiver stopped reading: ${unsent} bytes not sent ${CLOSE_TIMEOUT_MS / 1000} s after the end`));
        } else {
          s.destroy(); // everything reached its kernel; it just never closed its side
        }
      }, CLOSE_TIMEOUT_MS);
      s.end();
    });
  }

  destroy(): void {
    this.ending = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new SendError('SLUICE_ERR_SEND_BROKEN', `${this.target.url}: connection abandoned`));
  }

  private settle(kind: Pending['kind']): void {
    const p = this.pending;
    if (!p || p.kind !== kind) return;
    this.pending = undefined;
    if (kind === 'close') clearTimeout(this.timer);
    p.resolve();
  }

  private fail(err: unknown): void {
    if (this.failure || (this.ending && !this.pending)) return;
    clearTimeout(this.timer);
    const e = err as { code?: unknown; hangup?: boolean } | undefined;
    const hungUp = e?.hangup === true || e?.code === 'ECONNRESET' || e?.code === 'EPIPE';
    const hint = this.resetHint && hungUp ? ` (${this.resetHint})` : '';
    this.failure = this.opened
      ? new SendError('SLUICE_ERR_SEND_BROKEN', `connection to ${this.target.url} broke: ${explainSocketError(err)}${hint}`, { cause: err })
      : new SendError('SLUICE_ERR_SEND_CONNECT', `cannot connect to ${this.target.url}: ${explainSocketError(err)}`, { cause: err });
    this.socket?.destroy();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(this.failure);
  }
}
