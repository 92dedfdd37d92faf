// udp:// — one message per datagram (RFC 5426) on a connected socket, so that an ICMP
// "port unreachable" comes back as ECONNREFUSED instead of vanishing.

import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MessageBatch } from './encoder.js';
import { SendError, explainSocketError } from './errors.js';
import type { Target, Transport, TransportKind } from './transport.js';

// UDP has no 'drain': datagrams the kernel could not take at once wait in libuv's queue,
// and the sender waits for that queue to empty rather than letting it grow.
const MAX_QUEUED_DATAGRAMS = 0;

class UdpTransport implements Transport {
  failure: SendError | undefined;
  private socket: Socket | undefined;
  private opened = false;
  private closed = false;
  private rejectOpen: ((e: Error) => void) | undefined;

  private readonly onSent = (err: Error | null): void => {
    if (err) this.fail(err);
  };

  constructor(private readonly target: Target) {}

  async open(): Promise<void> {
    let address: string;
    let family: number;
    try {
      ({ address, family } = await lookup(this.target.host));
    } catch (e) {
      throw this.fail(e);
    }
    this.check(); // another connection failed during the lookup
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket = s;
    s.on('error', (e) => this.fail(e));
    await new Promise<void>((resolve, reject) => {
      this.rejectOpen = reject;
      s.connect(this.target.port, address, () => {
        this.opened = true;
        this.rejectOpen = undefined;
        resolve();
      });
    });
  }

  async write(batch: MessageBatch): Promise<void> {
    this.check();
    const s = this.socket!;
    const { buf, stride } = batch;
    // With a callback: without one, Node drops the ECONNREFUSED that a send picks up from an
    // earlier ICMP "port unreachable" (only the read side reports it as 'error').
    for (let off = 0; off < buf.length; off += stride) s.send(buf.subarray(off, off + stride), this.onSent);
    await this.waitForQueue(MAX_QUEUED_DATAGRAMS);
  }

  async close(): Promise<void> {
    await this.waitForQueue(0);
    // Let an ICMP error for the last datagrams arrive before we stop listening for it.
    await nextTurn();
    this.check();
    this.closed = true;
    const s = this.socket!;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.close();
  }

  private async waitForQueue(max: number): Promise<void> {
    for (;;) {
      this.check();
      if (this.socket!.getSendQueueCount() <= max) return;
      await nextTurn();
    }
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new SendError('SLUICE_ERR_SEND_BROKEN', `${this.target.url}: connection abandoned`);
  }

  private fail(err: unknown): SendError {
    if (!this.failure) {
      this.failure = this.opened
        ? new SendError('SLUICE_ERR_SEND_BROKEN', `sending to ${this.target.url} failed: ${explainSocketError(err)}`, { cause: err })
        : new SendError('SLUICE_ERR_SEND_CONNECT', `cannot send to ${this.target.url}: ${explainSocketError(err)}`, { cause: err });
      this.rejectOpen?.(this.failure);
      this.destroy();
    }
    return this.failure;
  }
}

export const udpTransport: TransportKind = {
  scheme: 'udp',
  defaultFraming: 'none',
  framings: ['none', 'lf'],
  addressing: 'host-port',
  prepare: (target) => () => new UdpTransport(target),
};
