// Checkpoints as bytes: what is signed, how they are stored (one JSON line each, append-only)
// and how they travel as events to an off-host anchor and come back from one.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { LogEvent, type EventSource } from '../../event/log-event.js';
import type { Checkpoint, CheckpointReason } from './types.js';

const SIGNED_PREFIX = 'sluice-seal-checkpoint/1\n';
const REASONS: ReadonlySet<string> = new Set(['count', 'interval', 'heartbeat', 'partition', 'stop', 'start', 'rotate']);

/** The bytes a checkpoint's signature covers (everything but the frontier and the signature). */
export function signedBytes(cp: Omit<Checkpoint, 'signature' | 'frontier'>): Buffer {
  return Buffer.from(SIGNED_PREFIX + JSON.stringify([
    cp.index, cp.size, cp.root.toString('hex'), cp.time, cp.reason,
    cp.prev ? cp.prev.toString('hex') : null, cp.keyId, cp.nextKey ? cp.nextKey.toString('hex') : null,
  ]));
}

/** What the next checkpoint's `prev` holds. */
export function checkpointHash(cp: Checkpoint): Buffer {
  return createHash('sha256').update(signedBytes(cp)).digest();
}

export function checkpointToJson(cp: Checkpoint): Record<string, unknown> {
  return {
    index: cp.index, size: cp.size, root: cp.root.toString('hex'), time: cp.time, reason: cp.reason,
    prev: cp.prev ? cp.prev.toString('hex') : null, key_id: cp.keyId,
    next_key: cp.nextKey ? cp.nextKey.toString('hex') : null, signature: cp.signature.toString('hex'),
    ...(cp.frontier ? { frontier: cp.frontier.map((h) => h.toString('hex')) } : {}),
  };
}

const HEX = /^[0-9a-f]*$/;
function hex(v: unknown, bytes: number | null): Buffer | null {
  if (typeof v !== 'string' || !HEX.test(v) || v.length % 2 !== 0) return null;
  if (bytes !== null && v.length !== bytes * 2) return null;
  return Buffer.from(v, 'hex');
}

/** A checkpoint from its JSON form, or a reason it is not one. */
export function checkpointFromJson(o: Record<string, unknown>): Checkpoint | string {
  const index = o.index, size = o.size, time = o.time, reason = o.reason, keyId = o.key_id;
  if (!Number.isSafeInteger(index) || (index as number) < 1) return 'index is not a positive integer';
  if (!Number.isSafeInteger(size) || (size as number) < 0) return 'size is not a non-negative integer';
  if (typeof time !== 'number' || !Number.isFinite(time)) return 'time is not a number';
  if (typeof reason !== 'string' || !REASONS.has(reason)) return `reason ${JSON.stringify(reason)} is unknown`;
  if (typeof keyId !== 'string' || !/^[0-9a-f]{16}$/.test(keyId)) return 'key_id is not 16 hex digits';
  const root = hex(o.root, 32);
  if (!root) return 'root is not 32 bytes of hex';
  const prev = o.prev === null || o.prev === undefined ? null : hex(o.prev, 32);
  if (o.prev != null && !prev) return 'prev is not 32 bytes of hex';
  const nextKey = o.next_key === null || o.next_key === undefined ? null : hex(o.next_key, 32);
  if (o.next_key != null && !nextKey) return 'next_key is not 32 bytes of hex';
  const signature = hex(o.signature, 64);
  if (!signature) return 'signature is not 64 bytes of hex';
  let frontier: Buffer[] | undefined;
  if (Array.isArray(o.frontier)) {
    frontier = [];
    for (const h of o.frontier) {
      const b = hex(h, 32);
      if (!b) return 'frontier holds something that is not a 32-byte hash';
      frontier.push(b);
    }
  }
  return {
    index: index as number, size: size as number, root, time, reason: reason as CheckpointReason, prev, keyId,
    nextKey, signature, ...(frontier ? { frontier } : {}),
  };
}

export interface CheckpointFile {
  checkpoints: Checkpoint[];
  /** Lines that are not checkpoints (line number from 1, why). */
  bad: Array<{ line: number; reason: string }>;
  /** Byte length of the file up to the end of its last complete line. */
  goodLength: number;
  /** The file ends in a line without its newline (a write cut by a crash). */
  tornTail: boolean;
}

export function readCheckpointFile(file: string): CheckpointFile | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const out: CheckpointFile = { checkpoints: [], bad: [], goodLength: 0, tornTail: false };
  const lastNl = text.lastIndexOf('\n');
  out.goodLength = Buffer.byteLength(text.slice(0, lastNl + 1));
  out.tornTail = lastNl + 1 < text.length;
  const lines = text.slice(0, lastNl + 1).split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      out.bad.push({ line: i + 1, reason: 'not JSON' });
      return;
    }
    const cp = parsed && typeof parsed === 'object' ? checkpointFromJson(parsed as Record<string, unknown>) : 'not an object';
    if (typeof cp === 'string') out.bad.push({ line: i + 1, reason: cp });
    else out.checkpoints.push(cp);
  });
  return out;
}

const SEAL_SOURCE: EventSource = { name: 'sluice-seal', transport: 'internal', address: null, port: null, tlsPeer: null };

/** A checkpoint as an event for any destination: an off-host copy anchors the chain. */
export function checkpointToEvent(cp: Checkpoint, hostname = os.hostname()): LogEvent {
  const j = checkpointToJson(cp);
  return LogEvent.fromValues(SEAL_SOURCE, cp.time, {
    timestamp: new Date(cp.time).toISOString(),
    facility: 13, // log audit
    severity: 6,
    hostname,
    appname: 'sluice-seal',
    msgid: 'checkpoint',
    message: `seal checkpoint #${cp.index} size=${cp.size} root=${j.root as string} reason=${cp.reason}`,
    fields: {
      seal_index: cp.index, seal_size: cp.size, seal_root: j.root, seal_time: cp.time, seal_reason: cp.reason,
      seal_prev: j.prev, seal_key_id: cp.keyId, seal_next_key: j.next_key, seal_signature: j.signature,
    },
  });
}

/**
 * Checkpoints from an anchor file: NDJSON of events as sluice writes them (fields.seal_*),
 * or raw checkpoint lines. Lines that are neither are skipped (an anchor is often a SIEM
 * export holding other events too).
 */
export function parseAnchor(text: string): { checkpoints: Checkpoint[]; bad: Array<{ line: number; reason: string }> } {
  const checkpoints: Checkpoint[] = [];
  const bad: Array<{ line: number; reason: string }> = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!o || typeof o !== 'object') return;
    let src: Record<string, unknown> | null = null;
    const f = o.fields as Record<string, unknown> | undefined;
    if (f && typeof f === 'object' && 'seal_index' in f) {
      src = {
        index: f.seal_index, size: f.seal_size, root: f.seal_root, time: f.seal_time, reason: f.seal_reason,
        prev: f.seal_prev, key_id: f.seal_key_id, next_key: f.seal_next_key, signature: f.seal_signature,
      };
    } else if ('signature' in o && 'root' in o && 'index' in o) {
      src = o;
    }
    if (!src) return;
    const cp = checkpointFromJson(src);
    if (typeof cp === 'string') bad.push({ line: i + 1, reason: cp });
    else checkpoints.push({ ...cp, frontier: undefined });
  });
  return { checkpoints, bad };
}
