// A source's counters, bound once so the hot path only adds numbers.

import type { Counter, Gauge } from 'prom-client';
import { RateLimitedLog, type Level } from '../log.js';
import type { Metrics } from '../metrics/registry.js';

type Child = ReturnType<Counter<string>['labels']>;

export class SourceStats {
  readonly received: Child;
  readonly bytes: Child;
  readonly accepted: Child;
  readonly open: ReturnType<Gauge<string>['labels']>;
  readonly log: RateLimitedLog;
  private readonly errorChildren = new Map<string, Child>();
  private readonly refusedChildren = new Map<string, Child>();
  private readonly droppedChildren = new Map<string, Child>();

  constructor(private readonly metrics: Metrics, readonly component: string) {
    this.received = metrics.eventsReceived.labels({ component });
    this.bytes = metrics.bytesReceived.labels({ component });
    this.accepted = metrics.connectionsAccepted.labels({ component });
    this.open = metrics.connectionsOpen.labels({ component });
    this.log = new RateLimitedLog(`source ${component}`);
  }

  /** Counts a problem and logs it at most once per interval per type. */
  error(stage: string, type: string, msg: string, kv?: Record<string, unknown>, level: Level = 'warn'): void {
    const key = stage + '/' + type;
    let c = this.errorChildren.get(key);
    if (!c) this.errorChildren.set(key, (c = this.metrics.errors.labels({ component: this.component, stage, error_type: type })));
    c.inc();
    this.log.report(level, key, msg, { error_type: type, ...kv });
  }

  refused(reason: string, msg: string, kv?: Record<string, unknown>): void {
    let c = this.refusedChildren.get(reason);
    if (!c) this.refusedChildren.set(reason, (c = this.metrics.connectionsRefused.labels({ component: this.component, reason })));
    c.inc();
    this.log.report('warn', 'refused/' + reason, msg, { reason, ...kv });
  }

  dropped(reason: string, n: number): void {
    let c = this.droppedChildren.get(reason);
    if (!c) this.droppedChildren.set(reason, (c = this.metrics.eventsDropped.labels({ component: this.component, reason })));
    c.inc(n);
  }
}
