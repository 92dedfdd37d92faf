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

/** Datagram bytes read and not yet parsed, at most: bounds what a slow pipeline can cost in memory. */
const MAX_OUTSTANDING_BYTES = 8 * 1024 * 1024;

/**
 * Whether data[start, end) is valid UTF-8, given whether all of data is. In valid UTF-8 every
 * byte that is not a continuation byte (10xxxxxx) begins a character, so a range of it is
 * valid exactly when neither its start nor its end falls on a continuation byte.
 */
function validUtf8(data: Buffer, allValid: boolean, start: number, end: number): boolean {
  if (!allValid) return isUtf8(data.subarray(start, end));
  return (data[start]! & 0xc0) !== 0x80 && (end === data.length || (data[end]! & 0xc0) !== 0x80);
}

export class UdpListener {
  private worker: Worker | null = null;
  private readonly allow: AllowList;
  /** One EventSource per sender, so events of one peer share it; bounded. */
  private readonly peers = new Map<string, EventSource>();
  private boundPort = 0;
  private closed: Promise<void> | null = null;
  /** One Int32 shared with the reader: bytes it handed over that are not parsed yet. */
  private readonly outstanding = new Int32Array(new SharedArrayBuffer(4));
  /** Set to 1 to close the reader (its recvmmsg loop blocks its thread, so a message would wait). */
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  /** Batches held raw while a destination's buffer is full: the most compact place to wait. */
  private readonly pending: UdpBatch[] = [];
  private waiting = false;

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
      recvBufferSize: this.cfg.udp_receive_buffer, nice: this.cfg.udp_reader_nice, reader: this.cfg.udp_reader,
      maxOutstandingBytes: MAX_OUTSTANDING_BYTES, outstanding: this.outstanding.buffer as SharedArrayBuffer,
      control: this.control.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(new URL('./udp-reader.js', import.meta.url), { workerData });
    this.worker = worker;
    this.closed = new Promise((resolve) => worker.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: ReaderMessage) => {
        if (m.kind === 'batch') this.received(m);
        else if (m.kind === 'listening') {
          this.boundPort = m.port;
          if (m.fallbackReason !== null) {
            this.stats.log.report('info', 'udp/reader', `UDP reader uses node:dgram, one callback per datagram: ${m.fallbackReason}`, { listener: a.text });
          }
          if (m.niceError !== null) {
            this.stats.log.report('info', 'udp/nice', `UDP reader thread keeps the process's priority: nice ${this.cfg.udp_reader_nice} refused (${m.niceError}); set udp_reader_nice: null to silence`, { listener: a.text });
          }
          resolve();
        } else if (m.fatal) {
          void worker.terminate();
          reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${a.text}: ${m.message}`));
        } else this.stats.error('reading', 'socket_error', `UDP socket error: ${m.message}`);
      });
      worker.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: UDP reader for ${a.text} failed: ${e.message}`, { cause: e })));
    });
    worker.on('error', (e) => this.stats.error('reading', 'reader_failed', `UDP reader thread failed: ${e.message}`, { listener: a.text }, 'error'));
  }

  private received(b: UdpBatch): void {
    if (b.dropped > 0) {
      this.stats.dropped('reader_behind', b.dropped);
      this.stats.log.report('warn', 'udp/behind', 'datagrams dropped: the pipeline is not keeping up with the UDP reader', { dropped: b.dropped });
    }
    if (b.index.length === 0) return;
    if (this.waiting) this.pending.push(b);
    else this.route(b);
  }

  /**
   * UDP cannot slow its senders, but it can stop taking batches while a block-policy buffer
   * is full: they wait here as raw bytes, and beyond the reader's bound it drops and counts.
   */
  private readonly resume = (): void => {
    this.waiting = false;
    while (!this.waiting && this.pending.length > 0) this.route(this.pending.shift()!);
  };

  /** Turns one batch from the reader into events and routes them. */
  private route(b: UdpBatch): void {
    Atomics.sub(this.outstanding, 0, b.data.byteLength);
    const data = Buffer.from(b.data);
    const idx = b.index;
    // Per sender, not per datagram: a batch usually comes from a handful of peers.
    const addresses = b.peers.map(normalizeAddress);
    const allowed = addresses.map((addr) => this.allow.allows(addr));
    // One UTF-8 check for the whole batch (datagrams lie back to back); see validUtf8().
    const batchUtf8 = isUtf8(data);
    const events: LogEvent[] = [];
    let bytes = 0;
    let source: EventSource | null = null;
    let lastPeer = -1;
    let lastPort = -1;
    for (let i = 0; i < idx.length; i += 4) {
      const peer = idx[i + 3]!;
      const port = idx[i + 2]!;
      if (!allowed[peer]) {
        this.stats.dropped('not_allowed', 1);
        this.stats.log.report('warn', 'udp/not_allowed', 'datagram from an address not in allow dropped', { peer: addresses[peer] });
        continue;
      }
      if (peer !== lastPeer || port !== lastPort) {
        source = this.sourceFor(addresses[peer]!, port);
        lastPeer = peer;
        lastPort = port;
      }
      const ev = this.event(data, batchUtf8, idx[i]!, idx[i + 1]!, source!, b.receivedAt);
      if (ev !== null) { events.push(ev); bytes += ev.end - ev.start; }
    }
    if (events.length === 0) return;
    this.stats.received.inc(events.length);
    this.stats.bytes.inc(bytes);
    if (!this.ctx.router.dispatch(this.ctx.name, events, null, true)) {
      this.waiting = true;
      this.ctx.router.whenReady(this.ctx.name, this.resume);
    }
  }

  private event(data: Buffer, batchUtf8: boolean, start: number, length: number, source: EventSource, now: number): LogEvent | null {
    const addr = source.address;
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
    const ev = new LogEvent(source, now);
    const problem = parseSyslog(ev, data, start, end, this.cfg.format);
    if (problem !== null) this.stats.error('parsing', 'parse_error', `message is not ${this.cfg.format}: ${problem}; kept whole as MSG`, { peer: addr });
    if (truncated) ev.flags |= EventFlag.TRUNCATED;
    if (!validUtf8(data, batchUtf8, start, end)) {
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
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.control, 0);
    w.postMessage({ kind: 'close' });
    const t = setTimeout(() => void w.terminate(), 5000);
    await this.closed;
    clearTimeout(t);
    // What was read is routed even if that overfills a buffer by the bounded backlog.
    for (const b of this.pending.splice(0)) this.route(b);
  }
}
