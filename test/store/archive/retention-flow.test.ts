// Retention end to end over the test store with a clock the test moves: partitions past the
// age are archived and leave the database, their records are read back from the archive,
// and verify still passes; the 2-day floor holds under a size limit.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runVerify } from '../../../src/cli/verify.js';
import { readArchive, readManifests } from '../../../src/store/archive/archive.js';
import { DAY_MS, planRetention, type PartitionInfo } from '../../../src/store/archive/retention.js';
import { tempDir } from '../../helpers/wait.js';
import { openTestSealSource, TestStore } from '../seal/sqlite-fixture.js';

function partitions(s: TestStore, now: number): Array<PartitionInfo & { from: number; to: number }> {
  const rows = s.db.prepare("SELECT strftime('%Y-%m-%d', time / 1000, 'unixepoch') AS day, MIN(seq) AS a, MAX(seq) AS b, MIN(time) AS f, MAX(time) AS l, SUM(LENGTH(text)) AS n FROM events GROUP BY day ORDER BY day").all() as Array<{ day: string; a: number; b: number; f: number; l: number; n: number }>;
  const today = new Date(now).toISOString().slice(0, 10);
  return rows.map((r) => ({ day: r.day, bytes: r.n, firstTime: r.f, lastTime: r.l, archived: false, open: r.day === today, from: r.a, to: r.b }));
}

describe('retention with archives, controlled clock', () => {
  test('past archive.after: archived, gone from the database, found in the archive; verify exits 0', async () => {
    const start = Date.UTC(2026, 11, 1, 10);
    const s = new TestStore(tempDir('retention'), start);
    await s.open(50);
    for (let d = 0; d < 6; d++) {
      s.now = start + d * DAY_MS;
      s.fill(30, `day${d}`);
      s.sealer!.checkpoint('partition'); // the store seals when a partition closes
    }
    const now = s.now + 3_600_000;
    s.now = now;
    const parts = partitions(s, now);
    const plan = planRetention(parts, { archiveAfterMs: 3 * DAY_MS, maxAgeMs: 30 * DAY_MS }, now);
    assert.deepEqual(plan.archive, ['2026-12-01', '2026-12-02', '2026-12-03']);
    for (const day of plan.archive) {
      const p = parts.find((x) => x.day === day)!;
      s.archive(day, p.from, p.to);
    }
    assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n, 90);
    const found = [...readArchive(path.join(s.storeDir, 'archive', '2026-12-02.sla'))].filter((r) => r.bytes.toString().includes('day1 45 '));
    assert.equal(found.length, 1);
    await s.close();
    const r = runVerify({ store: s.storeDir }, { openStoreSealSource: openTestSealSource });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.equal(r.report!.records, 180);
    assert.equal(readManifests(path.join(s.storeDir, 'archive')).manifests.length, 3);
  });

  test('size limit with no archives: old days dropped under signed drop manifests, the newest 2 days kept; verify exits 0', async () => {
    const start = Date.UTC(2026, 11, 1, 10);
    const s = new TestStore(tempDir('retention'), start);
    await s.open(50);
    for (let d = 0; d < 5; d++) {
      s.now = start + d * DAY_MS;
      s.fill(40, `day${d}`);
      s.sealer!.checkpoint('partition');
    }
    const parts = partitions(s, s.now);
    parts.at(-1)!.open = false;
    const plan = planRetention(parts, { maxBytes: 1 }, s.now);
    assert.deepEqual(plan.drop, ['2026-12-01', '2026-12-02', '2026-12-03']);
    assert.equal(plan.overBudget, true);
    for (const day of plan.drop) {
      const p = parts.find((x) => x.day === day)!;
      s.drop(day, p.from, p.to);
    }
    await s.close();
    const r = runVerify({ store: s.storeDir }, { openStoreSealSource: openTestSealSource });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^note: seq 1\.\.40 left the store by retention/m);
    assert.equal(r.report!.records, 80);
  });
});
