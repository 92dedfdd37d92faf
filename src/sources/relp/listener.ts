// A RELP listener (plain TCP or TLS): access control and limits at accept time, one RelpSession per connection.

import type { ServerCertificates } from '../../net/tls-reload.js';
import type net from 'node:net';
import type { ListenAddress } from '../../config/units.js';
import type { EventSource } from '../../event/log-event.js';
import { normalizeAddress, type ConnectionLimits } from '../../net/access.js';
import type { SourceStats } from '../stats.js';
import { GuardedStreamServer } from '../stream-server.js';
import type { SourceContext } from '../types.js';
import type { RelpSourceConfig } from './config.js';
import { RelpSession } from './session.js';

export class RelpListener {
  private readonly sessions = new Set<RelpSession>();
  private readonly server: GuardedStreamServer;

  constructor(
    readonly address: ListenAddress,
    private readonly ctx: SourceContext,
    private readonly cfg: RelpSourceConfig,
    private readonly stats: SourceStats,
    limits: ConnectionLimits,
    certificates: ServerCertificates | null,
  ) {
    this.server = new GuardedStreamServer({
      address, component: ctx.name, stats, allow: cfg.allow, limits,
      tls: certificates && cfg.tls ? { certificates, config: cfg.tls } : null,
      onOpen: (socket, tlsPeer) => this.open(socket, tlsPeer),
    });
  }

  get url(): string {
    return this.server.url;
  }

  start(): Promise<void> {
    return this.server.start();
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
  stop(): Promise<void> {
    return this.server.stop(() => Promise.all([...this.sessions].map((s) => s.shutdown())));
  }
}
