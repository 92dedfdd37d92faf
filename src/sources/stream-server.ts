// A stream listener (TCP, TLS, unix) that admits only what a source allows: addresses,
// connection limits and TLS client identities, each refusal counted once.

import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { ListenAddress } from '../config/units.js';
import { SluiceError } from '../errors.js';
import { AllowList, ConnectionLimits, normalizeAddress } from '../net/access.js';
import type { TlsServerConfig } from '../net/tls-config.js';
import type { ServerCertificates } from '../net/tls-reload.js';
import { ClientIdentityPolicy, subjectText } from '../net/tls-server.js';
import type { SourceStats } from './stats.js';

export interface GuardedServerOptions {
  address: ListenAddress;
  component: string;
  stats: SourceStats;
  allow: readonly string[];
  limits: ConnectionLimits;
  /** TLS listener: its certificates (reloadable, see tls-reload.ts) and the policy for client identities. */
  tls: { certificates: ServerCertificates; config: TlsServerConfig } | null;
  /** An admitted connection (TLS: after the handshake and identity checks). */
  onOpen: (socket: net.Socket, tlsPeer: string | null) => void;
}

export class GuardedStreamServer {
  private server: net.Server | null = null;
  /** TLS: accepted sockets whose handshake has not finished (destroyed on stop). */
  private readonly handshaking = new Set<net.Socket>();
  /** Admitted sockets → the release of their connection slot (once, at close or earlier). */
  private readonly slots = new Map<net.Socket, () => void>();
  /** TLS: raw sockets refused at accept, whose resulting handshake error is not a second problem. */
  private readonly refused = new WeakSet<net.Socket>();
  private readonly allow: AllowList;
  private readonly identity: ClientIdentityPolicy | null;
  private boundPort = 0;

  constructor(private readonly o: GuardedServerOptions) {
    this.allow = new AllowList(o.allow);
    this.identity = o.tls ? new ClientIdentityPolicy(o.tls.config) : null;
  }

  get url(): string {
    const a = this.o.address;
    if (a.scheme === 'unix') return a.text;
    return `${a.scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const a = this.o.address;
    // allowHalfOpen: after the peer's FIN the source still answers, and closes its side only
    // once what it read is safely queued; a sender waiting for that close knows it arrived.
    // TLS sockets get it after the handshake: a client that leaves before then is closed.
    const server = this.o.tls ? tls.createServer(this.o.tls.certificates.options) : net.createServer({ allowHalfOpen: true });
    this.server = server;
    if (this.o.tls) {
      this.o.tls.certificates.attach(server as tls.Server);
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
        this.drop(s);
        if (this.refused.has(rawOf(s))) return;
        this.o.stats.refused('tls_handshake', 'TLS handshake failed', { peer: s.remoteAddress, listener: a.text, error: err.message });
      });
    } else {
      server.on('connection', (s: net.Socket) => { if (this.admit(s)) this.open(s, null); });
    }
    if (a.scheme === 'unix') removeStaleSocket(a.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.o.component}: cannot listen on ${a.text}: ${(e as Error).message}`, { cause: e })));
      if (a.scheme === 'unix') server.listen(a.path, resolve);
      else server.listen({ host: a.host, port: a.port, backlog: 1024 }, resolve);
    });
    server.on('error', (e) => this.o.stats.error('accepting', 'listener_error', `listener ${a.text} failed: ${e.message}`));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Access checks at accept time, before any TLS work; false = refused and destroyed. */
  private admit(socket: net.Socket): boolean {
    const unix = this.o.address.scheme === 'unix';
    const peer = unix ? 'local' : normalizeAddress(socket.remoteAddress ?? '');
    const stats = this.o.stats;
    socket.on('error', () => {});
    if (!unix && !this.allow.allows(peer)) {
      stats.refused('not_allowed', 'connection from an address not in allow', { peer, listener: this.o.address.text });
      socket.destroy();
      return false;
    }
    const why = this.o.limits.acquire(peer);
    if (why !== null) {
      stats.refused(why, `connection refused: ${why} reached`, { peer, listener: this.o.address.text, open: this.o.limits.total });
      socket.destroy();
      return false;
    }
    stats.open.inc();
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.slots.delete(socket);
      this.o.limits.release(peer);
      stats.open.dec();
    };
    this.slots.set(socket, release);
    socket.once('close', release);
    return true;
  }

  /**
   * Closes a TLS connection refused after accept and frees its slot now, not when 'close'
   * comes a turn later: a client that saw the refusal counted may connect again at once.
   */
  private drop(s: tls.TLSSocket): void {
    s.destroy();
    this.slots.get(rawOf(s))?.();
  }

  private secured(s: tls.TLSSocket): void {
    const stats = this.o.stats;
    let tlsPeer: string | null = null;
    const cert = s.getPeerX509Certificate?.();
    if (cert) {
      if (!s.authorized) {
        // client_auth optional: a certificate that does not verify is refused, not ignored.
        this.drop(s);
        stats.refused('tls_unverified', 'client certificate does not verify against tls.ca', { peer: s.remoteAddress, subject: subjectText(cert), error: String(s.authorizationError) });
        return;
      }
      tlsPeer = subjectText(cert);
    }
    if (this.identity?.restricts && (!cert || !this.identity.allows(cert))) {
      this.drop(s);
      stats.refused('tls_identity', 'client certificate is not in allow_subjects / allow_fingerprints', {
        peer: s.remoteAddress, subject: tlsPeer, fingerprint: cert ? cert.fingerprint256 : null,
      });
      return;
    }
    this.open(s, tlsPeer);
  }

  private open(socket: net.Socket, tlsPeer: string | null): void {
    this.o.stats.accepted.inc();
    this.o.onOpen(socket, tlsPeer);
  }

  /**
   * Stops accepting and drops unfinished handshakes; `closeOpen` lets admitted connections
   * finish their work; resolves when every connection is closed.
   */
  async stop(closeOpen: () => Promise<unknown> | void): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.o.tls?.certificates.detach(server as tls.Server);
    for (const raw of this.handshaking) raw.destroy();
    await closeOpen();
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
