// The HTTP destination: Loggly single/bulk, NDJSON or JSON-array POSTs over a keep-alive undici Pool.

import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Dispatcher, Pool } from 'undici';
import type { LogEvent } from '../../event/log-event.js';
import { describeError } from '../../errors.js';
import { ClientTls } from '../../net/tls-client.js';
import { parseRetryAfter } from '../../pipeline/retry.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { httpDestinationInfo, redactUrl, resolveMode, type HttpDestinationConfig, type HttpMode } from './config.js';
import { contentType, encodeBatch, type EncodedBatch, type EncodedRequest } from './encoder.js';

export { httpDestinationSchema, type HttpDestinationConfig } from './config.js';

const gzip = promisify(zlib.gzip);

/** Bytes of an error response quoted in the reason (dead-letter file, logs). */
const REASON_BODY_BYTES = 200;
/** An error body longer than this is not drained: the connection is dropped instead. */
const DRAIN_LIMIT = 64 * 1024;

/** Chain and name verification failures: a configuration problem, so the message says what to fix. */
const CERT_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

type Outcome =
  | { kind: 'ok' }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'reject'; error: string };

type RetryOutcome = Extract<Outcome, { kind: 'retry' }>;

interface RequestState {
  req: EncodedRequest;
  done: boolean;
  rejected: string | null;
}

/** What is known about the batch in flight, so a retry resends only the requests not yet accepted. */
interface InFlight {
  batch: LogEvent[];
  encoded: EncodedBatch;
  states: RequestState[];
}

export class HttpDestination implements Destination {
  readonly maxBatch: number;
  readonly mode: HttpMode;
  private readonly url: URL;
  /** The URL for messages: the Loggly token and any credentials hidden. */
  readonly displayUrl: string;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private pool: Pool | null = null;
  private Pool: typeof Pool | null = null;
  private clientTls: ClientTls | null = null;
  private partial: InFlight | null = null;

  constructor(private readonly cfg: HttpDestinationConfig, private readonly ctx: DestinationContext & { baseDir?: string }) {
    this.url = new URL(cfg.url);
    this.mode = resolveMode(cfg.mode, this.url);
    this.displayUrl = redactUrl(cfg.url);
    this.path = this.url.pathname + this.url.search;
    this.maxBatch = cfg.max_batch_events;
    const h: Record<string, string> = {
      'content-type': contentType(this.mode, cfg.body),
      'user-agent': 'sluice',
    };
    if (cfg.gzip) h['content-encoding'] = 'gzip';
    if (cfg.auth) {
      h.authorization = 'bearer' in cfg.auth
        ? `Bearer ${cfg.auth.bearer}`
        : `Basic ${Buffer.from(`${cfg.auth.username}:${cfg.auth.password}`, 'utf8').toString('base64')}`;
    }
    for (const [k, v] of Object.entries(cfg.headers)) h[k.toLowerCase()] = v;
    this.headers = h;
  }

  async start(): Promise<void> {
    if (this.url.protocol === 'https:') {
      this.clientTls = new ClientTls(this.cfg.tls, this.url.hostname.replace(/^\[|\]$/g, ''), this.ctx.baseDir ?? process.cwd(), this.displayUrl, `destination ${this.ctx.name}`);
    }
    // Loaded here, not at the top: undici costs ~20 MB of memory, and most configs have no HTTP destination.
    this.Pool = (await import('undici')).Pool;
    this.pool = this.newPool();
  }

  private newPool(): Pool {
    const connect: ConnectionOptions & { timeout?: number } = { timeout: this.cfg.timeout, ...this.clientTls?.options };
    return new this.Pool!(this.url.origin, {
      connections: this.cfg.concurrency,
      pipelining: 1,
      connect,
      headersTimeout: this.cfg.timeout,
      bodyTimeout: this.cfg.timeout,
    });
  }

