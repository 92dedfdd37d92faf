// Which syslogd family a syslog.conf was written for, from the markers only one family uses.
//
// The two read `;`-joined selectors differently (see syslog-selector.ts), so a stock Debian
// file read the BSD way misroutes mail and news. Markers, strongest first:
//   linux: rsyslog `$` directives, RainerScript `module(` / `input(` / `action(` …, the
//          `:omusrmsg:` action, and the sysklogd `-/path` (no-sync) file action;
//   bsd:   `!prog` and `+host`/`-host` block lines (also as `#!prog`), FreeBSD's `include`
//          line, and the facility names only FreeBSD numbers (`security`, `console`, `ntp`).
// With neither, most hosts run today are Linux ones: linux, with a warning.

import type { Dialect } from './syslog-selector.js';

export interface DialectGuess {
  dialect: Dialect;
  /** What decided it, e.g. `":omusrmsg:" at line 12`; null when nothing did. */
  marker: string | null;
}

const LINUX_LINE: [RegExp, string][] = [
  [/^\$[A-Za-z]/, '"$" directive'],
  [/^(module|input|action|template|ruleset|global|main_queue)\s*\(/, 'RainerScript statement'],
  [/^if\s.+\sthen\b/, 'RainerScript "if … then"'],
];
const LINUX_ACTION: [RegExp, string][] = [
  [/(^|\s):omusrmsg:/, '":omusrmsg:" action'],
  [/^\S+\s+-\//, '"-/path" (no-sync) file action'],
];
const BSD_LINE: [RegExp, string][] = [
  [/^#?![+-]?\s*[\w*]/, '"!prog" block'],
  [/^#?[+-]\s*[\w*@.]\S*$/, '"+host"/"-host" block'],
  [/^include\s+\S/, '"include" line'],
];
const BSD_FACILITY = /(^|[;,])(security|console|ntp)(?=[.,])/;

export function detectDialect(text: string): DialectGuess {
  let bsd: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '') continue;
    const at = ` at line ${i + 1}`;
    // A Linux marker decides at once: BSD syntax inside a Linux file is a mistake it warns about.
    for (const [re, what] of LINUX_LINE) if (re.test(t)) return { dialect: 'linux', marker: what + at };
    if (t[0] !== '#') for (const [re, what] of LINUX_ACTION) if (re.test(t)) return { dialect: 'linux', marker: what + at };
    if (bsd !== null) continue;
    for (const [re, what] of BSD_LINE) if (re.test(t)) { bsd = what + at; break; }
    const selector = t[0] === '#' ? '' : t.split(/\s+/)[0]!;
    const fac = BSD_FACILITY.exec(selector);
    if (bsd === null && fac) bsd = `FreeBSD facility "${fac[2]}"${at}`;
  }
  return bsd !== null ? { dialect: 'bsd', marker: bsd } : { dialect: 'linux', marker: null };
}
