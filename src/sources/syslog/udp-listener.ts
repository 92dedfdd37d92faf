// UDP syslog listener: a reader thread drains the socket; here each datagram becomes an event.

import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import { Worker } from 'node:worker_threads';
import { parseSyslog } from '../../codec/syslog-parser.js';
import type { ListenAddress } from '../../config/units.js';
import { EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { AllowList, normalizeAddress } from '../../net/access.js';
import type { SourceContext } from '../types.js';
import type { SourceStats } from '../stats.js';
import type { SyslogSourceConfig } from './config.js';
import type { ReaderMessage, UdpBatch, UdpReaderConfig } from './udp-reader.js';

/** Datagram bytes in flight from the reader thread at most: bounds what a slow main thread can cost. */
const MAX_OUTSTANDING_BYTES = 16 * 1024 * 1024;

export class UdpListener {
  private worker: Worker | null = null;
  private readonly allow: AllowList;
  /** One EventSource per sender, so events of one peer share it; bounded. */
  private readonly peers = new Map<string, EventSource>();
  private boundPort = 0;
  private closed: Promise<void> | null = null;

  constructor(
    readonly address: ListenAddress,
    private readonly ctx: SourceContext,
    private readonly cfg: SyslogSourceConfig,
    private readonly stats: SourceStats,
  ) {
    this.allow = new AllowList(cfg.allow);
  }

  get url(): string {
    const h = this.address.host;
    return `udp://${h.includes(':') ? `[${h}]` : h}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const a = this.address;
    const workerData: UdpReaderConfig = {
      type: net.isIPv6(a.host) ? 'udp6' : 'udp4', host: a.host, port: a.port,
      recvBufferSize: this.cfg.udp_receive_buffer, maxOutstandingBytes: MAX_OUTSTANDING_BYTES,
    };
    const worker = new Worker(new URL('./udp-reader.js', import.meta.url), { workerData });
    this.worker = worker;
    this.closed = new Promise((resolve) => worker.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: ReaderMessage) => {
        if (m.kind === 'batch') this.batch(m);
        else if (m.kind === 'listening') { this.boundPort = m.port; resolve(); }
        else if (m.fatal) {
          void worker.terminate();
          reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${a.text}: ${m.message}`));
        }
        else this.stats.error('reading', 'socket_error', `UDP socket error: ${m.message}`);
      });
      worker.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: UDP reader for ${a.text} failed: ${e.message}`, { cause: e })));
    });
    worker.on('error', (e) => this.stats.error('reading', 'reader_failed', `UDP reader thread failed: ${e.message}`, { listener: a.text }, 'error'));
  }

  /** Turns one batch from the reader into events and routes them. */
  private batch(b: UdpBatch): void {
    this.worker?.postMessage({ kind: 'taken', bytes: b.data.byteLength });
    if (b.dropped > 0) {
      this.stats.dropped('reader_behind', b.dropped);
      this.stats.log.report('warn', 'udp/behind', 'datagrams dropped: the pipeline is not keeping up with the UDP reader', { dropped: b.dropped });
    }
    const data = Buffer.from(b.data);
    const idx = b.index;
    const events: LogEvent[] = [];
    let bytes = 0;
    for (let i = 0, k = 0; i < idx.length; i += 3, k++) {
      const ev = this.event(data, idx[i]!, idx[i + 1]!, idx[i + 2]!, b.addresses[k]!, b.receivedAt);
      if (ev !== null) { events.push(ev); bytes += ev.end - ev.start; }
    }
    if (events.length === 0) return;
    this.stats.received.inc(events.length);
    this.stats.bytes.inc(bytes);
    // UDP cannot be paused: a full block-policy buffer drops (and counts) instead.
    this.ctx.router.dispatch(this.ctx.name, events, null, false);
  }

  private event(data: Buffer, start: number, length: number, port: number, rawAddress: string, now: number): LogEvent | null {
    const addr = normalizeAddress(rawAddress);
    if (!this.allow.allows(addr)) {
      this.stats.dropped('not_allowed', 1);
      this.stats.log.report('warn', 'udp/not_allowed', 'datagram from an address not in allow dropped', { peer: addr });
      return null;
    }
    let end = start + length;
    while (end > start && (data[end - 1] === 0x0a || data[end - 1] === 0x0d || data[end - 1] === 0)) end--;
    if (end === start) return null;
    let truncated = false;
    if (end - start > this.cfg.max_message_bytes) {
      this.stats.error('framing', 'oversize', `datagram of ${end - start} bytes exceeds max_message_bytes ${this.cfg.max_message_bytes}`, { peer: addr });
      if (this.cfg.oversize === 'reject') { this.stats.dropped('oversize', 1); return null; }
      this.stats.dropped('truncated', 1);
      end = start + this.cfg.max_message_bytes;
      truncated = true;
    }
    const ev = new LogEvent(this.sourceFor(addr, port), now);
    const problem = parseSyslog(ev, data, start, end, this.cfg.format);
    if (problem !== null) this.stats.error('parsing', 'parse_error', `message is not ${this.cfg.format}: ${problem}; kept whole as MSG`, { peer: addr });
    if (truncated) ev.flags |= EventFlag.TRUNCATED;
    if (!isUtf8(data.subarray(start, end))) {
      ev.flags |= EventFlag.INVALID_UTF8;
      this.stats.error('decoding', 'invalid_utf8', 'message is not valid UTF-8; stored as received, JSON shows U+FFFD', { peer: addr });
    }
    return ev;
  }

  private sourceFor(address: string, port: number): EventSource {
    const key = address + ' ' + port;
    let s = this.peers.get(key);
    if (s === undefined) {
      if (this.peers.size >= 4096) this.peers.clear();
      s = { name: this.ctx.name, transport: 'udp', address, port, tlsPeer: null };
      this.peers.set(key, s);
    }
    return s;
  }

  /** Closes the socket; what the reader had already read is still routed. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    w.postMessage({ kind: 'close' });
    const t = setTimeout(() => void w.terminate(), 5000);
    await this.closed;
    clearTimeout(t);
  }
}
