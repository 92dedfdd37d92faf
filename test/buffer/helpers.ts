// Shared helpers for the disk buffer tests: numbered events, acks that report, draining with bounds.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import type { EventBuffer } from '../../src/buffer/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { BatchAck, type AckOutcome } from '../../src/pipeline/acknowledgement.js';

export const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 51000, tlsPeer: null };

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-disk-'));
}

/** Events seq=from..from+n-1, parsed from one shared buffer as a TCP source would produce them. */
export function numberedEvents(from: number, n: number, pad = 0): LogEvent[] {
  const lines: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(Buffer.from(`<134>1 2026-03-01T12:00:00.000Z web-1 app ${process.pid} - [m@1 k="v${i}"] seq=${from + i} ${'p'.repeat(pad)}`));
  }
  const buf = Buffer.concat(lines);
  const out: LogEvent[] = [];
  let p = 0;
  for (const l of lines) {
    const ev = new LogEvent(SOURCE, 1_767_225_600_000 + p);
    parseSyslog(ev, buf, p, p + l.length, 'auto');
    out.push(ev);
    p += l.length;
  }
  return out;
}

export function seqOf(ev: LogEvent): number {
  const m = /seq=(\d+)/.exec(ev.message ?? '');
  if (m === null) throw new Error(`event without seq: ${JSON.stringify(ev.message)}`);
  return Number(m[1]);
}

/** An ack as a source makes it: push, then release the source's own hold. `outcome` resolves when it settles. */
export function sourceAck(): { ack: BatchAck; outcome: Promise<AckOutcome>; settled: () => AckOutcome | null } {
  let result: AckOutcome | null = null;
  let resolve!: (o: AckOutcome) => void;
  const outcome = new Promise<AckOutcome>((r) => { resolve = r; });
  const ack = new BatchAck((o) => { result = o; resolve(o); });
  return { ack, outcome, settled: () => result };
}

/** Pushes with a source ack and waits until it settles. */
export async function pushAndWait(buf: EventBuffer, events: LogEvent[], canWait = true): Promise<{ accepted: boolean; outcome: AckOutcome }> {
  const a = sourceAck();
  const accepted = buf.push(events, a.ack, canWait);
  a.ack.release();
  return { accepted, outcome: await withTimeout(a.outcome, 10_000, 'ack') };
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Takes and commits until the buffer is empty, as a runner would; bounded in time. */
export async function drain(buf: EventBuffer, max = 100, timeoutMs = 20_000): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | null = null;
  buf.onReadable = () => { const w = wake; wake = null; w?.(); };
  while (Date.now() < deadline) {
    const got = buf.take(max);
    if (got !== null) {
      for (const e of got) out.push(e);
      buf.commit();
      continue;
    }
    if (buf.events === 0) return out;
    await new Promise<void>((res) => { wake = res; setTimeout(res, 100).unref(); });
  }
  throw new Error(`drain timed out with ${buf.events} events left after ${out.length}`);
}

/** Polls `cond` every 10 ms until true; throws after timeoutMs. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
