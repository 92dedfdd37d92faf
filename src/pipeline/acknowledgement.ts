// Batch acknowledgement: a source learns when every destination has safely taken its batch.
//
// The source creates one BatchAck per batch it wants to acknowledge upstream (RELP rsp,
// HTTP 200, broker ack). Each destination buffer that takes part of the batch holds it and
// releases it once the events are durable there (disk buffer: written; memory buffer:
// queued, or delivered when `untilDelivered` or the destination is itself durable, as the
// store is). When the last holder releases, the source's callback runs once.

export type AckOutcome = 'delivered' | 'rejected';

export class BatchAck {
  private holders = 1;
  private rejected = false;
  private settled = false;

  /**
   * `untilDelivered`: the source's upstream keeps what is not acknowledged (a broker, a file
   * checkpoint), so a memory buffer holds this ack until the events are delivered, not queued.
   */
  constructor(private readonly onSettled: (outcome: AckOutcome) => void, readonly untilDelivered = false) {}

  hold(): void {
    if (this.settled) throw new Error('BatchAck.hold after settle');
    this.holders++;
  }

  /** `ok=false` means a holder could not take the events (e.g. buffer full under drop_newest). */
  release(ok = true): void {
    if (!ok) this.rejected = true;
    if (--this.holders === 0 && !this.settled) {
      this.settled = true;
      this.onSettled(this.rejected ? 'rejected' : 'delivered');
    }
  }
}
