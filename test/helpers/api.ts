// Starts an ApiServer on 127.0.0.1:0 over a StoreReader for the web tests, with a fresh data_dir.

import { parseListen, type ListenAddress } from '../../src/config/units.js';
import { Metrics } from '../../src/metrics/registry.js';
import type { StoreReader } from '../../src/store/types.js';
import { ApiServer, type ApiServerOptions } from '../../src/web/api-server.js';
import { tempDir } from './wait.js';

export interface TestApi {
  api: ApiServer;
  url: string;
  admin: string;
  dataDir: string;
  metrics: Metrics;
  printed: string[];
  stop(): Promise<void>;
}

export async function startApi(store: StoreReader | undefined, opts: ApiServerOptions = {}): Promise<TestApi> {
  const dataDir = opts.dataDir ?? tempDir('web');
  const metrics = new Metrics();
  const printed: string[] = [];
  const api = new ApiServer(parseListen('http://127.0.0.1:0', ['http']) as ListenAddress, metrics, {
    store, dataDir, onAdminToken: (t) => printed.push(t), ...opts,
  });
  await api.start();
  return { api, url: api.url, admin: printed[0] ?? '', dataDir, metrics, printed, stop: () => api.stop() };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export async function getJson(url: string, token: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { headers: bearer(token) });
  return { status: r.status, body: await r.json() };
}

export interface SseEvent { event: string; data: string; id?: string }

/** Reads server-sent events until `until` says stop (or the bound passes); then aborts. */
export async function readSse(url: string, headers: Record<string, string>, until: (events: SseEvent[]) => boolean, timeoutMs = 15_000): Promise<SseEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const r = await fetch(url, { headers, signal: ac.signal });
    if (r.status !== 200) throw new Error(`tail answered ${r.status}: ${await r.text()}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev: SseEvent = { event: 'message', data: '' };
        let any = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          const k = c < 0 ? line : line.slice(0, c);
          const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
          if (k === 'event') { ev.event = v; any = true; } else if (k === 'data') { ev.data += v; any = true; } else if (k === 'id') ev.id = v;
        }
        if (any) events.push(ev);
      }
      if (until(events)) break;
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}
