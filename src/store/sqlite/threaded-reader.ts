// A StoreReader that answers from a worker thread (reader-thread.ts): same interface, same
// results, but SQLite's synchronous reads happen off the daemon's event loop.

import { Worker } from 'node:worker_threads';
import { SluiceError, type ErrorCode } from '../../errors.js';
import type {
  AggregateResult, CountOptions, FacetValue, HitBucket, Notice, SearchRequest, SearchResult, StoredEvent, StoreReader, TimeRange,
} from '../types.js';
import type { FieldRef, Query } from '../query/ast.js';
import type { ReaderOptions } from './reader.js';
import type { ReaderAnswer, ReaderCall, ReaderMethod } from './reader-thread.js';

export class ThreadedStoreReader implements StoreReader {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  constructor(readonly dir: string, opts: ReaderOptions = {}) {
    this.worker = new Worker(new URL('./reader-thread.js', import.meta.url), { workerData: { dir, opts } });
    this.worker.unref();
    this.worker.on('message', (a: ReaderAnswer) => {
      const p = this.pending.get(a.id);
      if (!p) return;
      this.pending.delete(a.id);
      if (a.ok) p.resolve(a.value);
      else p.reject(rebuildError(a.error));
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new SluiceError('SLUICE_ERR_STORE', `the store reader thread ended (exit code ${code})`)));
  }

  private call<T>(method: ReaderMethod, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new SluiceError('SLUICE_ERR_STORE', 'the store reader is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies ReaderCall);
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const r = await this.call<SearchResult>('search', req);
    r.events = r.events.map(withBuffer);
    return r;
  }

  aggregate(query: Query, range: TimeRange, opts?: CountOptions): Promise<AggregateResult> {
    return this.call('aggregate', query, range, opts);
  }

  hits(query: Query, range: TimeRange, stepMs: number, opts?: CountOptions): Promise<{ buckets: HitBucket[]; notices: Notice[] }> {
    return this.call('hits', query, range, stepMs, opts);
  }

  facets(query: Query, range: TimeRange, fields: FieldRef[], limit: number, opts?: CountOptions): Promise<{ facets: Map<string, FacetValue[]>; notices: Notice[] }> {
    return this.call('facets', query, range, fields, limit, opts);
  }

  fields(range: TimeRange): Promise<{ name: string; count: number }[]> {
    return this.call('fields', range);
  }

  async context(seq: number, before: number, after: number, by: 'host' | 'source'): Promise<StoredEvent[]> {
    return (await this.call<StoredEvent[]>('context', seq, before, after, by)).map(withBuffer);
  }

  async since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return (await this.call<StoredEvent[]>('since', query, afterSeq, limit)).map(withBuffer);
  }

  lastSeq(): Promise<number> {
    return this.call('lastSeq');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    // Unref'd while idle; held now, or the process could end before the thread says it closed.
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}

/** Structured cloning turns a Buffer into a plain Uint8Array; callers expect a Buffer. */
function withBuffer(e: StoredEvent): StoredEvent {
  if (e.raw !== null && !Buffer.isBuffer(e.raw)) {
    const u = e.raw as Uint8Array;
    e.raw = Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  }
  return e;
}

function rebuildError(e: { name: string; message: string; code?: string; props: Record<string, unknown> }): Error {
  const err = e.code ? new SluiceError(e.code as ErrorCode, e.message) : new Error(e.message);
  Object.assign(err, e.props);
  err.name = e.name;
  return err;
}
