// The fields of one assembled audit event: SYSCALL, EXECVE (arguments reassembled), CWD,
// PATH (a list), SOCKADDR (decoded), PROCTITLE (split on NUL), the ENRICHED values, and
// every record's raw fields under fields.records so per-record rules (Sigma auditd) match.

import type { AuditRecord } from './record.js';

export interface Interpreted {
  timestamp: string;
  node: string | null;
  pid: string | null;
  type: string;
  message: string;
  fields: Record<string, unknown>;
  lostRecords: number;
}

export function interpret(records: AuditRecord[], reason: string): Interpreted {
  const first = records[0]!;
  const [secs, ms] = first.time.split('.') as [string, string];
  const timestamp = new Date(Number(secs) * 1000 + Number(ms.padEnd(3, '0').slice(0, 3))).toISOString();
  const fields: Record<string, unknown> = {};
  const audit: Record<string, unknown> = { id: `${first.time}:${first.serial}`, serial: first.serial, node: first.node, records: records.length, complete: reason === 'eoe' || reason === 'proctitle' || reason === 'single' };
  if (reason === 'orphan') audit.orphan = true;
  if (reason === 'timeout') audit.timeout = true;
  fields.audit = audit;
  const enriched: Record<string, string> = {};
  const paths: Record<string, unknown>[] = [];
  const execve: AuditRecord[] = [];
  let lost = 0;
  for (const r of records) {
    if (r.enriched) for (const [k, v] of Object.entries(r.enriched)) if (!(k in enriched)) enriched[k] = v;
    switch (r.type) {
      case 'SYSCALL': fields.syscall = { ...r.fields, ...(r.enriched?.SYSCALL ? { name: r.enriched.SYSCALL } : {}) }; break;
      case 'CWD': fields.cwd = r.fields.cwd ?? null; break;
      case 'PATH': paths.push({ ...r.fields }); break;
      case 'EXECVE': execve.push(r); break;
      case 'PROCTITLE': fields.proctitle = proctitle(r); break;
      case 'SOCKADDR': fields.sockaddr = sockaddr(r); break;
      default:
        if (r !== first || records.length === 1) fields[r.type.toLowerCase()] = { ...r.fields };
    }
  }
  if (paths.length > 0) fields.paths = paths;
  if (execve.length > 0) {
    const { argc, args, missing } = execveArgs(execve);
    fields.execve = { argc, args, command: args.join(' ') };
    lost += missing;
  }
  const sc = fields.syscall as Record<string, string | null> | undefined;
  if (sc && sc.items !== undefined && sc.items !== null) {
    const items = Number(sc.items);
    if (items > paths.length) lost += items - paths.length;
  }
  if (lost > 0) audit.lost_records = lost;
  if (Object.keys(enriched).length > 0) fields.enriched = enriched;
  fields.records = records.map((r) => ({ type: r.type, ...r.fields, ...(r.enriched ? { enriched: r.enriched } : {}) }));
  const pid = (sc?.pid ?? first.fields.pid ?? null) as string | null;
  return { timestamp, node: first.node, pid, type: first.type, message: summary(first, fields), fields, lostRecords: lost };
}

function proctitle(r: AuditRecord): string[] {
  const b = r.hex.proctitle;
  const text = b ? b.toString('utf8') : r.fields.proctitle ?? '';
  return text.split('\0').filter((s, i, a) => s.length > 0 || i < a.length - 1);
}

const MAX_MISSING_ARGS = 1024;

/** EXECVE arguments from aN, or aN_len + aN[i] pieces, across continued EXECVE records. */
function execveArgs(recs: AuditRecord[]): { argc: number; args: string[]; missing: number } {
  let argc = 0;
  const whole = new Map<number, Buffer>();
  const pieces = new Map<number, Map<number, Buffer>>();
  const lengths = new Map<number, number>();
  for (const r of recs) {
    if (r.fields.argc != null) argc = Number(r.fields.argc);
    for (const [k, v] of Object.entries(r.fields)) {
      const m = /^a(\d+)(?:\[(\d+)\]|(_len))?$/.exec(k);
      if (!m) continue;
      const n = Number(m[1]);
      const bytes = r.hex[k] ?? Buffer.from(v ?? '', 'utf8');
      if (m[3]) lengths.set(n, Number(v));
      else if (m[2] !== undefined) {
        let p = pieces.get(n);
        if (!p) pieces.set(n, (p = new Map()));
        p.set(Number(m[2]), bytes);
      } else whole.set(n, bytes);
    }
  }
  // Bounded: argument numbers come from the log, a forged a99999999= must not make 10^8 slots.
  const present = whole.size + pieces.size;
  const count = Math.min(Math.max(argc, Math.max(-1, ...whole.keys(), ...pieces.keys()) + 1), present + MAX_MISSING_ARGS);
  const args: string[] = [];
  let missing = 0;
  for (let n = 0; n < count; n++) {
    const w = whole.get(n);
    if (w) { args.push(w.toString('utf8')); continue; }
    const p = pieces.get(n);
    if (!p) { missing++; args.push(''); continue; }
    const parts: Buffer[] = [];
    const idx = [...p.keys()].sort((a, b) => a - b);
    idx.forEach((i, j) => { if (i !== j) missing++; parts.push(p.get(i)!); });
    const joined = Buffer.concat(parts);
    const want = lengths.get(n);
    if (want !== undefined && joined.length < want && missing === 0) missing++;
    args.push(joined.toString('utf8'));
  }
  return { argc: argc || args.length, args, missing };
}

function sockaddr(r: AuditRecord): Record<string, unknown> {
  const b = r.hex.saddr;
  const out: Record<string, unknown> = { saddr: r.fields.saddr ?? null };
  if (!b || b.length < 2) return out;
  const family = b.readUInt16LE(0);
  out.family = family === 2 ? 'inet' : family === 10 ? 'inet6' : family === 1 ? 'unix' : family === 16 ? 'netlink' : family;
  if (family === 2 && b.length >= 8) {
    out.port = b.readUInt16BE(2);
    out.addr = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
  } else if (family === 10 && b.length >= 24) {
    out.port = b.readUInt16BE(2);
    const parts: string[] = [];
    for (let i = 8; i < 24; i += 2) parts.push(b.readUInt16BE(i).toString(16));
    out.addr = parts.join(':').replace(/\b(?:0:){2,}/, ':');
  } else if (family === 1) {
    const end = b.indexOf(0, 2);
    out.path = b.toString('utf8', 2, end < 0 ? b.length : end);
  }
  return out;
}

function summary(first: AuditRecord, fields: Record<string, unknown>): string {
  const sc = fields.syscall as Record<string, string | null> | undefined;
  if (sc) {
    const ex = fields.execve as { command: string } | undefined;
    const name = sc.name ?? `syscall ${sc.syscall}`;
    return `${name} ${sc.success === 'no' ? 'failed' : 'by'} auid=${sc.auid ?? '?'} uid=${sc.uid ?? '?'} exe=${sc.exe ?? '?'}${ex ? ` cmd=${ex.command}` : ''}${sc.key && sc.key !== '(null)' ? ` key=${sc.key}` : ''}`;
  }
  const f = first.fields;
  const parts = [first.type];
  for (const k of ['op', 'acct', 'exe', 'hostname', 'addr', 'terminal', 'res']) if (f[k] != null) parts.push(`${k}=${f[k]}`);
  return parts.join(' ');
}
