// The NetFlow source: v5, v9 and IPFIX over UDP, each flow one event.
//
// Event: fields named after the IPFIX information elements (fields.sourceIPv4Address,
// fields.octetDeltaCount, ...; addresses as strings, counters as numbers), hostname the
// exporter's address, appname "netflow", timestamp the flow's end, message a one-line summary.
// UDP is best effort: nothing is acknowledged, so datagrams go to the router as they come.

import dgram from 'node:dgram';
import type { ListenAddress } from '../../config/units.js';
import { LogEvent, type EventSource } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { AllowList, normalizeAddress } from '../../net/access.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { netflowSourceInfo, type NetflowSourceConfig } from './config.js';
import { NetflowDecoder, type Flow } from './decoder.js';

export { netflowSourceSchema, type NetflowSourceConfig } from './config.js';

interface Socket { address: ListenAddress; socket: dgram.Socket; port: number }

export class NetflowSource implements Source {
  private readonly stats: SourceStats;
  private readonly decoder: NetflowDecoder;
  private readonly allow: AllowList;
  private readonly sockets: Socket[] = [];
  private readonly sources = new Map<string, EventSource>();
  /** Flows decoded, for tests. */
  flows = 0;

  constructor(private readonly cfg: NetflowSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.allow = new AllowList(cfg.allow);
    this.decoder = new NetflowDecoder(
      { maxTemplates: cfg.max_templates, maxWaitingBytes: cfg.template_wait_bytes, waitingTtlMs: cfg.template_wait },
      (p) => this.stats.error('decoding', p.type, p.message, undefined, p.type === 'sequence_gap' || p.type === 'exporter_restart' ? 'info' : 'warn'),
    );
  }

  async start(): Promise<void> {
    for (const address of this.cfg.listen) {
      const socket = dgram.createSocket({ type: address.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: this.cfg.udp_receive_buffer });
      socket.on('message', (msg, rinfo) => this.datagram(msg, rinfo));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${address.text}: ${e.message}`, { cause: e })));
        socket.bind(address.port, address.host, () => resolve());
      });
      socket.on('error', (e) => this.stats.error('receiving', 'socket_error', `socket ${address.text} failed: ${e.message}`));
      this.sockets.push({ address, socket, port: socket.address().port });
    }
  }

  addresses(): string[] {
    return this.sockets.map((s) => `udp://${s.address.host.includes(':') ? `[${s.address.host}]` : s.address.host}:${s.port}`);
  }

  private datagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const peer = normalizeAddress(rinfo.address);
    if (!this.allow.allows(peer)) {
      this.stats.dropped('not_allowed', 1);
      return;
    }
    this.stats.bytes.inc(msg.length);
    const now = Date.now();
    let flows;
    try {
      flows = this.decoder.decode(msg, peer + ':' + rinfo.port, now);
    } catch (e) {
      // Whatever a datagram holds, it must not stop the daemon.
      this.stats.error('decoding', 'malformed', `datagram from ${peer} could not be decoded: ${(e as Error).message}`);
      return;
    }
    if (flows.length === 0) return;
    const source = this.sourceFor(peer, rinfo.port);
    const events: LogEvent[] = new Array(flows.length);
    for (let i = 0; i < flows.length; i++) events[i] = flowEvent(flows[i]!, source, peer, now);
    this.flows += flows.length;
    this.stats.received.inc(events.length);
    this.ctx.router.dispatch(this.ctx.name, events, null, false);
  }

  private sourceFor(address: string, port: number): EventSource {
    const key = address + ':' + port;
    let s = this.sources.get(key);
    if (s === undefined) {
      if (this.sources.size > 10_000) this.sources.clear();
      this.sources.set(key, (s = { name: this.ctx.name, transport: 'udp', address, port, tlsPeer: null }));
    }
    return s;
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.socket.close(() => resolve()))));
  }
}

function flowEvent(f: Flow, source: EventSource, exporter: string, now: number): LogEvent {
  const src = f.sourceIPv4Address ?? f.sourceIPv6Address;
  const dst = f.destinationIPv4Address ?? f.destinationIPv6Address;
  const end = f.flowEndMilliseconds ?? f.flowEndSeconds;
  const endMs = typeof end === 'number' ? (f.flowEndMilliseconds !== undefined ? end : end * 1000) : null;
  const message = `${src ?? '?'}:${f.sourceTransportPort ?? 0} -> ${dst ?? '?'}:${f.destinationTransportPort ?? 0} proto ${f.protocolIdentifier ?? '?'} packets ${f.packetDeltaCount ?? f.packetTotalCount ?? 0} bytes ${f.octetDeltaCount ?? f.octetTotalCount ?? 0}`;
  return LogEvent.fromValues(source, now, {
    timestamp: endMs !== null && endMs > 0 ? new Date(endMs).toISOString() : null,
    hostname: exporter,
    appname: 'netflow',
    facility: 16,
    severity: 6,
    message,
    fields: f,
  });
}

export const netflowSourceKind: SourceKind = {
  ...netflowSourceInfo,
  build: (config, ctx) => new NetflowSource(config as NetflowSourceConfig, ctx),
};
