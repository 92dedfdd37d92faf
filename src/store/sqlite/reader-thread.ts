// The embedded store's reader thread: SQLite reads run here, so a slow facet count or a
// bounded scan never stalls the daemon's event loop (sources, writes, other requests).

import { parentPort, workerData } from 'node:worker_threads';
import { isSluiceError } from '../../errors.js';
import type { StoreReader } from '../types.js';
import { SqliteStoreReader, type ReaderOptions } from './reader.js';

export type ReaderMethod = Exclude<keyof StoreReader, 'close'>;

export interface ReaderCall {
  id: number;
  method: ReaderMethod;
  args: unknown[];
}

export type ReaderAnswer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; code?: string; props: Record<string, unknown> } };

const { dir, opts } = workerData as { dir: string; opts: ReaderOptions };
const reader = new SqliteStoreReader(dir, opts);

parentPort!.on('message', (call: ReaderCall | 'close') => {
  if (call === 'close') {
    void reader.close().finally(() => parentPort!.close());
    return;
  }
  const run = (reader[call.method] as (...a: unknown[]) => Promise<unknown>).apply(reader, call.args);
  run.then(
    (value) => parentPort!.postMessage({ id: call.id, ok: true, value } satisfies ReaderAnswer),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      // Own enumerable properties (a query error's column, …) travel with the message.
      const props = Object.fromEntries(Object.entries(err).filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v)));
      parentPort!.postMessage({ id: call.id, ok: false, error: { name: err.name, message: err.message, ...(isSluiceError(err) ? { code: err.code } : {}), props } } satisfies ReaderAnswer);
    },
  );
});
