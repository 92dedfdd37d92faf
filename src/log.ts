// The daemon's own diagnostics on stderr, with per-key rate limiting for repeated problems.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold = ORDER[(process.env.SLUICE_LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
}

/** Redirects diagnostics (tests capture them). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

function fmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function log(level: Level, component: string, msg: string, kv?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return;
  let line = `${new Date().toISOString()} ${level.toUpperCase()} [${component}] ${msg}`;
  if (kv) for (const k of Object.keys(kv)) if (kv[k] !== undefined) line += ` ${k}=${fmtValue(kv[k])}`;
  sink(line);
}

/**
 * Logs a recurring problem at most once per interval per key, with the number of
 * occurrences since the last line, so a flood of bad input does not flood the log.
 */
export class RateLimitedLog {
  private readonly seen = new Map<string, { count: number; last: number }>();
  constructor(private readonly component: string, private readonly intervalMs = 10_000) {}

  report(level: Level, key: string, msg: string, kv?: Record<string, unknown>): void {
    const now = Date.now();
    const s = this.seen.get(key);
    if (s && now - s.last < this.intervalMs) {
      s.count++;
      return;
    }
    const suppressed = s ? s.count : 0;
    this.seen.set(key, { count: 0, last: now });
    if (this.seen.size > 10_000) this.seen.clear();
    log(level, this.component, msg, suppressed > 0 ? { ...kv, repeated: suppressed } : kv);
  }
}
