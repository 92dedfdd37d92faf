// Retention as a pure plan: which partitions to archive and which to remove from the database.
//
// A partition leaves the database when it is older than `archiveAfterMs` (into an archive)
// or than `maxAgeMs`, or when the database is over `maxBytes` — oldest first, but never one
// of the newest `minKeepDays` calendar days (UTC) for size alone: a burst must not erase
// yesterday's logs. When archiving is on, every partition that leaves is archived first.
// Age is measured from a partition's newest event; the open (written) partition stays.

export interface PartitionInfo {
  /** The partition's name (a day, 'YYYY-MM-DD', or whatever the store partitions by). */
  day: string;
  bytes: number;
  firstTime: number;
  lastTime: number;
  archived: boolean;
  /** Still being written: never planned away. */
  open?: boolean;
}

export interface RetentionPolicy {
  maxAgeMs?: number | null;
  maxBytes?: number | null;
  /** Archive partitions older than this (null: no archives; retention then deletes). */
  archiveAfterMs?: number | null;
  /** Newest calendar days never removed for size (default 2; 0 lets size take anything closed). */
  minKeepDays?: number;
}

export interface RetentionPlan {
  /** Write an archive for these first (in this order). */
  archive: string[];
  /** Then remove these from the database (each archived already or in `archive`, unless archives are off). */
  drop: string[];
  reasons: Record<string, 'max_age' | 'archive_after' | 'max_bytes'>;
  /** Database bytes once the plan ran. */
  bytesAfter: number;
  /** Still above max_bytes because the newest days are kept. */
  overBudget: boolean;
}

export const DAY_MS = 86_400_000;
export const DEFAULT_MIN_KEEP_DAYS = 2;

export function planRetention(partitions: PartitionInfo[], policy: RetentionPolicy, now: number): RetentionPlan {
  const sorted = partitions.slice().sort((a, b) => a.firstTime - b.firstTime || a.lastTime - b.lastTime);
  const archiving = policy.archiveAfterMs !== null && policy.archiveAfterMs !== undefined;
  const minKeep = policy.minKeepDays ?? DEFAULT_MIN_KEEP_DAYS;
  const keepFrom = Math.floor(now / DAY_MS) * DAY_MS - (minKeep - 1) * DAY_MS;
  const reasons: RetentionPlan['reasons'] = {};
  const leaving = new Set<string>();

  for (const p of sorted) {
    if (p.open) continue;
    const age = now - p.lastTime;
    if (policy.maxAgeMs != null && age > policy.maxAgeMs) { leaving.add(p.day); reasons[p.day] = 'max_age'; }
    else if (archiving && age > policy.archiveAfterMs!) { leaving.add(p.day); reasons[p.day] = 'archive_after'; }
  }
  let bytes = sorted.filter((p) => !leaving.has(p.day)).reduce((n, p) => n + p.bytes, 0);
  if (policy.maxBytes != null) {
    for (const p of sorted) {
      if (bytes <= policy.maxBytes) break;
      if (leaving.has(p.day) || p.open) continue;
      if (minKeep > 0 && p.lastTime >= keepFrom) continue;
      leaving.add(p.day);
      reasons[p.day] = 'max_bytes';
      bytes -= p.bytes;
    }
  }
  const drop = sorted.filter((p) => leaving.has(p.day));
  return {
    archive: archiving ? drop.filter((p) => !p.archived).map((p) => p.day) : [],
    drop: drop.map((p) => p.day),
    reasons,
    bytesAfter: bytes,
    overBudget: policy.maxBytes != null && bytes > policy.maxBytes,
  };
}
