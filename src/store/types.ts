// What the stores (embedded SQLite, PostgreSQL, archives) offer to the CLI, the API and the UI.
//
// One interface for reading, whichever backend holds the events: `sluice query`, the web API
// and live tail all go through a StoreReader. Times are milliseconds since the epoch; an
// event's time is its timestamp, or its receive time when it has none.

import type { EventJson } from '../event/log-event.js';
import type { FieldRef, Query } from './query/ast.js';

export interface TimeRange {
  /** Inclusive. */
  from: number;
  /** Exclusive. */
  to: number;
}

export interface StoredEvent {
  /** The store's sequence number: unique, gap-free, increasing in arrival order. */
  seq: number;
  /** Event time used for ranges and ordering (ms). */
  time: number;
  event: EventJson;
  /** The bytes as received (null for events built from values). */
  raw: Buffer | null;
  /** Set when the event was read from an archive file rather than the database. */
  archived?: boolean;
}

/** Something the answer could not cover fully, said to the user rather than hidden. */
export interface Notice {
  code: 'scan_bounded' | 'archive_read' | 'sampled' | 'partial';
  message: string;
}

export interface SearchRequest {
  query: Query;
  range: TimeRange;
  /** Newest first, at most this many. */
  limit: number;
  /** Opaque, from a previous SearchResult: continue after its last event. */
  cursor?: string | null;
  /** Also read archives for the part of the range that left the database. */
  archives?: boolean;
  /** Bound for plans that can only scan (ms); the answer then carries a scan_bounded notice. */
  scanBudgetMs?: number;
}

export interface SearchResult {
  events: StoredEvent[];
  /** Pass back to get the next (older) page; null when there is no more. */
  cursor: string | null;
  notices: Notice[];
}

/** One row of `| stats count() by (…)` or `| top N field`: the by-values plus `count`. */
export type AggregateRow = Record<string, string | number | null> & { count: number };

export interface AggregateResult {
  rows: AggregateRow[];
  notices: Notice[];
}

export interface HitBucket {
  /** Bucket start (ms), aligned to the step's calendar boundary (UTC). */
  time: number;
  count: number;
}

export interface FacetValue {
  value: string | number | null;
  count: number;
}

/** For the counting calls: also read archives for the part of the range that left the database. */
export interface CountOptions {
  archives?: boolean;
}

export interface StoreReader {
  search(req: SearchRequest): Promise<SearchResult>;
  /** Runs the query's pipes (stats/top/limit) over the range. */
  aggregate(query: Query, range: TimeRange, opts?: CountOptions): Promise<AggregateResult>;
  /** Counts per bucket of `stepMs` over the range. */
  hits(query: Query, range: TimeRange, stepMs: number, opts?: CountOptions): Promise<{ buckets: HitBucket[]; notices: Notice[] }>;
  /** Top values per field. */
  facets(query: Query, range: TimeRange, fields: FieldRef[], limit: number, opts?: CountOptions): Promise<{ facets: Map<string, FacetValue[]>; notices: Notice[] }>;
  /** Field names seen in the range (builtins, sd.*, fields.*), with how many events have them. */
  fields(range: TimeRange): Promise<{ name: string; count: number }[]>;
  /** The events just before and after one event (same host or same source), oldest first. */
  context(seq: number, before: number, after: number, by: 'host' | 'source'): Promise<StoredEvent[]>;
  /** Events stored after `afterSeq` that match, oldest first (live tail polls this). */
  since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** The highest sequence number stored so far (0 when empty). */
  lastSeq(): Promise<number>;
  close(): Promise<void>;
}
