// TCP, TLS and unix-stream syslog listeners: access control, limits, framing, back-pressure.

import type { ServerCertificates } from '../../net/tls-reload.js';
import type net from 'node:net';
import { StreamFramer } from '../../codec/framing/stream-framer.js';
import type { ListenAddress } from '../../config/units.js';
import type { EventSource, Transport } from '../../event/log-event.js';
import { normalizeAddress, type ConnectionLimits } from '../../net/access.js';
import { BatchAck } from '../../pipeline/acknowledgement.js';
import type { SourceContext } from '../types.js';
import type { SourceStats } from '../stats.js';
import { GuardedStreamServer } from '../stream-server.js';
import type { SyslogSourceConfig } from './config.js';
import { CLOSE_CONFIRMATION } from './close-confirmation.js';
import { MessageDecoder } from './decoder.js';

export class StreamListener {
  private readonly connections = new Set<Connection>();
  private readonly server: GuardedStreamServer;

  constructor(
    readonly address: ListenAddress,
    private readonly ctx: SourceContext,
    private readonly cfg: SyslogSourceConfig,
    private readonly stats: SourceStats,
    limits: ConnectionLimits,
    certificates: ServerCertificates | null,
  ) {
    this.server = new GuardedStreamServer({
      address, component: ctx.name, stats, allow: cfg.allow, limits,
      tls: certificates && cfg.tls ? { certificates, config: cfg.tls } : null,
      onOpen: (socket, tlsPeer) => this.open(socket, tlsPeer, certificates !== null),
    });
  }

  get url(): string {
    return this.server.url;
  }

  start(): Promise<void> {
    return this.server.start();
  }

  private open(socket: net.Socket, tlsPeer: string | null, isTls: boolean): void {
    const transport: Transport = isTls ? 'tls' : this.address.scheme === 'unix' ? 'unix' : 'tcp';
    const source: EventSource = {
      name: this.ctx.name,
      transport,
      address: transport === 'unix' ? this.address.path : normalizeAddress(socket.remoteAddress ?? ''),
      port: transport === 'unix' ? null : socket.remotePort ?? null,
      tlsPeer,
    };
    const conn = new Connection(socket, source, this.ctx, this.cfg, this.stats, () => this.connections.delete(conn));
    this.connections.add(conn);
  }

  /** Stops accepting; open connections hand over what they read, then close. */
  stop(): Promise<void> {
    return this.server.stop(() => { for (const c of this.connections) c.shutdown(); });
  }
}

/** Chunks smaller than this are gathered and handled together (TLS delivers one per record). */
const GATHER_BELOW = 16 * 1024;
const GATHER_MAX = 64 * 1024;

/** One accepted connection: frames its bytes into events and pauses when destinations are full. */
class Connection {
  private readonly framer: StreamFramer;
  private readonly decoder: MessageDecoder;
  private pendingAcks = 0;
  /** Some destination could not take events of this connection (a drop_newest buffer was full). */
  private lost = false;
  /** The peer sent FIN: everything it will send has been read. */
  private peerEnded = false;
  private readonly confirm: boolean;
  private ended = false;
  private waiting = false;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private gatherScheduled = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly source: EventSource,
    private readonly ctx: SourceContext,
    cfg: SyslogSourceConfig,
    stats: SourceStats,
    onClose: () => void,
  ) {
    this.confirm = cfg.close_confirmation;
    this.decoder = new MessageDecoder(source, cfg.format, stats);
    this.framer = new StreamFramer(cfg.max_message_bytes, cfg.oversize, cfg.framing, this.decoder.frame, (problem, detail) => {
      if (problem === 'oversize') stats.dropped(cfg.oversize === 'truncate' ? 'truncated' : 'oversize', 1);
      stats.error('framing', problem, detail, { peer: source.address });
    });
    if (cfg.idle_timeout > 0) {
      socket.setTimeout(cfg.idle_timeout, () => {
        stats.error('reading', 'idle_timeout', `no data for ${cfg.idle_timeout} ms; connection closed`, { peer: source.address }, 'info');
        this.finish();
      });
    }
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('end', () => { this.peerEnded = true; this.finish(); });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      stats.error('reading', e.code === 'ECONNRESET' ? 'connection_reset' : 'socket_error', `connection error: ${e.message}`, { peer: source.address }, 'info');
    });
    socket.on('close', () => {
      // Whatever was framed before an abrupt close still goes on.
      if (!this.ended) { this.ended = true; this.handleGathered(); this.framer.end(); this.flush(); }
      onClose();
    });
  }

  /**
   * A TLS socket emits one chunk per TLS record, often one message each; handling each on
   * its own would cost a dispatch per message. Small chunks are gathered until the end of
   * this event-loop turn (or 64 KiB) and framed as one.
   */
  private data(chunk: Buffer): void {
    if (chunk.length >= GATHER_BELOW && this.gatheredBytes === 0) {
      this.process(chunk);
      return;
    }
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
    if (this.gatheredBytes >= GATHER_MAX) this.handleGathered();
    else if (!this.gatherScheduled) {
      this.gatherScheduled = true;
      setImmediate(this.handleGatheredLater);
    }
  }

  private readonly handleGatheredLater = (): void => {
    this.gatherScheduled = false;
    this.handleGathered();
  };

  private handleGathered(): void {
    if (this.gatheredBytes === 0) return;
    const g = this.gathered;
    const buf = g.length === 1 ? g[0]! : Buffer.concat(g, this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    this.process(buf);
  }

  private process(chunk: Buffer): void {
    this.decoder.begin(chunk, Date.now());
    this.framer.push(chunk);
    this.flush();
  }

  private flush(): void {
    const events = this.decoder.take();
    if (events.length === 0) return;
    this.pendingAcks++;
    const ack = new BatchAck((outcome) => {
      if (outcome === 'rejected') this.lost = true;
      this.pendingAcks--;
      if (this.ended && this.pendingAcks === 0) this.closeWrite();
    });
    const ready = this.ctx.router.dispatch(this.source.name, events, ack, true);
    if (!ready && !this.waiting) {
      this.waiting = true;
      this.socket.pause();
      this.ctx.router.whenReady(this.source.name, () => {
        this.waiting = false;
        if (!this.socket.destroyed) this.socket.resume();
      });
    }
  }

  /** The peer finished sending (or idled out): hand over the rest, close once it is queued. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.handleGathered();
    this.framer.end();
    this.flush();
    if (this.pendingAcks === 0) this.closeWrite();
  }

  /**
   * Closes our side once everything read is queued. With close_confirmation, a peer that
   * ended first gets the confirmation line before our FIN, so it can tell a safe close from
   * a crash (a killed process's kernel sends a FIN too); if anything was lost, a reset.
   */
  private closeWrite(): void {
    if (this.socket.destroyed) return;
    if (this.confirm && this.lost) {
      // No confirmation: TCP gets a reset; TLS and unix sockets (which cannot reset) a plain close.
      try { this.socket.resetAndDestroy(); } catch { this.socket.destroy(); }
      return;
    }
    if (this.confirm && this.peerEnded) this.socket.end(CLOSE_CONFIRMATION);
    else this.socket.end();
    // A peer that never closes its side must not hold the slot forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  shutdown(): void {
    this.socket.pause();
    this.finish();
  }
}
