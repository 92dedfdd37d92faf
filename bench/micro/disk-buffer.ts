// Micro benchmark: disk buffer throughput — pushes acknowledged on disk, then reading a backlog back.
//
// Run: node dist/bench/micro/disk-buffer.js [events=1000000] [batch=100] [fsync=never|always|<ms>]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiskBuffer, type FsyncPolicy } from '../../src/buffer/disk.js';
import { BatchAck } from '../../src/pipeline/acknowledgement.js';
import { makeSyslogBatch } from './binary-codec.js';

export interface DiskBenchResult {
  pushAckedPerSecond: number;
  takeCachedPerSecond: number;
  takeFromDiskPerSecond: number;
  megabytesOnDisk: number;
}

/** Pushes `total` events, at most 64 batches awaiting their ack, and resolves when all are acknowledged. */
async function pushAll(buf: DiskBuffer, total: number, batch: number): Promise<void> {
  const events = makeSyslogBatch(batch);
  let pushed = 0, acked = 0, outstanding = 0;
  await new Promise<void>((resolve, reject) => {
    const more = (): void => {
      while (outstanding < 64 && pushed < total) {
        outstanding++;
        pushed += batch;
        const ack = new BatchAck((o) => {
          if (o !== 'delivered') return reject(new Error('push refused'));
          outstanding--;
          acked += batch;
          if (acked >= total) resolve();
          else setImmediate(more);
        });
        buf.push(events, ack, true);
        ack.release();
      }
    };
    more();
  });
}

async function drainAll(buf: DiskBuffer, max: number, deadlineMs: number): Promise<number> {
  let n = 0;
  const end = Date.now() + deadlineMs;
  let wake: (() => void) | null = null;
  buf.onReadable = () => { const w = wake; wake = null; w?.(); };
  while (buf.events > 0 && Date.now() < end) {
    const got = buf.take(max);
    if (got === null) { await new Promise<void>((r) => { wake = r; setTimeout(r, 100); }); continue; }
    n += got.length;
    buf.commit();
  }
  return n;
}

export async function runDiskBufferBench(total = 1_000_000, batch = 100, fsync: FsyncPolicy = 'never'): Promise<DiskBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-disk-'));
  try {
    const opts = { dir, maxBytes: 8 * 1024 * 1024 * 1024, whenFull: 'block' as const, fsync, cacheBytes: 16 * 1024 * 1024 };
    let buf = new DiskBuffer(opts);
    await buf.open();
    let t = process.hrtime.bigint();
    await pushAll(buf, total, batch);
    const pushS = Number(process.hrtime.bigint() - t) / 1e9;
    const bytes = buf.bytes;
    // A backlog read back from disk after a restart...
    await buf.close();
    buf = new DiskBuffer({ ...opts, cacheBytes: 1 });
    await buf.open();
    t = process.hrtime.bigint();
    const fromDisk = await drainAll(buf, 1000, 120_000);
    const diskS = Number(process.hrtime.bigint() - t) / 1e9;
    await buf.close();
    buf = new DiskBuffer(opts);
    await buf.open();
    // ...and a destination that keeps up: pushes and takes alternate in rounds that fit in the cache.
    let cached = 0, cacheNs = 0n;
    const round = 20_000 - (20_000 % batch);
    for (let done = 0; done < total; done += round) {
      await pushAll(buf, round, batch);
      t = process.hrtime.bigint();
      cached += await drainAll(buf, 1000, 120_000);
      cacheNs += process.hrtime.bigint() - t;
    }
    const cacheS = Number(cacheNs) / 1e9;
    await buf.close();
    return { pushAckedPerSecond: total / pushS, takeCachedPerSecond: cached / cacheS, takeFromDiskPerSecond: fromDisk / diskS, megabytesOnDisk: bytes / 1e6 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const total = Number(process.argv[2] ?? 1_000_000);
  const batch = Number(process.argv[3] ?? 100);
  const f = process.argv[4] ?? 'never';
  const fsync: FsyncPolicy = f === 'never' || f === 'always' ? f : Number(f);
  const r = await runDiskBufferBench(total, batch, fsync);
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`disk-buffer: ${n(total)} 256-byte syslog events in batches of ${batch}, fsync ${f}`);
  console.log(`  push, acknowledged on disk: ${n(r.pushAckedPerSecond)} events/s (${r.megabytesOnDisk.toFixed(0)} MB)`);
  console.log(`  take+commit from the cache: ${n(r.takeCachedPerSecond)} events/s`);
  console.log(`  take+commit read from disk: ${n(r.takeFromDiskPerSecond)} events/s`);
}
