// Memory buffer acks: released when queued, or held until delivered (untilDelivered acks and
// durable destinations such as the store), across batches that take() splits and merges.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import { LogEvent } from '../../src/event/log-event.js';
import { BatchAck, type AckOutcome } from '../../src/pipeline/acknowledgement.js';

const SRC = { name: 'net', transport: 'tcp' as const, address: '127.0.0.1', port: 1, tlsPeer: null };
const events = (n: number) => Array.from({ length: n }, (_, i) => LogEvent.fromValues(SRC, 0, { message: `m${i}` }));

function tracked(untilDelivered: boolean): { ack: BatchAck; outcomes: AckOutcome[] } {
  const outcomes: AckOutcome[] = [];
  const ack = new BatchAck((o) => outcomes.push(o), untilDelivered);
  return { ack, outcomes };
}

/** Pushes and releases the source's own hold, as the router does after dispatch. */
function push(b: MemoryBuffer, n: number, untilDelivered: boolean): AckOutcome[] {
  const t = tracked(untilDelivered);
  b.push(events(n), t.ack, true);
  t.ack.release();
  return t.outcomes;
}

describe('MemoryBuffer acknowledgements', () => {
  test('an ordinary ack is released as soon as the batch is queued', () => {
    const b = new MemoryBuffer(1 << 20, 'block');
    assert.deepEqual(push(b, 3, false), ['delivered']);
  });

  test('an untilDelivered ack waits for the commit of its last event', () => {
    const b = new MemoryBuffer(1 << 20, 'block');
    const first = push(b, 3, false); // queued ahead, not tracked
    const held = push(b, 4, true);
    assert.deepEqual(first, ['delivered']);
    assert.deepEqual(held, []);
    assert.equal(b.take(2)!.length, 2);
    b.commit();
    assert.equal(b.take(2)!.length, 2); // the last untracked event and the first held one
    b.commit();
    assert.deepEqual(held, [], 'three of its events are still queued');
    assert.equal(b.take(5)!.length, 3);
    assert.deepEqual(held, [], 'taken is not delivered');
    b.commit();
    assert.deepEqual(held, ['delivered']);
  });

  test('a durable destination holds every ack until delivery, in order', () => {
    const b = new MemoryBuffer(1 << 20, 'block', true);
    const a1 = push(b, 2, false), a2 = push(b, 2, false);
    assert.deepEqual([a1, a2], [[], []]);
    b.take(3); b.commit();
    assert.deepEqual([a1, a2], [['delivered'], []]);
    b.take(3); b.commit();
    assert.deepEqual([a1, a2], [['delivered'], ['delivered']]);
  });

  test('a full drop_newest buffer rejects a held ack at once', () => {
    const b = new MemoryBuffer(1000, 'drop_newest', true);
    push(b, 10, false);
    assert.equal(b.full, true);
    assert.deepEqual(push(b, 1, true), ['rejected']);
  });
});

describe('MemoryBuffer with several batches taken', () => {
  test('takes follow one another; commits release in take order; untake puts all back in order', () => {
    const b = new MemoryBuffer(1 << 20, 'block', true);
    const acks = [push(b, 2, true), push(b, 2, true), push(b, 2, true)];
    const one = b.take(2)!;
    const two = b.take(2)!;
    assert.notEqual(one, two);
    assert.deepEqual([...one, ...two].map((e) => e.message), ['m0', 'm1', 'm0', 'm1']);
    assert.equal(b.events, 6, 'taken is still held');
    b.commit();
    assert.deepEqual(acks.map((a) => a.length), [1, 0, 0], 'the first take is the one committed');
    b.untake();
    assert.equal(b.events, 4);
    const again = b.take(10)!;
    assert.equal(again.length, 4, 'the second batch back at the front, then the third');
    b.commit();
    assert.deepEqual(acks, [['delivered'], ['delivered'], ['delivered']]);
  });

  test('take beyond maxTaken without a commit is a bug in the caller and throws', () => {
    const b = new MemoryBuffer(1 << 20, 'block');
    for (let i = 0; i <= b.maxTaken; i++) push(b, 1, false);
    for (let i = 0; i < b.maxTaken; i++) assert.ok(b.take(1));
    assert.throws(() => b.take(1), /taken and not committed/);
  });
});
