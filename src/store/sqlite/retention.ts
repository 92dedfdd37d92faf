// Retention for the embedded store: whole day files leave the database, archived first when asked.
//
// The plan is the seal's planRetention (age, size with the newest-days floor, archive_after);
// this file only measures the partitions and carries the plan out: writeArchive (or a signed
// drop manifest when there are no archives) strictly before the day file is deleted, so
// verify always knows where every sealed record went. The highest seq a dropped day held is
// kept in retention.json, so sequence numbers never restart below it.

import fs from 'node:fs';
import path from 'node:path';
import { writeArchive, writeDropManifest, manifestPathFor, type ArchiveRecord } from '../archive/archive.js';
import { planRetention, type RetentionPlan, type RetentionPolicy } from '../archive/retention.js';
import { loadSigningKey } from '../seal/keys.js';
import { log } from '../../log.js';
import { listPartitions, openPartitionForRead, partitionFiles, type PartitionInfo } from './schema.js';
import { recordBytes, type StoredRow } from './record.js';

const META = 'retention.json';

export interface RetentionTarget {
  dir: string;
  archiveDir: string;
  /** Where the seal's key lives (data_dir). */
  keyDir: string;
}

/** The highest seq that retention removed (0 when none). */
export function droppedMaxSeq(dir: string): number {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, META), 'utf8')) as { dropped_max_seq: number }).dropped_max_seq ?? 0;
  } catch {
    return 0;
  }
}

function partitionStats(p: PartitionInfo): { bytes: number; firstTime: number; lastTime: number; maxSeq: number } {
  let bytes = 0;
  // The day's files with their WALs (shared-memory files are not data).
  for (const f of partitionFiles(p.file)) {
    if (f.endsWith('-shm')) continue;
    try { bytes += fs.statSync(f).size; } catch { /* absent */ }
  }
  const db = openPartitionForRead(p.file);
  try {
    const r = db.prepare('SELECT min(time) AS f, max(time) AS l, max(seq) AS s FROM events').get() as { f: number | null; l: number | null; s: number | null };
    return { bytes, firstTime: r.f ?? p.from, lastTime: r.l ?? p.from, maxSeq: r.s ?? 0 };
  } finally {
    db.close();
  }
}

function* partitionRecords(file: string): Generator<ArchiveRecord> {
  const db = openPartitionForRead(file);
  try {
    for (const row of db.prepare('SELECT * FROM events ORDER BY seq').iterate() as IterableIterator<StoredRow>) {
      yield { seq: row.seq, time: row.time, bytes: recordBytes(row) };
    }
  } finally {
    db.close();
  }
}

/**
 * Plans and applies retention. `closeDay` must close the writer's handle on a day before its
 * file is deleted. Returns the plan it carried out.
 */
export async function applyRetention(t: RetentionTarget, policy: RetentionPolicy, now: number, openDay: string | null, closeDay: (day: string) => Promise<void>): Promise<RetentionPlan> {
  const parts = listPartitions(t.dir);
  const stats = new Map(parts.map((p) => [p.day, partitionStats(p)]));
  const plan = planRetention(parts.map((p) => {
    const s = stats.get(p.day)!;
    return {
      day: p.day, bytes: s.bytes, firstTime: s.firstTime, lastTime: s.lastTime,
      archived: fs.existsSync(manifestPathFor(path.join(t.archiveDir, `${p.day}.sla`))),
      open: p.day === openDay,
    };
  }), policy, now);
  if (plan.drop.length === 0) return plan;
  const key = loadSigningKey(t.keyDir, false);
  const archiving = policy.archiveAfterMs !== null && policy.archiveAfterMs !== undefined;
  let maxDropped = droppedMaxSeq(t.dir);
  for (const day of plan.drop) {
    const p = parts.find((x) => x.day === day)!;
    await closeDay(day);
    if (plan.archive.includes(day)) {
      fs.mkdirSync(t.archiveDir, { recursive: true });
      writeArchive(path.join(t.archiveDir, `${day}.sla`), partitionRecords(p.file), { key, partition: day, now: () => now });
    } else if (!archiving) {
      writeDropManifest(t.archiveDir, day, partitionRecords(p.file), { key, partition: day, now: () => now });
    }
    maxDropped = Math.max(maxDropped, stats.get(day)!.maxSeq);
    fs.writeFileSync(path.join(t.dir, `${META}.new`), JSON.stringify({ dropped_max_seq: maxDropped }) + '\n');
    fs.renameSync(path.join(t.dir, `${META}.new`), path.join(t.dir, META));
    for (const f of partitionFiles(p.file)) fs.rmSync(f, { force: true });
    log('info', 'store', 'partition left the database', { day, reason: plan.reasons[day], archived: archiving });
  }
  return plan;
}
