// The writers' transactions per job: a job that fails half way leaves nothing of itself behind
// (rows, rollup, and so no text either), and the writers go on with the next job.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { PartitionWriter, type WriteJob } from '../../../src/store/sqlite/partition-writer.js';
import { partitionFile, textFile } from '../../../src/store/sqlite/schema.js';
import { TextWriter } from '../../../src/store/sqlite/text-writer.js';
import { tempDir } from '../../helpers/wait.js';
import { termSeqs } from './text-index.js';
import { writeJob } from './write-jobs.js';

const DAY = '2026-12-02';

const job = (seqs: number[]) => writeJob(DAY, seqs);

function counts(dir: string): { rows: number; text: number; rollup: number; seqs: number[] } {
  const db = new Database(partitionFile(dir, DAY), { readonly: true });
  try {
    const seqs = (db.prepare('SELECT seq FROM events ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
    const text = termSeqs(textFile(partitionFile(dir, DAY)), 'event').length;
    const rollup = (db.prepare("SELECT coalesce(sum(n), 0) AS n FROM rollup_minute WHERE field = ''").get() as { n: number }).n;
    return { rows: seqs.length, text, rollup, seqs };
  } finally {
    db.close();
  }
}

test('a job that fails half way (a seq already stored) leaves none of its rows, words or counts; the next job lands', () => {
  const dir = tempDir('sluice-pw-');
  const rows = new PartitionWriter(dir);
  const text = new TextWriter(dir);
  const w = { write: (j: WriteJob) => { if (rows.write(j)) text.write(j); } };
  try {
    w.write(job([1, 2, 3, 4, 5]));
    assert.deepEqual(counts(dir), { rows: 5, text: 5, rollup: 5, seqs: [1, 2, 3, 4, 5] });
    // 40 rows (more than one 16-row INSERT), the 30th collides with a stored seq.
    const seqs = Array.from({ length: 40 }, (_, i) => 6 + i);
    seqs[29] = 3;
    assert.throws(() => w.write(job(seqs)), /UNIQUE|constraint/i);
    assert.deepEqual(counts(dir), { rows: 5, text: 5, rollup: 5, seqs: [1, 2, 3, 4, 5] });
    w.write(job([6, 7]));
    assert.deepEqual(counts(dir), { rows: 7, text: 7, rollup: 7, seqs: [1, 2, 3, 4, 5, 6, 7] });
  } finally {
    rows.close();
    text.close();
  }
});
