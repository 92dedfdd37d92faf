// The HTTP endpoint of the daemon: Prometheus /metrics and /health.

import http from 'node:http';
import type { ListenAddress } from '../config/units.js';
import { SluiceError } from '../errors.js';
import type { Metrics } from '../metrics/registry.js';

export class ApiServer {
  private server: http.Server | null = null;
  private port = 0;

  constructor(private readonly address: ListenAddress, private readonly metrics: Metrics) {}

  get url(): string {
    const h = this.address.host;
    return `http://${h.includes(':') ? `[${h}]` : h}:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `api: cannot listen on ${this.address.text}: ${e.message}`, { cause: e })));
      server.listen(this.address.port, this.address.host, resolve);
    });
    const a = server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (url === '/metrics') {
      const body = await this.metrics.text();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body);
    } else if (url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /health\n');
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
