// A RELP listener (plain TCP or TLS): access control and limits at accept time, one RelpSession per connection.

import net from 'node:net';
import tls from 'node:tls';
import type { ListenAddress } from '../../config/units.js';
import type { EventSource } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { AllowList, ConnectionLimits, normalizeAddress } from '../../net/access.js';
import { ClientIdentityPolicy, subjectText } from '../../net/tls-server.js';
import type { SourceStats } from '../stats.js';
import type { SourceContext } from '../types.js';
import type { RelpSourceConfig } from './config.js';
import { RelpSession } from './session.js';

export class RelpListener {
  private server: net.Server | null = null;
  private readonly sessions = new Set<RelpSession>();
  private readonly allow: AllowList;
  private readonly identity: ClientIdentityPolicy | null;
  private boundPort = 0;

  constructor(
    readonly address: ListenAddress,
    private readonly ctx: SourceContext,
    private readonly cfg: RelpSourceConfig,
    private readonly stats: SourceStats,
    private readonly limits: ConnectionLimits,
    private readonly tlsOptions: tls.TlsOptions | null,
  ) {
    this.allow = new AllowList(cfg.allow);
    this.identity = tlsOptions && cfg.tls ? new ClientIdentityPolicy(cfg.tls) : null;
  }

  get url(): string {
    const a = this.address;
    return `${a.scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const a = this.address;
    // allowHalfOpen: a client that shuts down its side still gets the answers it is owed.
    const server = this.tlsOptions
      ? tls.createServer({ ...this.tlsOptions, allowHalfOpen: true })
      : net.createServer({ allowHalfOpen: true });
    this.server = server;
    if (this.tlsOptions) {
      server.on('connection', (raw: net.Socket) => this.admit(raw));
      server.on('secureConnection', (s: tls.TLSSocket) => this.secured(s));
      server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
        this.stats.refused('tls_handshake', 'TLS handshake failed', { peer: s.remoteAddress, listener: a.text, error: err.message });
      });
    } else {
      server.on('connection', (s: net.Socket) => { if (this.admit(s)) this.open(s, null); });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${a.text}: ${(e as Error).message}`, { cause: e })));
      server.listen({ host: a.host, port: a.port, backlog: 1024 }, resolve);
    });
    server.on('error', (e) => this.stats.error('accepting', 'listener_error', `listener ${a.text} failed: ${e.message}`));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Access checks at accept time, before any TLS work; false = refused and destroyed. */
  private admit(socket: net.Socket): boolean {
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    socket.on('error', () => {});
    if (!this.allow.allows(peer)) {
      this.stats.refused('not_allowed', 'connection from an address not in allow', { peer, listener: this.address.text });
      socket.destroy();
      return false;
    }
    const why = this.limits.acquire(peer);
    if (why !== null) {
      this.stats.refused(why, `connection refused: ${why} reached`, { peer, listener: this.address.text, open: this.limits.total });
      socket.destroy();
      return false;
    }
    this.stats.accepted.inc();
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

  private open(socket: net.Socket, tlsPeer: string | null): void {
    const source: EventSource = {
      name: this.ctx.name,
      transport: 'relp',
      address: normalizeAddress(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? null,
      tlsPeer,
    };
    const session = new RelpSession(socket, source, this.ctx, this.cfg, this.stats);
    this.sessions.add(session);
    void session.closed.then(() => this.sessions.delete(session));
  }

  /** Stops accepting; open sessions answer what they read, send serverclose and close. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.sessions].map((s) => s.shutdown()));
    await closed;
  }
}
