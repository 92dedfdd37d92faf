// The runner's window of batches in flight: a destination that takes several at once gets
// them, answers may come in any order, and the buffer commits (and acks release) in take order.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import type { Destination, SendResult } from '../../src/destinations/types.js';
import { LogEvent } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { BatchAck, type AckOutcome } from '../../src/pipeline/acknowledgement.js';
import { DeadLetterFile } from '../../src/pipeline/dead-letter.js';
import { DestinationRunner } from '../../src/pipeline/destination-runner.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const SRC = { name: 'net', transport: 'tcp' as const, address: '127.0.0.1', port: 1, tlsPeer: null };

/** Holds every send until the test answers it; records what it was sent. */
class WindowDestination implements Destination {
  readonly sends: { events: LogEvent[]; done: (r: SendResult) => void }[] = [];
  constructor(readonly maxBatch: number, readonly maxInFlight: number) {}
  async start(): Promise<void> {}
  send(events: LogEvent[], done: (r: SendResult) => void): void { this.sends.push({ events, done }); }
  async stop(): Promise<void> {}
  /** The messages of send i. */
  messages(i: number): string[] { return this.sends[i]!.events.map((e) => e.message!); }
}

function setup(maxInFlight: number): { dest: WindowDestination; buffer: MemoryBuffer; runner: DestinationRunner; metrics: Metrics } {
  const dest = new WindowDestination(2, maxInFlight);
  const buffer = new MemoryBuffer(1 << 20, 'block', true);
  const metrics = new Metrics();
  const runner = new DestinationRunner('w', dest, buffer, metrics, { initialMs: 5, maxMs: 20 }, new DeadLetterFile(`${tempDir('dl')}/w.ndjson`, 'w'));
  runner.start();
  return { dest, buffer, runner, metrics };
}

/** Pushes one batch of messages with a held ack; returns its outcomes as they come. */
function push(buffer: MemoryBuffer, ...messages: string[]): AckOutcome[] {
  const outcomes: AckOutcome[] = [];
  const ack = new BatchAck((o) => outcomes.push(o));
  buffer.push(messages.map((m) => LogEvent.fromValues(SRC, 0, { message: m })), ack, true);
  ack.release();
  return outcomes;
}

describe('DestinationRunner window', () => {
  test('sends up to maxInFlight batches before the first is answered, never more', () => {
    const { dest, buffer } = setup(3);
    for (let i = 0; i < 5; i++) push(buffer, `a${i}`, `b${i}`);
    assert.equal(dest.sends.length, 3);
    dest.sends[0]!.done({ status: 'ok' });
    assert.equal(dest.sends.length, 4, 'one answer frees one place');
  });

  test('a later batch answered first waits: acks and commits keep the take order', async () => {
    const { dest, buffer, metrics } = setup(2);
    const first = push(buffer, 'a', 'b');
    const second = push(buffer, 'c', 'd');
    assert.equal(dest.sends.length, 2);
    dest.sends[1]!.done({ status: 'ok' });
    assert.deepEqual(second, [], 'not delivered before the batch ahead of it');
    assert.equal(buffer.events, 4);
    dest.sends[0]!.done({ status: 'ok' });
    assert.deepEqual(first, ['delivered']);
    assert.deepEqual(second, ['delivered']);
    assert.equal(buffer.events, 0);
    assert.equal(await metrics.value('sluice_events_sent_total', { component: 'w' }), 4);
  });

  test('a failed first batch is retried; the one behind it that failed with it is sent again at once after it', async () => {
    const { dest, buffer } = setup(2);
    const first = push(buffer, 'a', 'b');
    const second = push(buffer, 'c', 'd');
    const third = push(buffer, 'e', 'f');
    dest.sends[0]!.done({ status: 'retry', error: 'commit failed' });
    // Nothing new is sent while the first waits for its retry.
    dest.sends[1]!.done({ status: 'retry', error: 'refused: an earlier commit failed' });
    assert.equal(dest.sends.length, 2);
    await waitFor(() => dest.sends.length === 3, 'the retry of the first batch');
    assert.deepEqual(dest.messages(2), ['a', 'b']);
    dest.sends[2]!.done({ status: 'ok' });
    assert.deepEqual(first, ['delivered']);
    // The second comes again without a backoff, then the third behind it.
    assert.deepEqual(dest.messages(3), ['c', 'd']);
    assert.deepEqual(dest.messages(4), ['e', 'f']);
    dest.sends[4]!.done({ status: 'ok' });
    assert.deepEqual(third, [], 'behind the unanswered second');
    dest.sends[3]!.done({ status: 'ok' });
    assert.deepEqual(second, ['delivered']);
    assert.deepEqual(third, ['delivered']);
    assert.equal(buffer.events, 0);
  });

  test('a destination without maxInFlight gets one batch at a time', () => {
    const { dest, buffer } = setup(1);
    push(buffer, 'a', 'b');
    push(buffer, 'c', 'd');
    assert.equal(dest.sends.length, 1);
  });
});
