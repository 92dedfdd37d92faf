// One Linux audit record line: `[node=N ]type=T msg=audit(SEC.MSEC:SERIAL): k=v ...[\x1dK=V ...]`.
// Values: "quoted" strings, unquoted hex for untrusted strings (name, exe, proctitle, aN...),
// `(null)`, and user-space records whose msg='...' holds a nested key=value list.

export interface AuditRecord {
  node: string | null;
  type: string;
  /** Seconds and milliseconds, as written. */
  time: string;
  serial: number;
  /** node|time:serial, the key of the event the record belongs to. */
  key: string;
  /** Decoded values; hex-encoded byte values are kept as Buffers until interpreted. */
  fields: Record<string, string | null>;
  /** Values that were hex in the record, undecoded, for fields whose bytes matter (proctitle, EXECVE args). */
  hex: Record<string, Buffer>;
  /** The ENRICHED tail (after the 0x1d separator): auditd's interpretations (AUID="alice", SYSCALL=execve). */
  enriched: Record<string, string> | null;
  raw: string;
}

const HEADER = /^(?:node=(\S+) )?type=(\S+) msg=audit\((\d+\.\d+):(\d+)\):\s?/;
/** Fields whose unquoted values are hex-encoded untrusted strings. */
const HEX_FIELDS = /^(?:name|cwd|comm|exe|proctitle|path|key|data|old|new|acct|cmd|saddr|old-\w+|new-\w+|grp|root_dir|watch|dir|ocomm|vm|new_group|old_group)$/;
/** EXECVE arguments (in SYSCALL records a0..a3 are register values in hex, not strings). */
const EXECVE_ARG = /^a\d+(?:\[\d+\])?$/;
const HEX_VALUE = /^(?:[0-9A-F]{2})+$/;

export function parseRecord(line: string): AuditRecord | null {
  const m = HEADER.exec(line);
  if (!m) return null;
  const sep = line.indexOf('\x1d', m[0].length);
  const body = sep < 0 ? line.slice(m[0].length) : line.slice(m[0].length, sep);
  const fields: Record<string, string | null> = {};
  const hex: Record<string, Buffer> = {};
  parseKv(body, fields, hex, true, m[2] === 'EXECVE');
  let enriched: Record<string, string> | null = null;
  if (sep >= 0) {
    const e: Record<string, string | null> = {};
    parseKv(line.slice(sep + 1), e, {}, false, false);
    enriched = {};
    for (const [k, v] of Object.entries(e)) if (v !== null) enriched[k] = v;
  }
  const node = m[1] ?? null;
  return {
    node, type: m[2]!, time: m[3]!, serial: Number(m[4]), key: (node ?? '') + '|' + m[3] + ':' + m[4],
    fields, hex, enriched, raw: line,
  };
}

/** key=value pairs; a user record's msg='...' is parsed into the same object. */
function parseKv(s: string, out: Record<string, string | null>, hex: Record<string, Buffer>, decodeHex: boolean, execve: boolean): void {
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && s[i] === ' ') i++;
    const eq = s.indexOf('=', i);
    if (eq < 0) break;
    const key = s.slice(i, eq);
    if (key.includes(' ')) {
      // a bare word without a value: skip it
      i = s.indexOf(' ', i);
      if (i < 0) break;
      continue;
    }
    i = eq + 1;
    let value: string;
    const q = s[i];
    if (q === '"' || q === "'") {
      const end = s.indexOf(q, i + 1);
      const stop = end < 0 ? n : end;
      value = s.slice(i + 1, stop);
      i = stop + 1;
      if (q === "'" && key === 'msg') {
        parseKv(value, out, hex, decodeHex, false);
        continue;
      }
      out[key] = value;
      continue;
    }
    let end = s.indexOf(' ', i);
    if (end < 0) end = n;
    value = s.slice(i, end);
    i = end;
    if (value === '(null)') { out[key] = null; continue; }
    if (decodeHex && (HEX_FIELDS.test(key) || (execve && EXECVE_ARG.test(key))) && HEX_VALUE.test(value)) {
      const b = Buffer.from(value, 'hex');
      hex[key] = b;
      out[key] = key === 'saddr' ? value : b.toString('utf8');
      continue;
    }
    out[key] = value;
  }
}
