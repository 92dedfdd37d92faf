// The histogram's step ladder and its calendar alignment (UTC).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketStart, chooseStep, fillBuckets, STEPS } from '../../src/web/hits-step.js';

const step = (name: string) => STEPS.find((s) => s.name === name)!;

describe('histogram steps', () => {
  it('chooses the smallest step giving at most 100 buckets', () => {
    assert.equal(chooseStep(60_000).name, '1s');
    assert.equal(chooseStep(15 * 60_000).name, '10s');
    assert.equal(chooseStep(3600_000).name, '1m');
    assert.equal(chooseStep(24 * 3600_000).name, '30m');
    assert.equal(chooseStep(7 * 86400_000).name, '3h');
    assert.equal(chooseStep(90 * 86400_000).name, '1d');
    assert.equal(chooseStep(365 * 86400_000).name, '7d');
    assert.equal(chooseStep(20 * 365 * 86400_000).name, '30d');
  });

  it('weeks start on Monday 00:00 UTC, months on the 1st', () => {
    const t = Date.UTC(2026, 11, 3, 15, 7); // Thursday 3 Dec 2026
    assert.equal(new Date(bucketStart(t, step('7d'))).toISOString(), '2026-11-30T00:00:00.000Z');
    assert.equal(new Date(bucketStart(t, step('30d'))).toISOString(), '2026-12-01T00:00:00.000Z');
    assert.equal(new Date(bucketStart(t, step('3h'))).toISOString(), '2026-12-03T15:00:00.000Z');
    assert.equal(new Date(bucketStart(t, step('1d'))).toISOString(), '2026-12-03T00:00:00.000Z');
  });

  it('fills empty buckets and adds day counts into months', () => {
    const from = Date.UTC(2026, 0, 15), to = Date.UTC(2026, 3, 2);
    const days = [{ time: Date.UTC(2026, 0, 20), count: 2 }, { time: Date.UTC(2026, 0, 31), count: 3 }, { time: Date.UTC(2026, 2, 1), count: 5 }];
    const b = fillBuckets({ from, to }, step('30d'), days);
    assert.deepEqual(b.map((x) => [new Date(x.time).toISOString().slice(0, 10), x.count]), [
      ['2026-01-01', 5], ['2026-02-01', 0], ['2026-03-01', 5], ['2026-04-01', 0],
    ]);
  });
});
