// Advances a checkpoint in read order as acknowledgements settle, whatever order they settle in.
//
// Each dispatched batch gets a ticket holding the position just past its last event. A later
// batch that settles first must not move the checkpoint past an earlier unsettled one, so the
// committed position is that of the longest settled prefix of tickets.

export class OrderedCommit<P> {
  private readonly pending: { pos: P; done: boolean }[] = [];
  private head = 0;

  constructor(private committedPos: P) {}

  get committed(): P {
    return this.committedPos;
  }

  get unsettled(): number {
    return this.pending.length - this.head;
  }

  /** Registers a batch; call the returned function once it settled. Returns whether `committed` moved. */
  ticket(pos: P): () => boolean {
    const t = { pos, done: false };
    this.pending.push(t);
    return () => {
      t.done = true;
      let moved = false;
      while (this.head < this.pending.length && this.pending[this.head]!.done) {
        this.committedPos = this.pending[this.head]!.pos;
        this.head++;
        moved = true;
      }
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
      return moved;
    };
  }

  /** Sets the position outright when nothing is in flight (e.g. a file truncated and re-read). */
  reset(pos: P): void {
    this.pending.length = 0;
    this.head = 0;
    this.committedPos = pos;
  }
}
