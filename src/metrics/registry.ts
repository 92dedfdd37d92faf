// The daemon's metrics: Prometheus counters and gauges, named sluice_<noun>_<unit>_total.

import client from 'prom-client';

export class Metrics {
  readonly registry = new client.Registry();

  readonly eventsReceived = this.counter('sluice_events_received_total', 'Events read by a source.', ['component']);
  readonly bytesReceived = this.counter('sluice_bytes_received_total', 'Message bytes read by a source.', ['component']);
  readonly eventsSent = this.counter('sluice_events_sent_total', 'Events a destination delivered.', ['component']);
  readonly eventsDropped = this.counter('sluice_events_dropped_total', 'Events discarded, by reason (buffer_full, oversize, rejected, ...).', ['component', 'reason']);
  readonly errors = this.counter('sluice_errors_total', 'Problems by component, stage and error type.', ['component', 'stage', 'error_type']);
  readonly connectionsAccepted = this.counter('sluice_connections_accepted_total', 'Connections accepted by a source.', ['component']);
  readonly connectionsRefused = this.counter('sluice_connections_refused_total', 'Connections refused by a source, by reason.', ['component', 'reason']);
  readonly connectionsOpen = this.gauge('sluice_connections_open', 'Open connections per source.', ['component']);
  private readonly buffers = new Map<string, { events: number; bytes: number }>();
  private readonly capacities = new Map<string, number>();
  readonly bufferCapacity = this.gauge('sluice_buffer_capacity_bytes', 'Byte limit of a destination buffer (sluice top shows fill against it).', ['component'], (g) => {
    for (const [component, c] of this.capacities) g.set({ component }, c);
  });
  readonly bufferEvents = this.gauge('sluice_buffer_events', 'Events waiting in a destination buffer.', ['component'], (g) => {
    for (const [component, b] of this.buffers) g.set({ component }, b.events);
  });
  readonly bufferBytes = this.gauge('sluice_buffer_bytes', 'Bytes waiting in a destination buffer.', ['component'], (g) => {
    for (const [component, b] of this.buffers) g.set({ component }, b.bytes);
  });
  readonly consumerRecoveries = this.counter('sluice_consumer_recoveries_total', 'Times a broker source set its consumer up again, by reason (heartbeats_missed, consumer_deleted, consumer_not_found, stream_not_found).', ['component', 'reason']);
  readonly retries = this.counter('sluice_retries_total', 'Batches a destination will send again.', ['component']);
  readonly configGeneration = this.gauge('sluice_config_generation', 'Config generation running: 1 at start, +1 per applied reload.', []);
  readonly configLastReload = this.gauge('sluice_config_last_reload_timestamp_seconds', 'When a reload was last applied (0: never).', []);
  readonly configLastReloadFailure = this.gauge('sluice_config_last_reload_failure_timestamp_seconds', 'When a reload last failed and the running config was kept (0: never).', []);
  readonly apiAuthFailures = this.counter('sluice_api_auth_failures_total', 'API/UI requests refused by authentication, by reason (missing, invalid, rate_limited, csrf, forbidden).', ['reason']);
  readonly ruleMatches = this.counter('sluice_rule_matches_total', 'Events a detection rule matched, per rule set and rule.', ['component', 'rule']);
  readonly alerts = this.counter('sluice_alerts_total', 'Alerts a rule emitted, per rule set and rule.', ['component', 'rule']);
  readonly ruleStateEvictions = this.counter('sluice_rule_state_evictions_total', 'Groups or windows forgotten because a rule or throttle reached its state bound.', ['component']);
  readonly ruleEventsIn = this.counter('sluice_rule_events_total', 'Events a rule set evaluated.', ['component']);

  private counter<L extends string>(name: string, help: string, labelNames: L[]): client.Counter<L> {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  constructor() {
    // Process RSS, CPU, event-loop lag and heap, as sluice_process_* and sluice_nodejs_*.
    client.collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
  }

  /** Reports a destination buffer's size at every scrape. */
  watchBuffer(component: string, buffer: { events: number; bytes: number }, capacityBytes?: number): void {
    this.buffers.set(component, buffer);
    if (capacityBytes !== undefined) this.capacities.set(component, capacityBytes);
  }

  unwatchBuffer(component: string): void {
    this.buffers.delete(component);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[], collect?: (g: client.Gauge<L>) => void): client.Gauge<L> {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect() { collect(this); } } : {}) });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Current value of one series, for tests and `sluice` status lines. */
  async value(name: string, labels: Record<string, string>): Promise<number> {
    const m = await this.registry.getSingleMetric(name)?.get();
    if (!m) return 0;
    let sum = 0;
    for (const v of m.values) {
      if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) sum += v.value;
    }
    return sum;
  }
}
