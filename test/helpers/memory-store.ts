// TEST STAND-IN for the real store: an in-memory StoreReader over the query engine's matcher.
//
// The API and UI tests run against this until the embedded (SQLite) and PostgreSQL stores are
// merged; the lead switches them to the real store then. It answers with the same shapes and
// orders the StoreReader contract fixes (newest first, cursor pages, oldest-first since/context).

import type { EventJson } from '../../src/event/log-event.js';
import type { FieldRef, Query } from '../../src/store/query/ast.js';
import { compileMatcher, groupValue } from '../../src/store/query/match.js';
import { fieldName } from '../../src/store/query/parse.js';
import { applyPipes } from '../../src/store/query/pipes.js';
import type { AggregateResult, FacetValue, HitBucket, Notice, SearchRequest, SearchResult, StoredEvent, StoreReader, TimeRange } from '../../src/store/types.js';

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

export function makeEvent(s: EventSpec): EventJson {
  const t = new Date(s.time ?? Date.now()).toISOString();
  return {
    timestamp: t,
    received_at: t,
    facility: s.facility ?? 1,
    severity: s.severity ?? 6,
    version: 1,
    hostname: s.host ?? 'web-01',
    appname: s.app ?? 'app',
    procid: null,
    msgid: null,
    structured_data: s.sd ?? null,
    message: s.message,
    source: { name: s.source ?? 'net', transport: 'tcp', address: '127.0.0.1', port: 5140, tls_peer: null },
    fields: s.fields ?? {},
  };
}

export class MemoryStore implements StoreReader {
  /** By seq (seq = index + 1). */
  readonly bySeq: StoredEvent[] = [];
  /** When set, hits() fails (or waits this long first when a number). */
  failHits: boolean | number = false;
  searches = 0;

  add(specs: EventSpec[]): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const s of specs) {
      const event = makeEvent(s);
      const e: StoredEvent = { seq: this.bySeq.length + 1, time: Date.parse(event.timestamp!), event, raw: null };
      this.bySeq.push(e);
      out.push(e);
    }
    return out;
  }

  private matching(query: Query, range: TimeRange): StoredEvent[] {
    const m = compileMatcher(query.filter);
    return this.bySeq.filter((e) => e.time >= range.from && e.time < range.to && m(e.event));
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    this.searches++;
    const m = compileMatcher(req.query.filter);
    // Newest first: by time, then seq, descending; the cursor is the last (time, seq) given.
    let after: [number, number] | null = null;
    if (req.cursor) {
      const [t, s] = req.cursor.split(':').map(Number);
      after = [t!, s!];
    }
    const sorted = this.sortedDesc();
    const events: StoredEvent[] = [];
    let more = false;
    for (const e of sorted) {
      if (e.time < req.range.from || e.time >= req.range.to) continue;
      if (after && (e.time > after[0] || (e.time === after[0] && e.seq >= after[1]))) continue;
      if (!m(e.event)) continue;
      if (events.length === req.limit) { more = true; break; }
      events.push(e);
    }
    const last = events[events.length - 1];
    return { events, cursor: more && last ? `${last.time}:${last.seq}` : null, notices: [] };
  }

  private sortedCache: StoredEvent[] | null = null;
  private sortedLen = -1;
  private sortedDesc(): StoredEvent[] {
    if (this.sortedLen !== this.bySeq.length) {
      this.sortedCache = [...this.bySeq].sort((a, b) => b.time - a.time || b.seq - a.seq);
      this.sortedLen = this.bySeq.length;
    }
    return this.sortedCache!;
  }

  async aggregate(query: Query, range: TimeRange): Promise<AggregateResult> {
    // Newest first, as the stores search, so `| limit` alone keeps the newest.
    const events = this.matching(query, range).sort((a, b) => b.time - a.time || b.seq - a.seq).map((e) => e.event);
    const r = applyPipes(query, events);
    return { rows: r.kind === 'rows' ? r.rows : [], notices: [] };
  }

  async hits(query: Query, range: TimeRange, stepMs: number): Promise<{ buckets: HitBucket[]; notices: Notice[] }> {
    if (typeof this.failHits === 'number') await new Promise((r) => setTimeout(r, this.failHits as number));
    else if (this.failHits) throw new Error('histogram backend failed (test)');
    const counts = new Map<number, number>();
    for (const e of this.matching(query, range)) {
      const b = Math.floor(e.time / stepMs) * stepMs;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    return { buckets: [...counts].sort((a, b) => a[0] - b[0]).map(([time, count]) => ({ time, count })), notices: [] };
  }

  async facets(query: Query, range: TimeRange, fields: FieldRef[], limit: number): Promise<{ facets: Map<string, FacetValue[]>; notices: Notice[] }> {
    const events = this.matching(query, range);
    const out = new Map<string, FacetValue[]>();
    for (const f of fields) {
      const counts = new Map<string | number | null, number>();
      for (const e of events) {
        // As the stores answer: `| top limit field`, absent values left out.
        const v = groupValue(e.event, f);
        if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      out.set(fieldName(f), [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([value, count]) => ({ value, count })));
    }
    return { facets: out, notices: [] };
  }

  async fields(range: TimeRange): Promise<{ name: string; count: number }[]> {
    const counts = new Map<string, number>();
    const inc = (n: string) => counts.set(n, (counts.get(n) ?? 0) + 1);
    for (const e of this.bySeq) {
      if (e.time < range.from || e.time >= range.to) continue;
      const ev = e.event;
      if (ev.hostname !== null) inc('host');
      if (ev.appname !== null) inc('app');
      if (ev.severity !== null) inc('severity');
      if (ev.facility !== null) inc('facility');
      if (ev.message !== null) inc('message');
      for (const [id, ps] of Object.entries(ev.structured_data ?? {})) for (const p of Object.keys(ps)) inc(`sd.${id}.${p}`);
      for (const k of Object.keys(ev.fields)) inc(`fields.${k}`);
    }
    return [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count);
  }

  async context(seq: number, before: number, after: number, by: 'host' | 'source'): Promise<StoredEvent[]> {
    const target = this.bySeq[seq - 1];
    if (!target) return [];
    const key = (e: StoredEvent) => (by === 'host' ? e.event.hostname : e.event.source.name);
    const same = this.bySeq.filter((e) => key(e) === key(target)).sort((a, b) => a.time - b.time || a.seq - b.seq);
    const i = same.indexOf(target);
    return same.slice(Math.max(0, i - before), i + after + 1);
  }

  async since(query: Query, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const m = compileMatcher(query.filter);
    const out: StoredEvent[] = [];
    for (let i = afterSeq; i < this.bySeq.length && out.length < limit; i++) if (m(this.bySeq[i]!.event)) out.push(this.bySeq[i]!);
    return out;
  }

  async lastSeq(): Promise<number> {
    return this.bySeq.length;
  }

  async close(): Promise<void> {}
}
