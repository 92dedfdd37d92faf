// The real embedded store for the web tests: events written through the store destination (real
// sealer, its key under a temp data_dir), read back through openEmbeddedReader as the daemon does.

import type { Query, FieldRef } from '../../src/store/query/ast.js';
import { StoreDestination, storeDestinationSchema } from '../../src/destinations/store/index.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { openEmbeddedReader } from '../../src/store/sqlite/index.js';
import type { AggregateResult, FacetValue, HitBucket, Notice, SearchRequest, SearchResult, StoredEvent, StoreReader, TimeRange } from '../../src/store/types.js';
import { tempDir } from './wait.js';

export interface EventSpec {
  message: string;
  host?: string;
  app?: string;
  severity?: number;
  facility?: number;
  time?: number;
  sd?: Record<string, Record<string, string>>;
  fields?: Record<string, unknown>;
  source?: string;
}

function toLogEvent(s: EventSpec): LogEvent {
  const time = s.time ?? Date.now();
  const source: EventSource = { name: s.source ?? 'net', transport: 'tcp', address: '127.0.0.1', port: 5140, tlsPeer: null };
  return LogEvent.fromValues(source, time, {
    timestamp: new Date(time).toISOString(),
    facility: s.facility ?? 1,
    severity: s.severity ?? 6,
    version: 1,
    hostname: s.host ?? 'web-01',
    appname: s.app ?? 'app',
    structuredData: s.sd ?? null,
    message: s.message,
    fields: s.fields ?? null,
  });
}

/**
 * The real reader with two test hooks the real store has no reason to offer: a count of
 * search() calls (to see that export pages through the reader) and a switch that makes hits()
 * fail (the real store does not fail on demand; the UI must keep the results when it does).
 */
export class ObservedReader implements StoreReader {
  searches = 0;
  failHits = false;
  constructor(private readonly inner: StoreReader) {}
  search(req: SearchRequest): Promise<SearchResult> { this.searches++; return this.inner.search(req); }
  aggregate(query: Query, range: TimeRange): Promise<AggregateResult> { return this.inner.aggregate(query, range); }
  async hits(query: Query, range: TimeRange, stepMs: number): Promise<{ buckets: HitBucket[]; notices: Notice[] }> {
    if (this.failHits) throw new Error('histogram backend failed (test)');
    return this.inner.hits(query, range, stepMs);
  }
  facets(query: Query, range: TimeRange, fields: FieldRef[], limit: number): Promise<{ facets: Map<string, FacetValue[]>; notices: Notice[] }> { return this.inner.facets(query, range, fields, limit); }
  fields(range: TimeRange): Promise<{ name: string; count: number }[]> { return this.inner.fields(range); }
  context(seq: number, before: number, after: number, by: 'host' | 'source'): Promise<StoredEvent[]> { return this.inner.context(seq, before, after, by); }
  since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]> { return this.inner.since(query, afterSeq, limit); }
  lastSeq(): Promise<number> { return this.inner.lastSeq(); }
  close(): Promise<void> { return this.inner.close(); }
}

export class WebTestStore {
  /** How many events were stored (= the last seq: one writer, seq from 1). */
  count = 0;
  readonly reader: ObservedReader;
  private constructor(private readonly dest: StoreDestination) {
    this.reader = new ObservedReader(openEmbeddedReader(dest.dir));
  }

  static async open(): Promise<WebTestStore> {
    const dataDir = tempDir('web-store');
    const dest = new StoreDestination(storeDestinationSchema.parse({ type: 'store' }), { name: 'store', metrics: new Metrics(), dataDir, baseDir: dataDir });
    await dest.start();
    return new WebTestStore(dest);
  }

  /** Stores the events (committed when this resolves); answers their seqs in order. */
  async add(specs: EventSpec[]): Promise<number[]> {
    const events = specs.map(toLogEvent);
    const r = await new Promise<{ status: string; error?: string }>((resolve) => this.dest.send(events, resolve));
    if (r.status !== 'ok') throw new Error(`store write failed: ${r.status} ${r.error ?? ''}`);
    const first = this.count + 1;
    this.count += events.length;
    return events.map((_, i) => first + i);
  }

  async close(): Promise<void> {
    await this.reader.close();
    await this.dest.stop();
  }
}
