// Failed sign-ins per client address: after a few, the address waits, longer each time.
//
// Bounded in memory: one entry per address seen failing in the last window, at most MAX_CLIENTS.

const WINDOW_MS = 60_000;
const FREE_FAILURES = 5;
const BASE_DELAY_MS = 5_000;
const MAX_DELAY_MS = 15 * 60_000;
const MAX_CLIENTS = 50_000;

interface Entry {
  failures: number;
  first: number;
  blockedUntil: number;
}

export class FailureLimiter {
  private readonly clients = new Map<string, Entry>();

  constructor(private readonly freeFailures = FREE_FAILURES, private readonly windowMs = WINDOW_MS) {}

  /** Milliseconds the address must still wait (0 when it may try). */
  retryAfter(addr: string, now = Date.now()): number {
    const e = this.clients.get(addr);
    if (!e) return 0;
    return Math.max(0, e.blockedUntil - now);
  }

  fail(addr: string, now = Date.now()): void {
    let e = this.clients.get(addr);
    if (e && now - e.first > this.windowMs && e.blockedUntil < now) {
      this.clients.delete(addr);
      e = undefined;
    }
    if (!e) {
      if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
      e = { failures: 0, first: now, blockedUntil: 0 };
      this.clients.set(addr, e);
    }
    e.failures++;
    if (e.failures >= this.freeFailures) {
      // BASE_DELAY_MS once the free failures are used up, doubling with each further one, capped.
      const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(20, e.failures - this.freeFailures));
      e.blockedUntil = now + delay;
    }
  }

  succeed(addr: string): void {
    this.clients.delete(addr);
  }
}
