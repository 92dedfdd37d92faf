// The histogram's bucket width: one step of a fixed ladder, aligned to calendar boundaries in UTC.
//
// Steps up to a day divide a day evenly, so flooring epoch milliseconds aligns them to UTC
// midnight; a week starts on Monday 00:00 UTC and a "30d" bucket is a calendar month. For
// those two the store counts days and the API adds the days up into weeks or months.

export interface Step {
  name: string;
  ms: number;
}

const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;
export const STEPS: readonly Step[] = [
  { name: '1s', ms: S }, { name: '5s', ms: 5 * S }, { name: '10s', ms: 10 * S }, { name: '30s', ms: 30 * S },
  { name: '1m', ms: M }, { name: '5m', ms: 5 * M }, { name: '10m', ms: 10 * M }, { name: '30m', ms: 30 * M },
  { name: '1h', ms: H }, { name: '3h', ms: 3 * H }, { name: '6h', ms: 6 * H }, { name: '12h', ms: 12 * H },
  { name: '1d', ms: D }, { name: '7d', ms: 7 * D }, { name: '30d', ms: 30 * D },
];
export const DAY_MS = D;

/** The smallest step giving at most `maxBuckets` buckets over the span (the largest step beyond). */
export function chooseStep(spanMs: number, maxBuckets = 100): Step {
  for (const s of STEPS) if (Math.ceil(spanMs / s.ms) <= maxBuckets) return s;
  return STEPS[STEPS.length - 1]!;
}

/** Start of the bucket holding `t`. */
export function bucketStart(t: number, step: Step): number {
  if (step.name === '30d') {
    const d = new Date(t);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  if (step.name === '7d') {
    // 1970-01-05 was a Monday: weeks counted from there start on Mondays.
    const monday = 4 * D;
    return Math.floor((t - monday) / step.ms) * step.ms + monday;
  }
  return Math.floor(t / step.ms) * step.ms;
}

export function nextBucket(start: number, step: Step): number {
  if (step.name === '30d') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + step.ms;
}

/** The step the store is asked to count by: days for weeks and months, else the step itself. */
export function storeStepMs(step: Step): number {
  return step.ms > D ? D : step.ms;
}

/** Every bucket over the range, zero-filled, with the store's counts added into them. */
export function fillBuckets(range: { from: number; to: number }, step: Step, counts: { time: number; count: number }[]): { time: number; count: number }[] {
  const out: { time: number; count: number }[] = [];
  const index = new Map<number, number>();
  for (let t = bucketStart(range.from, step); t < range.to && out.length < 10_000; t = nextBucket(t, step)) {
    index.set(t, out.length);
    out.push({ time: t, count: 0 });
  }
  for (const c of counts) {
    const i = index.get(bucketStart(c.time, step));
    if (i !== undefined) out[i]!.count += c.count;
  }
  return out;
}