  /** Renewed client certificate files: later requests go through a pool of new connections. */
  private renewPoolIfTlsChanged(): void {
    if (this.pool === null || this.clientTls === null || !this.clientTls.refresh()) return;
    const old = this.pool;
    this.pool = this.newPool();
    void old.close().catch(() => {});
  }

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    this.deliver(events).then(done, (e) => done({ status: 'retry', error: `${this.displayUrl}: ${describeError(e)}` }));
  }

  private async deliver(events: LogEvent[]): Promise<SendResult> {
    if (this.partial?.batch !== events) {
      const encoded = encodeBatch(events, {
        mode: this.mode, body: this.cfg.body, maxBatchBytes: this.cfg.max_batch_bytes, maxEventBytes: this.cfg.max_event_bytes,
      });
      this.partial = { batch: events, encoded, states: encoded.requests.map((req) => ({ req, done: false, rejected: null })) };
    }
    const p = this.partial;
    const todo = p.states.filter((s) => !s.done);
    const failure: { first: RetryOutcome | null } = { first: null };
    let next = 0;
    // A few requests at a time; after the first retryable failure no new request starts.
    const worker = async (): Promise<void> => {
      while (failure.first === null && next < todo.length) {
        const s = todo[next++]!;
        const r = await this.post(s.req);
        if (r.kind === 'retry') {
          // Another worker may have failed while this request was out: keep the longest Retry-After.
          const first = failure.first as RetryOutcome | null;
          if (first === null) failure.first = { ...r };
          else if (r.retryAfterMs !== undefined) first.retryAfterMs = Math.max(first.retryAfterMs ?? 0, r.retryAfterMs);
          continue;
        }
        s.done = true;
        if (r.kind === 'reject') s.rejected = r.error;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.cfg.concurrency, todo.length) }, worker));
    const f = failure.first;
    if (f !== null) {
      const pending = p.states.filter((s) => !s.done).length;
      const error = p.states.length > 1 ? `${f.error} (${pending} of ${p.states.length} requests of this batch to resend)` : f.error;
      return f.retryAfterMs !== undefined ? { status: 'retry', error, retryAfterMs: f.retryAfterMs } : { status: 'retry', error };
    }
    this.partial = null;
    const rejected: LogEvent[] = [...p.encoded.oversize];
    const reasons: string[] = [];
    if (p.encoded.oversize.length > 0) reasons.push(`${p.encoded.oversize.length} event(s): ${p.encoded.oversizeReason}`);
    for (const s of p.states) {
      if (s.rejected === null) continue;
      rejected.push(...s.req.events);
      if (reasons.length < 3 && !reasons.includes(s.rejected)) reasons.push(s.rejected);
    }
    if (rejected.length === 0) return { status: 'ok' };
    return { status: 'reject', error: reasons.join('; '), events: rejected };
  }

  /** One request; never throws. */
  private async post(req: EncodedRequest): Promise<Outcome> {
    const what = `${this.cfg.method} ${this.displayUrl}`;
    this.renewPoolIfTlsChanged();
    const pool = this.pool;
    if (pool === null) return { kind: 'retry', error: `${what}: destination not started` };
    let res: Dispatcher.ResponseData;
    try {
      const body = this.cfg.gzip ? await gzip(req.body) : req.body;
      res = await pool.request({
        path: this.path,
        method: this.cfg.method,
        headers: this.headers,
        body,
        signal: AbortSignal.timeout(this.cfg.timeout),
      });
    } catch (e) {
      return { kind: 'retry', error: `${what}: ${this.describeNetError(e)}` };
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      await res.body.dump({ limit: DRAIN_LIMIT }).catch(() => {});
      return { kind: 'ok' };
    }
    const head = await readHead(res.body);
    const quoted = head ? `: ${head}` : '';
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(headerValue(res.headers['retry-after']));
      const error = `${what}: HTTP ${status}${retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs / 1000)}s)` : ''}${quoted}`;
      return retryAfterMs !== undefined ? { kind: 'retry', error, retryAfterMs } : { kind: 'retry', error };
    }
    if (status >= 400) return { kind: 'reject', error: `${what}: HTTP ${status}${quoted}` };
    // A redirect or other surprise is a configuration problem: keep the events and say so.
    const location = headerValue(res.headers.location);
    return { kind: 'retry', error: `${what}: unexpected HTTP ${status}${location ? ` to ${redactUrl(location)}` : ''} (redirects are not followed; fix url)` };
  }

  private describeNetError(e: unknown): string {
    const err = e as NodeJS.ErrnoException & { cause?: unknown };
    const code = err?.code ?? (err?.cause as NodeJS.ErrnoException | undefined)?.code;
    const target = `${this.url.protocol}//${this.url.host}`;
    if (code && CERT_VERIFY_CODES.has(code)) {
      const fix = code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
        ? 'connect by a name the certificate holds, or set tls.servername'
        : 'set tls.ca to the CA that signed the server\'s certificate';
      return `TLS: the certificate of ${target} does not verify (${code}: ${err.message}); ${fix}`;
    }
    if (code === 'ECONNREFUSED') return `cannot connect to ${target}: connection refused`;
    if ((err as Error)?.name === 'TimeoutError' || (code && TIMEOUT_CODES.has(code))) {
      return `no response from ${target} within ${this.cfg.timeout} ms (timeout)`;
    }
    return describeError(e);
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    this.pool = null;
    // Give requests in flight a moment to end; then cut them (the runner keeps their batch).
    const closed = pool.close().catch(() => {});
    const t = setTimeout(() => void pool.destroy().catch(() => {}), 5000);
    await closed;
    clearTimeout(t);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The first REASON_BODY_BYTES of an error response, one line; the rest is drained (or the connection dropped). */
async function readHead(body: Dispatcher.ResponseData['body']): Promise<string> {
  const parts: Buffer[] = [];
  let kept = 0;
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (kept < REASON_BODY_BYTES) {
        const c = chunk.subarray(0, REASON_BODY_BYTES - kept);
        parts.push(c);
        kept += c.length;
      }
      if (total > DRAIN_LIMIT) { body.destroy(); break; }
    }
  } catch {
    // A body cut short still gives what arrived.
  }
  return Buffer.concat(parts).toString('utf8').replace(/\s+/g, ' ').trim();
}

export const httpDestinationKind: DestinationKind = {
  ...httpDestinationInfo,
  build: (config, ctx) => new HttpDestination(config as HttpDestinationConfig, ctx),
};
