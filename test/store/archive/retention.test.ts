// The retention planner with a clock the test sets: age, archive.after, size, and the 2-day floor.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DAY_MS, planRetention, type PartitionInfo } from '../../../src/store/archive/retention.js';

const NOW = Date.UTC(2026, 11, 10, 15, 0); // 2026-12-10 15:00 UTC

/** One partition per day, `days` days back to today, `bytes` each. */
function days(n: number, bytes = 100, now = NOW): PartitionInfo[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: n }, (_, i) => {
    const start = today - (n - 1 - i) * DAY_MS;
    const isToday = i === n - 1;
    return { day: new Date(start).toISOString().slice(0, 10), bytes, firstTime: start, lastTime: isToday ? now : start + DAY_MS - 1, archived: false, open: isToday };
  });
}

describe('retention planner', () => {
  test('max_age: partitions whose newest event is older leave; nothing archived without archives', () => {
    const p = planRetention(days(10), { maxAgeMs: 7 * DAY_MS }, NOW);
    assert.deepEqual(p.drop, ['2026-12-01', '2026-12-02']);
    assert.deepEqual(p.archive, []);
    assert.equal(p.reasons['2026-12-01'], 'max_age');
  });

  test('archive.after: older partitions are archived, then leave the database; archived ones are not archived twice', () => {
    const parts = days(10);
    parts[0]!.archived = true;
    const p = planRetention(parts, { archiveAfterMs: 3 * DAY_MS, maxAgeMs: 30 * DAY_MS }, NOW);
    assert.deepEqual(p.drop, ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06']);
    assert.deepEqual(p.archive, ['2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06']);
    assert.equal(p.reasons['2026-12-06'], 'archive_after');
  });

  test('the clock moves: a day later one more partition is due', () => {
    const a = planRetention(days(5), { maxAgeMs: 2 * DAY_MS }, NOW);
    const b = planRetention(days(5), { maxAgeMs: 2 * DAY_MS }, NOW + DAY_MS);
    assert.deepEqual(a.drop, ['2026-12-06', '2026-12-07']);
    assert.deepEqual(b.drop, ['2026-12-06', '2026-12-07', '2026-12-08']);
  });

  test('max_bytes: oldest first until under the limit', () => {
    const p = planRetention(days(10), { maxBytes: 650 }, NOW);
    assert.deepEqual(p.drop, ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04']);
    assert.equal(p.bytesAfter, 600);
    assert.equal(p.overBudget, false);
    assert.equal(p.reasons['2026-12-04'], 'max_bytes');
  });

  test('the 2-day floor: today and yesterday stay under any size limit; the plan says it is over budget', () => {
    const parts = days(4, 1000);
    parts[3]!.open = false; // even a closed partition of today is kept
    const p = planRetention(parts, { maxBytes: 10 }, NOW);
    assert.deepEqual(p.drop, ['2026-12-07', '2026-12-08']);
    assert.equal(p.bytesAfter, 2000);
    assert.equal(p.overBudget, true);
    // Just after midnight, "yesterday" is the 10th: the 9th may go.
    const p2 = planRetention(parts, { maxBytes: 10 }, Date.UTC(2026, 11, 11, 0, 1));
    assert.deepEqual(p2.drop, ['2026-12-07', '2026-12-08', '2026-12-09']);
  });

  test('min_keep 0 lets size take every closed partition; the open one always stays', () => {
    const p = planRetention(days(3, 1000), { maxBytes: 10, minKeepDays: 0 }, NOW);
    assert.deepEqual(p.drop, ['2026-12-08', '2026-12-09']);
  });

  test('size drops are archived first when archives are on', () => {
    const p = planRetention(days(6, 100), { maxBytes: 350, archiveAfterMs: 30 * DAY_MS }, NOW);
    assert.deepEqual(p.drop, ['2026-12-05', '2026-12-06', '2026-12-07']);
    assert.deepEqual(p.archive, p.drop);
  });

  test('max_age is not held back by the floor (the config said so)', () => {
    const p = planRetention(days(3), { maxAgeMs: 1000 }, NOW);
    assert.deepEqual(p.drop, ['2026-12-08', '2026-12-09']);
  });
});
