// Joins the records of one audit event (same node, timestamp and serial) into one event.
//
// Multi-record events (a SYSCALL and its CWD, PATH, EXECVE, PROCTITLE, SOCKADDR... records)
// end with EOE, at the PROCTITLE of a syscall event, or on a timeout since their last record,
// or at a size cap. The kernel writes a syscall's PROCTITLE last, just before the EOE
// (audit_log_exit), and auditd does not write EOE records to its log (3.0.9 here): without
// ending at PROCTITLE every event read from audit.log would wait out the timeout. Other record types
// (user-space messages: USER_LOGIN, USER_CMD, ...; daemon records) are events at once. A record
// for an event already emitted is an orphan event of its own; an identical record twice is a
// duplicate, dropped. Each record carries a tag (its batch acknowledgement) that goes with the
// event it ends up in.

import type { AuditRecord } from './record.js';

/** Kernel record types that belong to a syscall's event and wait for its EOE. */
const MULTI = new Set([
  'SYSCALL', 'PATH', 'IPC', 'SOCKETCALL', 'CONFIG_CHANGE', 'SOCKADDR', 'CWD', 'EXECVE', 'IPC_SET_PERM', 'MQ_OPEN',
  'MQ_SENDRECV', 'MQ_NOTIFY', 'MQ_GETSETATTR', 'KERNEL_OTHER', 'FD_PAIR', 'OBJ_PID', 'TTY', 'BPRM_FCAPS', 'CAPSET', 'MMAP',
  'NETFILTER_PKT', 'NETFILTER_CFG', 'SECCOMP', 'PROCTITLE', 'FEATURE_CHANGE', 'REPLACE', 'KERN_MODULE', 'FANOTIFY',
  'TIME_INJOFFSET', 'TIME_ADJNTPVAL', 'BPF', 'EVENT_LISTENER', 'URINGOP', 'OPENAT2', 'DM_CTRL', 'DM_EVENT', 'AVC',
  'SELINUX_ERR', 'AVC_PATH', 'MAC_IPSEC_EVENT', 'MAC_UNLBL_STCADD', 'MAC_UNLBL_STCDEL', 'ANOM_ABEND', 'ANOM_LINK',
  'INTEGRITY_DATA', 'INTEGRITY_METADATA', 'INTEGRITY_STATUS', 'INTEGRITY_HASH', 'INTEGRITY_PCR', 'INTEGRITY_RULE',
]);

export interface AssembledEvent<T> {
  key: string;
  records: AuditRecord[];
  tags: T[];
  /** Why it was emitted: eoe, proctitle (a syscall's last record), single, timeout, size, orphan, stop. */
  reason: 'eoe' | 'proctitle' | 'single' | 'timeout' | 'size' | 'orphan' | 'stop';
}

interface Open<T> {
  records: AuditRecord[];
  tags: T[];
  bytes: number;
  lastAt: number;
  lines: Set<string>;
  syscall: boolean;
}

export interface AssemblerLimits {
  timeoutMs: number;
  maxRecords: number;
  maxBytes: number;
  /** Recently emitted events remembered to tell late records (orphans) and duplicates. */
  remember: number;
  /** Events waiting for their EOE at most. */
  maxOpen: number;
}

export class AuditAssembler<T> {
  private readonly open = new Map<string, Open<T>>();
  /** Emitted event keys -> their record lines (duplicates), oldest first. */
  private readonly recent = new Map<string, Set<string>>();
  /** Events that ended at their PROCTITLE: their EOE, when it comes, is expected, not a duplicate. */
  private readonly endedAtProctitle = new Set<string>();
  duplicates = 0;

  constructor(private readonly limits: AssemblerLimits, private readonly emit: (e: AssembledEvent<T>) => void) {}

  get pending(): number {
    return this.open.size;
  }

  push(rec: AuditRecord, tag: T, now: number): void {
    const open = this.open.get(rec.key);
    if (open === undefined) {
      const done = this.recent.get(rec.key);
      if (done !== undefined) {
        if (rec.type === 'EOE' && this.endedAtProctitle.delete(rec.key)) { this.emit({ key: rec.key, records: [], tags: [tag], reason: 'eoe' }); return; }
        if (done.has(rec.raw) || rec.type === 'EOE') { this.duplicates++; this.emitDuplicate(tag); return; }
        this.emit({ key: rec.key, records: [rec], tags: [tag], reason: 'orphan' });
        return;
      }
      if (rec.type === 'EOE') { this.emitDuplicate(tag); return; }
      if (!MULTI.has(rec.type)) {
        this.finish(rec.key, [rec], [tag], 'single', new Set([rec.raw]));
        return;
      }
      this.open.set(rec.key, { records: [rec], tags: [tag], bytes: rec.raw.length, lastAt: now, lines: new Set([rec.raw]), syscall: rec.type === 'SYSCALL' });
      if (this.open.size > this.limits.maxOpen) {
        // Too many events waiting for their EOE: the oldest goes out as it is.
        const [oldKey, old] = this.open.entries().next().value!;
        this.open.delete(oldKey);
        this.finish(oldKey, old.records, old.tags, 'size', old.lines);
      }
      return;
    }
    if (open.lines.has(rec.raw)) { this.duplicates++; this.emitDuplicate(tag); return; }
    if (rec.type === 'EOE') {
      open.tags.push(tag);
      this.open.delete(rec.key);
      this.finish(rec.key, open.records, open.tags, 'eoe', open.lines);
      return;
    }
    open.records.push(rec);
    open.tags.push(tag);
    open.lines.add(rec.raw);
    open.bytes += rec.raw.length;
    open.lastAt = now;
    if (rec.type === 'SYSCALL') open.syscall = true;
    if (rec.type === 'PROCTITLE' && open.syscall) {
      this.open.delete(rec.key);
      this.endedAtProctitle.add(rec.key);
      this.finish(rec.key, open.records, open.tags, 'proctitle', open.lines);
      return;
    }
    if (open.records.length >= this.limits.maxRecords || open.bytes >= this.limits.maxBytes) {
      this.open.delete(rec.key);
      this.finish(rec.key, open.records, open.tags, 'size', open.lines);
    }
  }

  /** A record that makes no event still has its tag settled (an empty event with no records). */
  private emitDuplicate(tag: T): void {
    this.emit({ key: '', records: [], tags: [tag], reason: 'single' });
  }

  private finish(key: string, records: AuditRecord[], tags: T[], reason: AssembledEvent<T>['reason'], lines: Set<string>): void {
    this.recent.set(key, lines);
    if (this.recent.size > this.limits.remember) {
      const oldest = this.recent.keys().next().value!;
      this.recent.delete(oldest);
      this.endedAtProctitle.delete(oldest);
    }
    this.emit({ key, records, tags, reason });
  }

  /** Emits events whose EOE did not come within the timeout. */
  tick(now: number): void {
    for (const [key, o] of this.open) {
      if (now - o.lastAt < this.limits.timeoutMs) continue;
      this.open.delete(key);
      this.finish(key, o.records, o.tags, 'timeout', o.lines);
    }
  }

  /** Emits everything still open (stop). */
  flush(): void {
    for (const [key, o] of this.open) this.finish(key, o.records, o.tags, 'stop', o.lines);
    this.open.clear();
  }
}
