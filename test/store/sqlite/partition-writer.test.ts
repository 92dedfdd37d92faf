// The writer's transaction per job: a job that fails half way leaves nothing of itself behind
// (rows, text index, rollup), and the writer goes on with the next job.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { PartitionWriter, type WriteJob } from '../../../src/store/sqlite/partition-writer.js';
import { recordBytes, RecordWriter } from '../../../src/store/sqlite/record.js';
import { partitionFile } from '../../../src/store/sqlite/schema.js';
import { tempDir } from '../../helpers/wait.js';

const DAY = '2026-12-02';
const T = Date.parse(`${DAY}T10:00:00Z`);

/** A job in the writer's layout (partition-writer.ts) for the given seqs. */
function job(seqs: number[]): WriteJob {
  const w = new RecordWriter(1 << 16);
  for (const seq of seqs) {
    const message = `event ${seq} word${seq}`;
    const rec = recordBytes({
      seq, time: T + seq, received: T + seq, host: `host${seq % 3}`, app: 'app', procid: null, msgid: null, facility: 1, severity: 6,
      source: 'net', transport: 'tcp', peer: '127.0.0.1:1', raw: null, event: JSON.stringify({ message }),
    });
    w.u32(rec.length);
    w.bytes(rec);
    const m = Buffer.from(message);
    w.u32(m.length);
    w.bytes(m);
    w.ensure(33);
    w.buf[w.pos++] = 32;
    w.bytes(Buffer.alloc(32, seq & 255));
  }
  return { day: DAY, buf: Buffer.from(w.buf.subarray(0, w.pos)), count: seqs.length };
}

function counts(dir: string): { rows: number; text: number; rollup: number; seqs: number[] } {
  const db = new Database(partitionFile(dir, DAY), { readonly: true });
  try {
    const seqs = (db.prepare('SELECT seq FROM events ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
    const text = (db.prepare("SELECT count(*) AS n FROM events_fts WHERE events_fts MATCH 'event'").get() as { n: number }).n;
    const rollup = (db.prepare("SELECT coalesce(sum(n), 0) AS n FROM rollup_minute WHERE field = ''").get() as { n: number }).n;
    return { rows: seqs.length, text, rollup, seqs };
  } finally {
    db.close();
  }
}

test('a job that fails half way (a seq already stored) leaves none of its rows, words or counts; the next job lands', () => {
  const dir = tempDir('sluice-pw-');
  const w = new PartitionWriter(dir);
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
    w.close();
  }
});
