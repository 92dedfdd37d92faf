// The store's text-index thread: jobs whose rows committed come from the writer thread (port);
// it indexes their messages and answers the main thread, which acknowledges the batch then.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { log } from '../../log.js';
import { describeError } from '../../errors.js';
import { TextWriter } from './text-writer.js';
import type { WorkerReply, WorkerRequest } from './write-worker.js';

const { dir, port } = workerData as { dir: string; port: MessagePort };
const writer = new TextWriter(dir);
/** As in the writer thread: after a failure nothing is indexed until a reset, which catches up first. */
let failed: string | null = null;

function catchUp(): void {
  try {
    const n = writer.catchUp();
    if (n > 0) log('info', 'store', 'text index brought level with the rows', { dir, messages: n });
  } catch (e) {
    failed = `text index catch-up: ${describeError(e)}`;
    log('error', 'store', 'text index catch-up failed', { dir, error: failed });
  }
}

catchUp();

port.on('message', (msg: WorkerRequest) => {
  if (failed !== null) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: `not indexed: an earlier text commit failed (${failed})` } satisfies WorkerReply);
    return;
  }
  const j = msg.job;
  try {
    writer.write({ day: j.day, buf: Buffer.from(j.buf.buffer, j.buf.byteOffset, j.buf.byteLength), count: j.count });
    parentPort!.postMessage({ id: msg.id, ok: true } satisfies WorkerReply);
  } catch (e) {
    failed = `text index of ${j.day}: ${(e as Error).message}`;
    parentPort!.postMessage({ id: msg.id, ok: false, error: failed } satisfies WorkerReply);
  }
});

parentPort!.on('message', (msg: 'close' | 'reset' | { closeDay: string }) => {
  if (typeof msg === 'object') writer.closeDay(msg.closeDay);
  else {
    writer.close();
    if (msg === 'reset') {
      failed = null;
      catchUp();
    }
  }
  parentPort!.postMessage({ id: -1, ok: true } satisfies WorkerReply);
});
