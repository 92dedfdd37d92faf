// Live tail over server-sent events: polls the reader for events after the last one sent.
//
// Above `cap` events per second the stream samples (every k-th event, k from the previous
// second's rate, and never more than cap a second) and says so with a `sampled` event, so the
// browser never falls behind the pipeline nor hides that it skipped.

import type http from 'node:http';
import type { Query } from '../store/query/ast.js';
import type { StoreReader } from '../store/types.js';
import { eventOut } from './data-routes.js';
import { drained, SECURITY_HEADERS } from './http-util.js';

export interface TailOptions {
  /** Events per second sent before sampling starts. */
  cap: number;
  pollMs: number;
}

const BATCH = 1000;
const WINDOW_MS = 1000;
const HEARTBEAT_MS = 15_000;

export async function tail(reader: StoreReader, query: Query, afterSeq: number | null, req: http.IncomingMessage, res: http.ServerResponse, opts: TailOptions): Promise<void> {
  let after = afterSeq ?? (await reader.lastSeq());
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  let closed = false;
  let wake: (() => void) | null = null;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  req.on('close', onClose);
  res.on('close', onClose);
  res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ after, cap: opts.cap, query: query.text })}\n\n`);

  let windowStart = Date.now();
  let seen = 0, sent = 0, dropped = 0, stride = 1;
  let lastWrite = Date.now();
  try {
    while (!closed) {
      const batch = await reader.since(query, after, BATCH);
      let chunk = '';
      for (const e of batch) {
        after = e.seq;
        seen++;
        if (sent < opts.cap && seen % stride === 0) {
          sent++;
          chunk += `id: ${e.seq}\nevent: log\ndata: ${JSON.stringify(eventOut(e))}\n\n`;
        } else dropped++;
      }
      const now = Date.now();
      if (now - windowStart >= WINDOW_MS) {
        if (dropped > 0) chunk += `event: sampled\ndata: ${JSON.stringify({ seen, sent, dropped, cap: opts.cap, window_ms: now - windowStart, message: `${seen} events in ${now - windowStart} ms, over the cap of ${opts.cap}/s: showing ${sent}` })}\n\n`;
        // The next window keeps one event in `stride`, from this window's rate.
        stride = Math.max(1, Math.ceil((seen * WINDOW_MS) / Math.max(1, now - windowStart) / opts.cap));
        windowStart = now;
        seen = sent = dropped = 0;
      }
      if (chunk === '' && now - lastWrite >= HEARTBEAT_MS) chunk = ': keep-alive\n\n';
      if (chunk !== '') {
        lastWrite = now;
        if (!res.write(chunk) && !(await drained(res))) break;
      }
      if (batch.length < BATCH && !closed) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, opts.pollMs);
          wake = () => { clearTimeout(t); resolve(); };
        });
        wake = null;
      }
    }
  } catch (e) {
    if (!closed) res.write(`event: error\ndata: ${JSON.stringify({ message: (e as Error).message })}\n\n`);
  } finally {
    req.off('close', onClose);
    res.end();
  }
}
