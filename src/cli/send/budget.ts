// Hands out seq numbers to the connections of one run, bounded by count, rate and deadline.
//
// The rate is a schedule (message k is due k/rate seconds after the start), not a sleep per
// message, so timer jitter never accumulates into a slower run.

export type Grant =
  | { kind: 'send'; firstSeq: number; count: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'done' };

export class Budget {
  private taken = 0;
  private readonly deadline: number;

  /**
   * @param total   messages in the run (Infinity: until the deadline)
   * @param rate    messages per second over all connections, 0 = unlimited
   * @param startMs clock reading at the start of sending (performance.now())
   * @param durationMs hard bound on the sending time, 0 = none
   */
  constructor(
    private readonly total: number,
    private readonly rate: number,
    private readonly startMs: number,
    durationMs: number,
  ) {
    this.deadline = durationMs > 0 ? startMs + durationMs : Infinity;
  }

  get deadlineMs(): number {
    return this.deadline;
  }

  /** Up to `max` consecutive seq numbers that may be sent now. */
  take(max: number, nowMs: number): Grant {
    if (this.taken >= this.total || nowMs >= this.deadline) return { kind: 'done' };
    let n = Math.min(max, this.total - this.taken);
    if (this.rate > 0) {
      // Message k is due at start + k/rate; the first goes at once.
      const due = Math.floor(((nowMs - this.startMs) * this.rate) / 1000) + 1;
      n = Math.min(n, due - this.taken);
      if (n <= 0) {
        const nextAt = this.startMs + (this.taken * 1000) / this.rate;
        return { kind: 'wait', ms: Math.max(1, Math.min(nextAt, this.deadline) - nowMs) };
      }
    }
    const firstSeq = this.taken;
    this.taken += n;
    return { kind: 'send', firstSeq, count: n };
  }
}
