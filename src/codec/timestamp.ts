// Timestamps: RFC 3164 "Mmm dd hh:mm:ss" to ISO 8601, and local ISO 8601 for received times.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LOWER = MONTHS.map((m) => m.toLowerCase());

/**
 * Month index 0..11 for the three bytes at p, or -1. Any case: some devices send "NOV",
 * and rsyslog and syslog-ng both read it.
 */
export function monthAt(buf: Buffer, p: number): number {
  // ASCII letters only: OR-ing 0x20 lower-cases them and leaves no other byte a letter.
  const a = buf[p]! | 0x20, b = buf[p + 1]! | 0x20, c = buf[p + 2]! | 0x20;
  for (let i = 0; i < 12; i++) {
    const m = MONTHS_LOWER[i]!;
    if (a === m.charCodeAt(0) && b === m.charCodeAt(1) && c === m.charCodeAt(2)) return i;
  }
  return -1;
}


function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** "+HH:MM" for an offset in minutes east of UTC. */
function offsetText(minutesEast: number): string {
  const sign = minutesEast < 0 ? '-' : '+';
  const a = Math.abs(minutesEast);
  return sign + pad2(Math.floor(a / 60)) + ':' + pad2(a % 60);
}

// The year may stand after the day (Cisco, "Nov 23 2025 12:00:00") or after the time
// ("Nov 23 12:00:00 2025", as syslog-ng reads it).
const RFC3164_TS = /^([A-Za-z]{3}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?: (\d{4}))?$/;

/**
 * ISO 8601 for an RFC 3164 stamp, read as local time of this host (as syslogd does).
 * Without a year, the year is the one that puts the stamp nearest to the receive time
 * (so "Dec 31" received on Jan 1 belongs to the previous year).
 */
export function rfc3164TimestampToIso(text: string, receivedAt: number): string | null {
  const m = RFC3164_TS.exec(text);
  if (!m) return null;
  const month = MONTHS_LOWER.indexOf(m[1]!.toLowerCase());
  if (month < 0) return null;
  const day = Number(m[2]), hh = Number(m[4]), mi = Number(m[5]), ss = Number(m[6]);
  let year: number;
  const givenYear = m[3] ?? m[8];
  if (givenYear) year = Number(givenYear);
  else {
    const now = new Date(receivedAt);
    year = now.getFullYear();
    const candidate = new Date(year, month, day, hh, mi, ss).getTime();
    // More than a month ahead of the receive time means it was sent last year.
    if (candidate - receivedAt > 31 * 86400_000) year--;
    else if (receivedAt - candidate > 334 * 86400_000) year++;
  }
  const local = new Date(year, month, day, hh, mi, ss);
  if (local.getDate() !== day) return null; // e.g. Feb 30
  return year + '-' + pad2(month + 1) + '-' + pad2(day) + 'T' + pad2(hh) + ':' + pad2(mi) + ':' + pad2(ss) +
    (m[7] ?? '') + offsetText(-local.getTimezoneOffset());
}

let cachedSecond = -1;
let cachedPrefix = '';
let cachedOffset = '';

/** Local ISO 8601 with seconds and offset, as syslog-ng's ${ISODATE}; cached per second. */
export function isoLocal(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== cachedSecond) {
    const d = new Date(sec * 1000);
    cachedSecond = sec;
    cachedPrefix = d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + 'T' +
      pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
    cachedOffset = offsetText(-d.getTimezoneOffset());
  }
  return cachedPrefix + cachedOffset;
}

/** Calendar parts of an ISO 8601 timestamp text, or of a millisecond time in local time. */
export interface DateParts { year: string; month: string; day: string; hour: string; minute: string; second: string }

const ISO_PARTS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/;

export function datePartsOf(iso: string | null, fallbackMs: number): DateParts {
  const m = iso ? ISO_PARTS.exec(iso) : null;
  if (m) return { year: m[1]!, month: m[2]!, day: m[3]!, hour: m[4]!, minute: m[5]!, second: m[6]! };
  const d = new Date(fallbackMs);
  return {
    year: String(d.getFullYear()), month: pad2(d.getMonth() + 1), day: pad2(d.getDate()),
    hour: pad2(d.getHours()), minute: pad2(d.getMinutes()), second: pad2(d.getSeconds()),
  };
}

/** RFC 3339 / RFC 5424 TIMESTAMP validity (FULL-DATE "T" FULL-TIME, 1-6 fraction digits). */
export const RFC5424_TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
