// The store's writer thread: SQLite inserts run here so parsing (main thread) and writing use both cores.

import { parentPort, workerData } from 'node:worker_threads';
import { PartitionWriter } from './partition-writer.js';

export interface WorkerRequest {
  id: number;
  jobs: { day: string; buf: Uint8Array; count: number }[];
}

export type WorkerReply = { id: number; ok: true } | { id: number; ok: false; error: string };

const writer = new PartitionWriter((workerData as { dir: string }).dir);

parentPort!.on('message', (msg: WorkerRequest | 'close') => {
  if (msg === 'close') {
    writer.close();
    parentPort!.postMessage({ id: -1, ok: true } satisfies WorkerReply);
    return;
  }
  let i = 0;
  try {
    for (; i < msg.jobs.length; i++) {
      const j = msg.jobs[i]!;
      writer.write({ day: j.day, buf: Buffer.from(j.buf.buffer, j.buf.byteOffset, j.buf.byteLength), count: j.count });
    }
    parentPort!.postMessage({ id: msg.id, ok: true } satisfies WorkerReply);
  } catch (e) {
    // Jobs before i are committed; the store learns how far it got from the database itself.
    parentPort!.postMessage({ id: msg.id, ok: false, error: `partition ${msg.jobs[i]?.day}: ${(e as Error).message}` } satisfies WorkerReply);
  }
});
