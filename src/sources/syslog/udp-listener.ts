// UDP syslog listener: one message per datagram, batched per event-loop turn.

import dgram from 'node:dgram';
import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import { parseSyslog } from '../../codec/syslog-parser.js';
import type { ListenAddress } from '../../config/units.js';
import { EventFlag, LogEvent, type EventSource } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { AllowList, normalizeAddress } from '../../net/access.js';
import type { SourceContext } from '../types.js';
import type { SourceStats } from '../stats.js';
import type { SyslogSourceConfig } from './config.js';

const MAX_BATCH = 2048;

export class UdpListener {
  private socket: dgram.Socket | null = null;
  private batch: LogEvent[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly allow: AllowList;
  /** One EventSource per sender, so events of one peer share it; bounded. */
  private readonly peers = new Map<string, EventSource>();
  private boundPort = 0;

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
    const socket = dgram.createSocket({ type: net.isIPv6(a.host) ? 'udp6' : 'udp4', recvBufferSize: this.cfg.udp_receive_buffer });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${a.text}: ${e.message}`, { cause: e })));
      socket.bind(a.port, a.host, () => resolve());
    });
    socket.on('error', (e) => this.stats.error('reading', 'socket_error', `UDP socket error: ${e.message}`));
    socket.on('message', (msg, rinfo) => this.message(msg, rinfo));
    this.boundPort = socket.address().port;
  }

  private message(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const addr = normalizeAddress(rinfo.address);
    if (!this.allow.allows(addr)) {
      this.stats.dropped('not_allowed', 1);
      this.stats.log.report('warn', 'udp/not_allowed', 'datagram from an address not in allow dropped', { peer: addr });
      return;
    }
    let end = msg.length;
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0)) end--;
    if (end === 0) return;
    let truncated = false;
    if (end > this.cfg.max_message_bytes) {
      this.stats.error('framing', 'oversize', `datagram of ${end} bytes exceeds max_message_bytes ${this.cfg.max_message_bytes}`, { peer: addr });
      if (this.cfg.oversize === 'reject') { this.stats.dropped('oversize', 1); return; }
      this.stats.dropped('truncated', 1);
      end = this.cfg.max_message_bytes;
      truncated = true;
    }
    const ev = new LogEvent(this.sourceFor(addr, rinfo.port), Date.now());
    const problem = parseSyslog(ev, msg, 0, end, this.cfg.format);
    if (problem !== null) this.stats.error('parsing', 'parse_error', `message is not ${this.cfg.format}: ${problem}; kept whole as MSG`, { peer: addr });
    if (truncated) ev.flags |= EventFlag.TRUNCATED;
    if (!isUtf8(end === msg.length ? msg : msg.subarray(0, end))) {
      ev.flags |= EventFlag.INVALID_UTF8;
      this.stats.error('decoding', 'invalid_utf8', 'message is not valid UTF-8; stored as received, JSON shows U+FFFD', { peer: addr });
    }
    this.bytes += end;
    this.batch.push(ev);
    if (this.batch.length >= MAX_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
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

  private readonly flush = (): void => {
    this.scheduled = false;
    const events = this.batch;
    if (events.length === 0) return;
    this.batch = [];
    this.stats.received.inc(events.length);
    this.stats.bytes.inc(this.bytes);
    this.bytes = 0;
    // UDP cannot be paused: a full block-policy buffer drops (and counts) instead.
    this.ctx.router.dispatch(this.ctx.name, events, null, false);
  };

  async stop(): Promise<void> {
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    this.flush();
  }
}
