// What redact looks for: addresses, e-mail addresses, user names in the usual phrasings, card numbers.
//
// Each detector is a global regular expression and the group that holds the value; the text
// around the value is kept. Candidates that a regular expression cannot check (an IPv6
// address, a card number's Luhn digit) are checked in code.

import { isIPv6 } from 'node:net';

export type ValueKind = 'ip' | 'email' | 'user' | 'card' | string;

export interface Detector {
  kind: ValueKind;
  re: RegExp;
  /** Index of the capture group holding the value (0 = the whole match). */
  group: number;
  /** Text the value's surroundings must contain for the detector to run at all (any of them). */
  needs: string | string[] | null;
  /** Extra check on a candidate value. */
  accept?: (value: string) => boolean;
  /** A cheaper regular expression that must match before the detector runs. */
  pre?: RegExp;
  /** `ip` values: 4 or 6, for format-preserving pseudonyms. */
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');
// Candidates with two or more colons; isIPv6 decides.
export const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g;
export const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
// The phrasings of sshd, PAM, sudo, su, useradd and auditd; group 2 is the name.
const USER_PHRASES = new RegExp([
  '(?:(?:for|by|from) (?:invalid |illegal |authenticating )?user |[Ii]nvalid user |[Ii]llegal user |authenticating user ',
  '|(?<=Failed password |Accepted password |Accepted publickey |Failed publickey |Failed none )for ',
  '|\\b(?:user|USER|acct|name|logname|ruser|login)=|\\buser: ',
  ")(\"?)([^\\s\"',;:()\\[\\]]+)\\1",
].join(''), 'g');
// sudo's "  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash"
const SUDO_USER = /^(\s*)([^\s:]+)(?= : (?:TTY|PWD|USER|COMMAND)=)/g;

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function builtinDetectors(which: readonly string[]): Detector[] {
  const out: Detector[] = [];
  if (which.includes('card')) {
    out.push({ kind: 'card', re: CARD, group: 0, needs: null, accept: (v) => { const d = v.replace(/[ -]/g, ''); return d.length >= 13 && d.length <= 19 && luhn(d); } });
  }
  if (which.includes('email')) out.push({ kind: 'email', re: EMAIL, group: 0, needs: '@' });
  if (which.includes('ip')) {
    out.push({ kind: 'ip', re: IPV6, group: 0, needs: ':', pre: /[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:|::/, accept: (v) => v.length > 2 && isIPv6(v) });
    out.push({ kind: 'ip', re: IPV4, group: 0, needs: '.' });
  }
  if (which.includes('user')) {
    out.push({ kind: 'user', re: USER_PHRASES, group: 2, needs: ['user', 'for ', 'USER=', 'acct=', 'name=', 'login=', 'logname='] });
    out.push({ kind: 'user', re: SUDO_USER, group: 2, needs: ' : ' });
  }
  return out;
}

/** A whole-word match of any listed name (user names the operator knows). */
export function listedDetector(kind: ValueKind, names: readonly string[]): Detector | null {
  if (names.length === 0) return null;
  const alt = [...names].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return { kind, re: new RegExp(`(?<![\\w-])(?:${alt})(?![\\w-])`, 'g'), group: 0, needs: null };
}
