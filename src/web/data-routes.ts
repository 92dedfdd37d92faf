// The read routes over a StoreReader: search, hits, facets, fields, context.

import type http from 'node:http';
import { fieldName, parseQuery } from '../store/query/parse.js';
import { aggregates } from '../store/query/pipes.js';
import type { Query } from '../store/query/ast.js';
import type { StoredEvent, StoreReader } from '../store/types.js';
import { chooseStep, fillBuckets, storeStepMs } from './hits-step.js';
import { sendJson } from './http-util.js';
import { parseFieldRef, parseInteger, parseRange, ParamError } from './params.js';

export const SEARCH_LIMIT_DEFAULT = 100;
export const SEARCH_LIMIT_MAX = 1000;
const DEFAULT_FACETS = ['host', 'app', 'severity'];

export function queryParam(p: URLSearchParams): Query {
  const q = p.get('q') ?? '';
  if (q.length > 4096) throw new ParamError('q', 'q is longer than 4096 characters');
  return parseQuery(q);
}

export function eventOut(e: StoredEvent): { seq: number; time: number; event: StoredEvent['event']; archived?: boolean } {
  return e.archived ? { seq: e.seq, time: e.time, event: e.event, archived: true } : { seq: e.seq, time: e.time, event: e.event };
}

export async function search(reader: StoreReader, p: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const query = queryParam(p);
  const range = parseRange(p);
  if (aggregates(query)) {
    const r = await reader.aggregate(query, range);
    sendJson(res, 200, { query: query.text, range, rows: r.rows, notices: r.notices });
    return;
  }
  const limit = parseInteger(p, 'limit', SEARCH_LIMIT_DEFAULT, 1, SEARCH_LIMIT_MAX);
  const r = await reader.search({ query, range, limit, cursor: p.get('cursor') || null });
  sendJson(res, 200, { query: query.text, range, events: r.events.map(eventOut), cursor: r.cursor, notices: r.notices });
}

export async function hits(reader: StoreReader, p: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const query = queryParam(p);
  const range = parseRange(p);
  const max = parseInteger(p, 'buckets', 100, 1, 1000);
  const step = chooseStep(range.to - range.from, max);
  const r = await reader.hits(query, range, storeStepMs(step));
  const buckets = fillBuckets(range, step, r.buckets);
  const total = buckets.reduce((a, b) => a + b.count, 0);
  sendJson(res, 200, { query: query.text, range, step: step.name, step_ms: step.ms, total, buckets, notices: r.notices });
}

export async function facets(reader: StoreReader, p: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const query = queryParam(p);
  const range = parseRange(p);
  const limit = parseInteger(p, 'limit', 10, 1, 100);
  const names = (p.get('fields') ?? DEFAULT_FACETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length > 20) throw new ParamError('fields', 'at most 20 facet fields');
  const refs = names.map((n) => parseFieldRef(n));
  const r = await reader.facets(query, range, refs, limit);
  const out: Record<string, { value: string | number | null; count: number }[]> = {};
  names.forEach((n, i) => {
    out[n] = r.facets.get(n) ?? r.facets.get(fieldName(refs[i]!)) ?? [];
  });
  sendJson(res, 200, { query: query.text, range, facets: out, notices: r.notices });
}

export async function fields(reader: StoreReader, p: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const range = parseRange(p);
  sendJson(res, 200, { range, fields: await reader.fields(range) });
}

export async function context(reader: StoreReader, p: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const seqText = p.get('seq');
  if (seqText === null || !/^\d{1,15}$/.test(seqText)) throw new ParamError('seq', 'seq must be the sequence number of a stored event');
  const seq = Number(seqText);
  const before = parseInteger(p, 'before', 10, 0, 500);
  const after = parseInteger(p, 'after', 10, 0, 500);
  const by = p.get('by') ?? 'host';
  if (by !== 'host' && by !== 'source') throw new ParamError('by', 'by must be host or source');
  const events = await reader.context(seq, before, after, by);
  sendJson(res, 200, { seq, by, events: events.map(eventOut) });
}
