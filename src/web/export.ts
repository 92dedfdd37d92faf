// Export of a whole result set as NDJSON or CSV: pages through the reader, one page in memory,
// and waits for the client to drain before reading the next page (backpressure).

import type http from 'node:http';
import type { EventJson } from '../event/log-event.js';
import type { Query } from '../store/query/ast.js';
import type { StoreReader, TimeRange } from '../store/types.js';
import { aggregates } from '../store/query/pipes.js';
import { drained, SECURITY_HEADERS } from './http-util.js';

const PAGE = 1000;

export const CSV_COLUMNS = ['time', 'seq', 'timestamp', 'received_at', 'hostname', 'appname', 'procid', 'msgid', 'facility', 'severity', 'message', 'structured_data', 'fields', 'source_name', 'source_transport', 'source_address'] as const;

/** One CSV cell: quoted when needed; a leading = + - @ gets a ' so spreadsheets do not run it as a formula. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(seq: number, time: number, e: EventJson): string {
  return [
    new Date(time).toISOString(), seq, e.timestamp, e.received_at, e.hostname, e.appname, e.procid, e.msgid, e.facility, e.severity, e.message,
    e.structured_data, Object.keys(e.fields).length ? e.fields : null, e.source.name, e.source.transport, e.source.address,
  ].map(csvCell).join(',') + '\r\n';
}

export async function exportResults(reader: StoreReader, query: Query, range: TimeRange, format: 'ndjson' | 'csv', req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let closed = false;
  const onClose = () => { closed = true; };
  res.on('close', onClose);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="sluice-${stamp}.${format}"`,
    'cache-control': 'no-store',
  });
  try {
    if (aggregates(query)) {
      const r = await reader.aggregate(query, range);
      if (format === 'ndjson') res.write(r.rows.map((row) => JSON.stringify(row) + '\n').join(''));
      else {
        const cols = r.rows.length ? Object.keys(r.rows[0]!) : ['count'];
        res.write(cols.map(csvCell).join(',') + '\r\n' + r.rows.map((row) => cols.map((c) => csvCell(row[c])).join(',') + '\r\n').join(''));
      }
      res.end();
      return;
    }
    if (format === 'csv') res.write(CSV_COLUMNS.join(',') + '\r\n');
    let cursor: string | null = null;
    do {
      const page = await reader.search({ query, range, limit: PAGE, cursor });
      let chunk = '';
      for (const e of page.events) chunk += format === 'csv' ? csvRow(e.seq, e.time, e.event) : JSON.stringify(e.event) + '\n';
      cursor = page.events.length ? page.cursor : null;
      if (closed) break;
      if (chunk !== '' && !res.write(chunk) && !(await drained(res))) break;
    } while (cursor !== null && !closed);
    res.end();
  } catch (e) {
    // The status line is gone: cut the stream so the client cannot take a partial file for a whole one.
    res.destroy(e as Error);
  } finally {
    res.off('close', onClose);
  }
}
