// Facility and severity names as syslog.conf, syslog-ng and RFC 5424 spell them.

export const FACILITY_NAMES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news',
  'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;

export const SEVERITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

// Aliases accepted on input (syslog.conf and syslog-ng both take these).
const FACILITY_ALIASES: Record<string, number> = {
  // FreeBSD's "security" is facility 13 (log audit); Linux's "security" is a deprecated alias of auth.
  audit: 13, cron2: 15, clock: 15, mark: -1,
};
const SEVERITY_ALIASES: Record<string, number> = {
  panic: 0, emergency: 0, critical: 2, error: 3, warn: 4, informational: 6,
};

export function facilityCode(name: string): number | undefined {
  const n = name.toLowerCase();
  const i = (FACILITY_NAMES as readonly string[]).indexOf(n);
  if (i >= 0) return i;
  const a = FACILITY_ALIASES[n];
  if (a !== undefined && a >= 0) return a;
  if (/^\d+$/.test(n) && Number(n) < 24) return Number(n);
  return undefined;
}

export function severityCode(name: string): number | undefined {
  const n = name.toLowerCase();
  const i = (SEVERITY_NAMES as readonly string[]).indexOf(n);
  if (i >= 0) return i;
  const a = SEVERITY_ALIASES[n];
  if (a !== undefined) return a;
  if (/^\d$/.test(n) && Number(n) < 8) return Number(n);
  return undefined;
}

export function facilityName(code: number): string {
  return FACILITY_NAMES[code] ?? String(code);
}

export function severityName(code: number): string {
  return SEVERITY_NAMES[code] ?? String(code);
}
