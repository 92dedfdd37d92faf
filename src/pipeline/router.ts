// Log paths: routes each source's batches through filters to destination runners.
//
// syslog-ng's model: paths are tried in order; an event goes to every matching path's
// destinations (once per destination); a `final` path that matched stops the search;
// `fallback` paths see only events that no ordinary path took.

import type { LogEvent } from '../event/log-event.js';
import type { Filter } from '../filter/compile.js';
import type { TransformChain } from '../transforms/chain.js';
import type { BatchAck } from './acknowledgement.js';
import type { DestinationRunner } from './destination-runner.js';

export interface LogPath {
  from: string[];
  filter: Filter | null;
  to: DestinationRunner[];
  final: boolean;
  fallback: boolean;
  /** The path's transforms (copy on write); absent or null: events go on as they are. */
  transform?: TransformChain | null;
  /** Rule sets this path feeds; their alerts are routed as if a source of that name sent them. */
  rules?: RuleSink[];
}

/** A rule set as the router sees it: events in, alert events out. */
export interface RuleSink {
  readonly name: string;
  process(events: LogEvent[]): LogEvent[];
}

interface RuleSlot {
  sink: RuleSink;
  events: LogEvent[];
  last: LogEvent | null;
}

interface SourceRoute {
  /** Ordinary paths first, then fallback paths. */
  paths: LogPath[];
  fallbackFrom: number;
  /** Every destination this source can reach (for backpressure). */
  reachable: DestinationRunner[];
  /** One unfiltered path and no fallback: the whole batch goes straight through. */
  direct: DestinationRunner[] | null;
  /** Events that no path took. */
  unrouted: number;
}

interface Slot {
  runner: DestinationRunner;
  events: LogEvent[];
  last: LogEvent | null;
}

interface Held {
  source: string;
  events: LogEvent[];
  ack: BatchAck | null;
  canWait: boolean;
}

export class Router {
  private readonly routes = new Map<string, SourceRoute>();
  private readonly waiters = new Map<DestinationRunner, Set<() => void>>();
  /** While a reload swaps destinations: batches held (with their acks) and sources waiting. */
  private held: Held[] | null = null;
  private heldWaiters: (() => void)[] = [];

  constructor(paths: LogPath[], sourceNames: string[], runners: DestinationRunner[]) {
    this.reconfigure(paths, sourceNames, runners);
  }

  /** Replaces the paths and destinations (a reload); events in flight are not affected. */
  reconfigure(paths: LogPath[], sourceNames: string[], runners: DestinationRunner[]): void {
    const unrouted = new Map([...this.routes].map(([n, r]) => [n, r.unrouted]));
    this.routes.clear();
    for (const name of sourceNames) {
      const mine = paths.filter((p) => p.from.includes(name));
      const ordered = [...mine.filter((p) => !p.fallback), ...mine.filter((p) => p.fallback)];
      const reachable = [...new Set(ordered.flatMap((p) => p.to))];
      const only = ordered.length === 1 ? ordered[0]! : null;
      const plain = only !== null && !only.transform && !(only.rules && only.rules.length);
      const direct = only && plain && only.filter === null && !only.fallback ? [...new Set(only.to)] : null;
      this.routes.set(name, { paths: ordered, fallbackFrom: mine.filter((p) => !p.fallback).length, reachable, direct, unrouted: unrouted.get(name) ?? 0 });
    }
    const before = this.waiters;
    const waiters = new Map<DestinationRunner, Set<() => void>>();
    for (const r of runners) {
      waiters.set(r, before.get(r) ?? new Set());
      r.onDrain = () => this.drained(r);
    }
    // Sources waiting on a destination that is gone try again against the new routes.
    const orphans: (() => void)[] = [];
    for (const [r, set] of before) if (!waiters.has(r)) orphans.push(...set);
    this.waiters.clear();
    for (const [r, set] of waiters) this.waiters.set(r, set);
    for (const f of orphans) queueMicrotask(f);
  }

