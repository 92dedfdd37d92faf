// Varied events for the rollup tests: times at any millisecond over three UTC days (edge minutes
// have rows), hosts differing only in case, events without host or severity, late events.

import { LogEvent } from '../../../src/event/log-event.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { prng } from '../../helpers/prng.js';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 10, 10, 0, 0, 0);
const HOSTS = ['web-01', 'WEB-01', 'web-02', 'db-1', 'Ünïcode-Höst', '-'];
const APPS = ['nginx', 'sshd', 'cron', '-'];

/** Batch k of n events (deterministic): mostly day 3, some late into days 1 and 2. */
export function rollupEvents(k: number, n: number): LogEvent[] {
  const rnd = prng(1000 + k);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const out: LogEvent[] = [];
  for (let i = 0; i < n; i++) {
    const day = rnd() < 0.7 ? 2 : rnd() < 0.5 ? 1 : 0;
    const time = T0 + day * DAY + Math.floor(rnd() * DAY);
    if (i % 23 === 0) {
      out.push(LogEvent.fromValues({ name: i % 2 ? 'api' : 'net', transport: 'http', address: '127.0.0.1', port: null, tlsPeer: null }, time, {
        hostname: i % 3 ? pick(HOSTS.slice(0, 5)) : null, appname: null, severity: i % 5 ? i % 8 : null, facility: null, message: `values ${i}`,
      }));
      continue;
    }
    const pri = Math.floor(rnd() * 24) * 8 + Math.floor(rnd() * 8);
    out.push(parsed(rfc5424({ pri, time, host: pick(HOSTS), app: pick(APPS), msg: `batch ${k} event ${i} ${pick(['error', 'ok', 'timeout'])}` }), time));
  }
  return out;
}
