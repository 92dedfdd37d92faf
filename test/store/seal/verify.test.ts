// verifySeal details beyond the CLI's tamper tests: overlapping sources, checking past a gap,
// time going backwards in the chain, the strict tail.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { checkpointHash, readCheckpointFile, signedBytes } from '../../../src/store/seal/checkpoint.js';
import { loadSigningKey, loadTrustedKey, signBytes } from '../../../src/store/seal/keys.js';
import { leafHash } from '../../../src/store/seal/merkle.js';
import type { Checkpoint, SealSource } from '../../../src/store/seal/types.js';
import { verifySeal } from '../../../src/store/seal/verify.js';
import { tempDir } from '../../helpers/wait.js';
import { openTestSealSource, rowBytes, TestStore } from './sqlite-fixture.js';

async function sealed(n: number): Promise<{ s: TestStore; cps: Checkpoint[] }> {
  const s = new TestStore(tempDir('vseal'));
  await s.open(20);
  s.fill(n);
  await s.close();
  return { s, cps: readCheckpointFile(path.join(s.storeDir, 'seal', 'checkpoints.ndjson'))!.checkpoints };
}

function run(s: TestStore, cps: Checkpoint[], extra: SealSource[] = [], opts = {}) {
  const src = openTestSealSource(s.storeDir);
  try {
    return verifySeal([...extra, src.source], cps, [loadTrustedKey(s.dataDir)], opts);
  } finally {
    src.close();
  }
}

describe('verifySeal', () => {
  test('a record held twice with the same contents (archived, not yet deleted) is fine; with different contents it is named', async () => {
    const { s, cps } = await sealed(40);
    const row = s.db.prepare('SELECT seq, time, text FROM events WHERE seq = 5').get() as { seq: number; time: number; text: string };
    const copy = (text: string): SealSource => ({ *records() { yield { seq: 5, bytes: rowBytes(row.time, text), storedHash: null, time: row.time, where: 'archive a.sla' }; } });
    assert.equal(run(s, cps, [copy(row.text)]).ok, true);
    const r = run(s, cps, [copy('other')]);
    assert.deepEqual(r.problems.map((p) => p.message), ['altered: seq 5 is stored twice with different contents (archive a.sla, db)']);
  });

  test('past a gap the next checkpoint\'s frontier resumes the check: a rewritten record after it is still found', async () => {
    const { s, cps } = await sealed(100);
    s.db.prepare('DELETE FROM events WHERE seq = 10').run();
    const t = (s.db.prepare('SELECT time FROM events WHERE seq = 75').get() as { time: number }).time;
    s.db.prepare('UPDATE events SET text = ?, hash = ? WHERE seq = 75').run('x', leafHash(75, rowBytes(t, 'x')));
    const r = run(s, cps);
    assert.deepEqual(r.problems.map((p) => [p.kind, p.from, p.to]), [['missing', 10, 10], ['altered', 65, 80]]);
    assert.ok(r.notes!.some((n) => n.startsWith('seq 11..20 could not be checked')), JSON.stringify(r.notes));
  });

  test('a checkpoint older than its predecessor breaks the chain even when re-signed', async () => {
    const { s, cps } = await sealed(40);
    const key = loadSigningKey(s.dataDir, false);
    const out = cps.slice(0, 2);
    for (const c of cps.slice(2)) {
      const base = { ...c, time: c.index === 3 ? 0 : c.time, prev: checkpointHash(out.at(-1)!) };
      out.push({ ...base, signature: signBytes(signedBytes(base), key) });
    }
    const r = run(s, out);
    assert.deepEqual(r.problems.map((p) => p.kind), ['bad_chain']);
    assert.match(r.problems[0]!.message, /checkpoint #3 is older/);
  });

  test('the unsealed tail is counted with its time range, and fails only when strict', async () => {
    const s = new TestStore(tempDir('vseal'));
    await s.open(20);
    s.fill(25);
    s.now += 5000;
    s.add(['late one']);
    s.sealer = null; // crash
    const cps = readCheckpointFile(path.join(s.storeDir, 'seal', 'checkpoints.ndjson'))!.checkpoints;
    const r = run(s, cps);
    assert.equal(r.ok, true);
    assert.equal(r.unsealed!.count, 6);
    assert.equal(r.unsealed!.lastTime! - r.unsealed!.firstTime!, 5000);
    const strict = run(s, cps, [], { strict: true });
    assert.equal(strict.ok, false);
    assert.deepEqual(strict.problems.map((p) => [p.kind, p.from, p.to]), [['unsealed', 21, 26]]);
  });
});
