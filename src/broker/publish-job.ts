// One batch being published to a broker as several messages: which are answered, and how.

import type { SendResult } from '../destinations/types.js';
import type { LogEvent } from '../event/log-event.js';
import type { OutMessage } from './wire.js';

/** Per message: not answered yet, taken by the broker (PubAck / confirm), or returned unroutable. */
export const PENDING = 0;
export const CONFIRMED = 1;
export const UNROUTABLE = 2;

export class PublishJob {
  readonly state: Uint8Array;
  remaining: number;
  next = 0;
  inFlight = 0;
  failure: string | null = null;
  done: ((r: SendResult) => void) | null = null;
  constructor(readonly batch: LogEvent[], readonly messages: OutMessage[], readonly oversize: LogEvent[]) {
    this.state = new Uint8Array(messages.length);
    this.remaining = messages.length;
  }
}
