// A log path's transforms in order, with copy on write: an event is copied once, before the first transform that changes it.

import type { LogEvent } from '../event/log-event.js';
import type { Transform } from './types.js';

export class TransformChain {
  private readonly list: Transform[];

  constructor(transforms: Transform[]) {
    this.list = transforms;
  }

  /** The event as this path's destinations get it, or null when a transform dropped it. */
  run(ev: LogEvent): LogEvent | null {
    const list = this.list;
    let cur: LogEvent | null = ev;
    let owned = false;
    for (let i = 0; i < list.length && cur !== null; i++) {
      const t = list[i]!;
      if (t.writes && !owned) { cur = cur.clone(); owned = true; }
      cur = t.apply(cur);
    }
    return cur;
  }
}