  /** Holds every batch (sources see back-pressure) until resume(). */
  pause(): void {
    this.held ??= [];
  }

  /** Routes what was held while paused, then lets the sources go on. */
  resume(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (const h of held) this.dispatch(h.source, h.events, h.ack, h.canWait);
    const w = this.heldWaiters;
    this.heldWaiters = [];
    for (const f of w) f();
  }

  /**
   * Routes a source's batch. `canWait`: the source can pause (TCP) rather than lose
   * events when a block-policy buffer is full. Returns true when the source may send
   * more now; false means wait for whenReady().
   */
  dispatch(source: string, events: LogEvent[], ack: BatchAck | null, canWait: boolean): boolean {
    if (this.held !== null) {
      // The source's own hold on `ack` carries over to the real dispatch at resume().
      this.held.push({ source, events, ack, canWait });
      return false;
    }
    const route = this.routes.get(source);
    if (route === undefined || events.length === 0) {
      if (route) route.unrouted += events.length;
      ack?.release();
      return true;
    }
    if (route.direct !== null) {
      for (const r of route.direct) r.push(events, ack, canWait);
    } else {
      this.fanOut(route, events, ack, canWait);
    }
    ack?.release();
    for (const r of route.reachable) if (r.blocking) return false;
    return true;
  }

  private fanOut(route: SourceRoute, events: LogEvent[], ack: BatchAck | null, canWait: boolean): void {
    const slots = new Map<DestinationRunner, Slot>();
    let ruleSlots: Map<RuleSink, RuleSlot> | null = null;
    const paths = route.paths;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      let taken = false;
      for (let j = 0; j < paths.length; j++) {
        if (j === route.fallbackFrom && taken) break;
        const path = paths[j]!;
        if (path.filter !== null && !path.filter(ev)) continue;
        taken = true;
        // A transformed copy goes on; `ev` stays the key for "once per destination".
        const out = path.transform ? path.transform.run(ev) : ev;
        if (out === null) { if (path.final) break; continue; }
        for (const runner of path.to) {
          let slot = slots.get(runner);
          if (slot === undefined) slots.set(runner, (slot = { runner, events: [], last: null }));
          if (slot.last !== ev) {
            slot.events.push(out);
            slot.last = ev;
          }
        }
        if (path.rules) {
          for (const sink of path.rules) {
            ruleSlots ??= new Map();
            let rs = ruleSlots.get(sink);
            if (rs === undefined) ruleSlots.set(sink, (rs = { sink, events: [], last: null }));
            if (rs.last !== ev) { rs.events.push(out); rs.last = ev; }
          }
        }
        if (path.final) break;
      }
      if (!taken) route.unrouted++;
    }
    for (const slot of slots.values()) slot.runner.push(slot.events, ack, canWait);
    if (ruleSlots !== null) {
      // Alerts are new events, not part of the source's batch: they carry no acknowledgement.
      for (const rs of ruleSlots.values()) {
        const alerts = rs.sink.process(rs.events);
        if (alerts.length) this.dispatch(rs.sink.name, alerts, null, false);
      }
    }
  }

  /** Calls `cb` once when every destination `source` reaches has room again. */
  whenReady(source: string, cb: () => void): void {
    if (this.held !== null) { this.heldWaiters.push(() => this.whenReady(source, cb)); return; }
    const route = this.routes.get(source);
    const blocking = route?.reachable.find((r) => r.blocking);
    if (!blocking) { queueMicrotask(cb); return; }
    this.waiters.get(blocking)!.add(() => this.whenReady(source, cb));
  }

  private drained(runner: DestinationRunner): void {
    const set = this.waiters.get(runner);
    if (set === undefined || set.size === 0) return; // a runner a reload retired
    const list = [...set];
    set.clear();
    for (const f of list) f();
  }

  unroutedCount(source: string): number {
    return this.routes.get(source)?.unrouted ?? 0;
  }
}
