// The RELP source: acknowledged syslog from rsyslog's omrelp (and any librelp client), plain or TLS.

import { ConnectionLimits } from '../../net/access.js';
import { ServerCertificates } from '../../net/tls-reload.js';
import { listenerTlsOptions } from '../../net/tls-server.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { relpSourceInfo, type RelpSourceConfig } from './config.js';
import { RelpListener } from './listener.js';

export { relpSourceSchema, type RelpSourceConfig } from './config.js';

export class RelpSource implements Source {
  private readonly listeners: RelpListener[] = [];
  private readonly stats: SourceStats;
  private certificates: ServerCertificates | null = null;

  constructor(private readonly cfg: RelpSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const limits = new ConnectionLimits(cfg.max_connections, cfg.max_connections_per_peer);
    if (cfg.tls) {
      const component = `source ${this.ctx.name}`;
      this.certificates = new ServerCertificates(cfg.tls, this.ctx.baseDir, component, await listenerTlsOptions(cfg.tls, this.ctx.baseDir, component));
    }
    for (const a of cfg.listen) {
      const l = new RelpListener(a, this.ctx, cfg, this.stats, limits, this.certificates);
      this.listeners.push(l);
      await l.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.stop()));
  }

  addresses(): string[] {
    return this.listeners.map((l) => l.url);
  }

  reload(): void {
    this.certificates?.check();
  }
}

export const relpSourceKind: SourceKind = {
  ...relpSourceInfo,
  build: (config, ctx) => new RelpSource(config as RelpSourceConfig, ctx),
};
