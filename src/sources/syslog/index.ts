// The syslog source: UDP, TCP, TLS (RFC 5425) and unix-stream listeners sharing one config.

import { SluiceError } from '../../errors.js';
import { ConnectionLimits } from '../../net/access.js';
import { ServerCertificates } from '../../net/tls-reload.js';
import { listenerTlsOptions } from '../../net/tls-server.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import type { SyslogSourceConfig } from './config.js';
import { StreamListener } from './stream-listener.js';
import { UdpListener } from './udp-listener.js';

export class SyslogSource implements Source {
  private readonly listeners: (StreamListener | UdpListener)[] = [];
  private readonly stats: SourceStats;
  private certificates: ServerCertificates | null = null;

  constructor(private readonly cfg: SyslogSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const limits = new ConnectionLimits(cfg.max_connections, cfg.max_connections_per_peer);
    if (cfg.listen.some((a) => a.scheme === 'tls')) {
      if (!cfg.tls) throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `source ${this.ctx.name}: a tls:// listener needs tls: { cert, key }`);
      const component = `source ${this.ctx.name}`;
      this.certificates = new ServerCertificates(cfg.tls, this.ctx.baseDir, component, await listenerTlsOptions(cfg.tls, this.ctx.baseDir, component));
    }
    for (const a of cfg.listen) {
      const l = a.scheme === 'udp'
        ? new UdpListener(a, this.ctx, cfg, this.stats)
        : new StreamListener(a, this.ctx, cfg, this.stats, limits, a.scheme === 'tls' ? this.certificates : null);
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
