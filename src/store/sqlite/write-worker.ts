// The store's writer thread: SQLite inserts run here so parsing (main thread) and writing use both cores.
// A job whose rows committed goes on to the text-index thread (port), which answers the main thread.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PartitionWriter } from './partition-writer.js';

export interface WorkerRequest {
  id: number;
  job: { day: string; buf: Uint8Array; count: number };
}

export type WorkerReply = { id: number; ok: true } | { id: number; ok: false; error: string };

const { dir, port } = workerData as { dir: string; port: MessagePort };
const writer = new PartitionWriter(dir);
/**
 * After a failed job every later one is refused until the store resets: a chunk must never
 * commit after an earlier one failed, or its sequence numbers would leave a gap.
 */
let failed: string | null = null;

parentPort!.on('message', (msg: WorkerRequest | 'close' | 'reset' | { closeDay: string }) => {
  if (typeof msg === 'object' && 'closeDay' in msg) {
    writer.closeDay(msg.closeDay);
    parentPort!.postMessage({ id: -1, ok: true } satisfies WorkerReply);
    return;
  }
  if (msg === 'close' || msg === 'reset') {
    writer.close();
    failed = null;
    parentPort!.postMessage({ id: -1, ok: true } satisfies WorkerReply);
    return;
  }
  if (failed !== null) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: `not written: an earlier commit failed (${failed})` } satisfies WorkerReply);
    return;
  }
  const j = msg.job;
  try {
    const toText = writer.write({ day: j.day, buf: Buffer.from(j.buf.buffer, j.buf.byteOffset, j.buf.byteLength), count: j.count });
    if (!toText) parentPort!.postMessage({ id: msg.id, ok: true } satisfies WorkerReply);
    else if (j.buf.byteOffset === 0 && j.buf.byteLength === j.buf.buffer.byteLength) port.postMessage(msg, [j.buf.buffer as ArrayBuffer]);
    else port.postMessage(msg);
  } catch (e) {
    failed = `partition ${j.day}: ${(e as Error).message}`;
    parentPort!.postMessage({ id: msg.id, ok: false, error: failed } satisfies WorkerReply);
  }
});
