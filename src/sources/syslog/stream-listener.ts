// TCP, TLS and unix-stream syslog listeners: access control, limits, framing, back-pressure.

import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { StreamFramer } from '../../codec/framing/stream-framer.js';
import type { ListenAddress } from '../../config/units.js';
import type { EventSource, Transport } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { AllowList, ConnectionLimits, normalizeAddress } from '../../net/access.js';
import { ClientIdentityPolicy, subjectText } from '../../net/tls-server.js';
import { BatchAck } from '../../pipeline/acknowledgement.js';
import type { SourceContext } from '../types.js';
import type { SourceStats } from '../stats.js';
import type { SyslogSourceConfig } from './config.js';
import { MessageDecoder } from './decoder.js';

export class StreamListener {
  private server: net.Server | null = null;
  private readonly connections = new Set<Connection>();
  /** TLS: accepted sockets whose handshake has not finished (destroyed on stop). */
  private readonly handshaking = new Set<net.Socket>();
  /** TLS: raw sockets refused at accept, whose resulting handshake error is not a second problem. */
  private readonly refused = new WeakSet<net.Socket>();
  private readonly allow: AllowList;
  private readonly identity: ClientIdentityPolicy | null;
  private boundPort = 0;

  constructor(
    readonly address: ListenAddress,
    private readonly ctx: SourceContext,
    private readonly cfg: SyslogSourceConfig,
    private readonly stats: SourceStats,
    private readonly limits: ConnectionLimits,
    private readonly tlsOptions: tls.TlsOptions | null,
  ) {
    this.allow = new AllowList(cfg.allow);
    this.identity = tlsOptions && cfg.tls ? new ClientIdentityPolicy(cfg.tls) : null;
  }

  get url(): string {
    const a = this.address;
    if (a.scheme === 'unix') return a.text;
    return `${a.scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const a = this.address;
    // allowHalfOpen: after the peer's FIN we still answer with our own close only once
    // its events are safely queued; a sender waiting for that close knows they arrived.
    // (TLS sockets get it after the handshake: a client that leaves before then must be closed.)
    const server = this.tlsOptions
      ? tls.createServer(this.tlsOptions)
      : net.createServer({ allowHalfOpen: true });
    this.server = server;
    if (this.tlsOptions) {
      server.on('connection', (raw: net.Socket) => {
        if (!this.admit(raw)) { this.refused.add(raw); return; }
        this.handshaking.add(raw);
        raw.once('close', () => this.handshaking.delete(raw));
      });
      server.on('secureConnection', (s: tls.TLSSocket) => {
        this.handshaking.delete(rawOf(s));
        s.allowHalfOpen = true;
        this.secured(s);
      });
      server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
        // Node leaves the socket open after a failed or timed-out handshake when this
        // listener exists: close it, or it holds its connection slot for good.
        s.destroy();
        if (this.refused.has(rawOf(s))) return;
        this.stats.refused('tls_handshake', 'TLS handshake failed', { peer: s.remoteAddress, error: err.message });
      });
    } else {
      server.on('connection', (s: net.Socket) => { if (this.admit(s)) this.open(s, null); });
    }
    if (a.scheme === 'unix') removeStaleSocket(a.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${a.text}: ${(e as Error).message}`, { cause: e })));
      if (a.scheme === 'unix') server.listen(a.path, resolve);
      else server.listen({ host: a.host, port: a.port, backlog: 1024 }, resolve);
    });
    server.on('error', (e) => this.stats.error('accepting', 'listener_error', `listener ${a.text} failed: ${e.message}`));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Access checks at accept time, before any TLS work; false = refused and destroyed. */
  private admit(socket: net.Socket): boolean {
    const peer = this.address.scheme === 'unix' ? 'local' : normalizeAddress(socket.remoteAddress ?? '');
    socket.on('error', () => {});
    if (this.address.scheme !== 'unix' && !this.allow.allows(peer)) {
      this.stats.refused('not_allowed', 'connection from an address not in allow', { peer });
      socket.destroy();
      return false;
    }
    const why = this.limits.acquire(peer);
    if (why !== null) {
      this.stats.refused(why, `connection refused: ${why} reached`, { peer, open: this.limits.total });
      socket.destroy();
      return false;
    }
    this.stats.open.inc();
    socket.once('close', () => {
      this.limits.release(peer);
      this.stats.open.dec();
    });
    return true;
  }

  private secured(s: tls.TLSSocket): void {
    let tlsPeer: string | null = null;
    const raw = s.getPeerX509Certificate?.();
    if (raw) {
      if (!s.authorized) {
        // client_auth optional: a certificate that does not verify is refused, not ignored.
        this.stats.refused('tls_unverified', 'client certificate does not verify against tls.ca', { peer: s.remoteAddress, subject: subjectText(raw), error: String(s.authorizationError) });
        s.destroy();
        return;
      }
      tlsPeer = subjectText(raw);
    }
    if (this.identity?.restricts && (!raw || !this.identity.allows(raw))) {
      this.stats.refused('tls_identity', 'client certificate is not in allow_subjects / allow_fingerprints', {
        peer: s.remoteAddress, subject: tlsPeer, fingerprint: raw ? raw.fingerprint256 : null,
      });
      s.destroy();
      return;
    }
    this.open(s, tlsPeer);
  }

  /** A connection that passed every check (for TLS: handshake and identity) starts reading. */
  private open(socket: net.Socket, tlsPeer: string | null): void {
    this.stats.accepted.inc();
    const transport: Transport = this.tlsOptions ? 'tls' : this.address.scheme === 'unix' ? 'unix' : 'tcp';
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
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const raw of this.handshaking) raw.destroy();
    for (const c of this.connections) c.shutdown();
    await closed;
  }
}

/** The TCP socket under a server-side TLS socket (Node keeps it as _parent). */
function rawOf(s: tls.TLSSocket): net.Socket {
  return (s as unknown as { _parent: net.Socket })._parent;
}

function removeStaleSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    // absent: nothing to remove
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
    socket.on('end', () => this.finish());
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
    const ack = new BatchAck(() => {
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

  private closeWrite(): void {
    if (!this.socket.destroyed) this.socket.end();
    // A peer that never closes its side must not hold the slot forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  shutdown(): void {
    this.socket.pause();
    this.finish();
  }
}
