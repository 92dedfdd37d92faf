// RELP command payloads: the `open` offers and the `rsp` data ("200 OK", "500 reason", offers after LF).
//
// Formats as librelp writes and reads them (offers.c, scrsp.c, copen.c):
//   offers:  "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog"
//   rsp:     "200 OK" | "500 some reason" | "200 OK\n<offers>" (the answer to open) | "" (to close)

/** RELP protocol version spoken by librelp (RELP_CURR_PROTOCOL_VERSION) and so by rsyslog. */
export const RELP_VERSION = 0;

/** What this implementation calls itself in relp_software (only the name is required). */
export const RELP_SOFTWARE = 'sluice';

export type Offers = Map<string, string[]>;

/** "name=v1,v2\nname2=v" → Map; a name without "=" has no values. */
export function parseOffers(text: string): Offers {
  const out: Offers = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    const values = eq < 0 ? [] : line.slice(eq + 1).split(',').filter((v) => v !== '');
    out.set(name, [...(out.get(name) ?? []), ...values]);
  }
  return out;
}

export function formatOffers(offers: Iterable<[string, readonly string[]]>): string {
  const lines: string[] = [];
  for (const [name, values] of offers) lines.push(values.length > 0 ? `${name}=${values.join(',')}` : name);
  return lines.join('\n');
}

/** The offers a client sends with `open`. */
export function clientOffers(): string {
  return formatOffers([['relp_version', [String(RELP_VERSION)]], ['relp_software', [RELP_SOFTWARE]], ['commands', ['syslog']]]);
}

/** relp_version as a number, or null when absent or not a non-negative integer. */
export function offeredVersion(offers: Offers): number | null {
  const v = offers.get('relp_version')?.[0];
  return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : null;
}

export interface RspData {
  code: number;
  /** The human-readable text after the code (up to LF). */
  text: string;
  /** What follows the first LF (the server's offers in the answer to open). */
  body: string;
}

/** Parses rsp DATA. Empty data (the answer to close) is code 0. Returns a reason string if malformed. */
export function parseRsp(buf: Buffer, start: number, end: number): RspData | string {
  if (end === start) return { code: 0, text: '', body: '' };
  if (end - start < 3) return `rsp data "${buf.toString('latin1', start, end)}" does not start with a 3-digit code`;
  let code = 0;
  for (let i = start; i < start + 3; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return `rsp data "${buf.toString('latin1', start, Math.min(end, start + 40))}" does not start with a 3-digit code`;
    code = code * 10 + c - 0x30;
  }
  let p = start + 3;
  if (p < end && buf[p] !== 0x20 && buf[p] !== 0x0a) return `rsp code is not followed by a space`;
  if (p < end && buf[p] === 0x20) p++;
  const lf = buf.indexOf(0x0a, p);
  const textEnd = lf < 0 || lf >= end ? end : lf;
  return {
    code,
    text: buf.toString('utf8', p, textEnd),
    body: textEnd < end ? buf.toString('utf8', textEnd + 1, end) : '',
  };
}

/** HUMAN-TEXT for an rsp: one line, printable, at most 80 characters (librelp reads no more). */
export function rspText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 80);
}
