// The HTTP source: a Loggly-compatible HTTP(S) input that answers 200 only once its events are queued.
//
// Routes (POST only):
//   /inputs/TOKEN[/tag/TAGS]/  one event (a JSON object, or text)
//   /bulk/TOKEN[/tag/TAGS]/    newline-separated events
//   /  and  /events            a JSON array, NDJSON / text lines, or one JSON object
// The token is checked against `tokens` in the path or as "Authorization: Bearer".
// Tags (URL /tag/a,b/ or Loggly's X-LOGGLY-TAG header) go to fields.tags of every event.
// Each request is all or nothing: a malformed line (400) or an oversized event (413)
// fails the request and none of its events are queued.
//
// Acknowledgement: the events of a request go to the router with one BatchAck. The
// answer is 200 {"response":"ok","events":N} only when the ack settles 'delivered' (every
// destination buffer took them: memory queued, disk written); 503 with Retry-After when
// it settles 'rejected' (a drop_newest buffer was full) or does not settle within
// ack_timeout. When the router reports back-pressure (a block buffer is full) the events
// are already queued: that response is held until the buffers drain (or ack_timeout),
// then 200 — a 503 would make the client send queued events twice — and requests
// arriving meanwhile wait before anything is queued, getting 503 if ack_timeout passes.

import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ListenAddress } from '../../config/units.js';
import type { EventSource, LogEvent } from '../../event/log-event.js';
import { SluiceError } from '../../errors.js';
import { log } from '../../log.js';
import { AllowList, normalizeAddress } from '../../net/access.js';
import { ClientIdentityPolicy, serverTlsOptions, subjectText } from '../../net/tls-server.js';
import { BatchAck, type AckOutcome } from '../../pipeline/acknowledgement.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { httpSourceInfo, type HttpSourceConfig } from './config.js';
import { decodeBody, splitTags, type BodyShape } from './decode.js';
import { checkSignature, DeliveryLog, githubEvent } from './github.js';

export { httpSourceSchema, type HttpSourceConfig } from './config.js';

interface Route {
  shape: BodyShape;
  /** Token from the path (Loggly routes), else null. */
  token: string | null;
  tags: string[];
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const gunzip = promisify(zlib.gunzip) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

const LOGGLY_ROUTE = /^\/(inputs|bulk)\/([^/]+)(?:\/tag\/([^/]*))?\/?$/;
/** How long stop() lets requests in progress finish before cutting their connections. */
const STOP_GRACE_MS = 10_000;

function matchRoute(pathname: string): Route | null | 'bad_encoding' {
  if (pathname === '/' || pathname === '/events' || pathname === '/events/') return { shape: 'any', token: null, tags: [] };
  const m = LOGGLY_ROUTE.exec(pathname);
  if (!m) return null;
  try {
    return {
      shape: m[1] === 'inputs' ? 'single' : 'lines',
      token: decodeURIComponent(m[2]!),
      tags: m[3] ? splitTags(decodeURIComponent(m[3])) : [],
    };
  } catch {
    return 'bad_encoding';
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

interface Listener {
  address: ListenAddress;
  server: http.Server;
  port: number;
}

export class HttpSource implements Source {
  private readonly listeners: Listener[] = [];
  private readonly stats: SourceStats;
  private readonly allow: AllowList;
  private readonly tokens: Buffer[];
  private readonly identity: ClientIdentityPolicy | null;
  /** Set when the router reported back-pressure; new requests wait for whenReady first. */
  private blocked = false;
  private ready: Promise<void> | null = null;
  private stopping = false;
  private stopSignal: () => void = () => {};
  private readonly stopped: Promise<void>;
  private active = 0;
  private idle: (() => void)[] = [];
  private readonly deliveries: DeliveryLog;

  constructor(private readonly cfg: HttpSourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.allow = new AllowList(cfg.allow);
    this.tokens = cfg.tokens.map(digest);
    this.identity = cfg.tls ? new ClientIdentityPolicy(cfg.tls) : null;
    this.stopped = new Promise((resolve) => { this.stopSignal = resolve; });
    this.deliveries = new DeliveryLog(cfg.max_deliveries);
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    let tlsOptions: tls.TlsOptions | null = null;
    if (cfg.listen.some((a) => a.scheme === 'https')) {
      if (!cfg.tls) throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `source ${this.ctx.name}: an https:// listener needs tls: { cert, key }`);
      // HTTP clients wait for an answer, so TLS 1.3 session tickets are read and do no harm here.
      tlsOptions = serverTlsOptions(cfg.tls, this.ctx.baseDir, 'TLSv1.3');
    }
    for (const address of cfg.listen) {
      const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.request(req, res, address.scheme as 'http' | 'https');
      const server = address.scheme === 'https'
        ? https.createServer({ ...tlsOptions!, requestTimeout: 120_000 }, handler)
        : http.createServer({ requestTimeout: 120_000 }, handler);
      server.on('connection', (s: net.Socket) => this.admit(s));
      if (address.scheme === 'https') {
        server.on('secureConnection', (s: tls.TLSSocket) => this.secured(s));
        server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
          this.stats.refused('tls_handshake', 'TLS handshake failed', { peer: s.remoteAddress, error: err.message });
        });
      }
      server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
        this.stats.error('reading', 'bad_http', `malformed HTTP request: ${err.message}`, { peer: socket.remoteAddress }, 'info');
        if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        else socket.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `source ${this.ctx.name}: cannot listen on ${address.text}: ${(e as Error).message}`, { cause: e })));
        server.listen({ host: address.host, port: address.port, backlog: 1024 }, resolve);
      });
      server.on('error', (e) => this.stats.error('accepting', 'listener_error', `listener ${address.text} failed: ${e.message}`));
      const a = server.address();
      this.listeners.push({ address, server, port: typeof a === 'object' && a ? a.port : 0 });
    }
  }

  addresses(): string[] {
    return this.listeners.map((l) => `${l.address.scheme}://${l.address.host.includes(':') ? `[${l.address.host}]` : l.address.host}:${l.port}`);
  }

  /** Access check at accept time, before any TLS or HTTP work. */
  private admit(socket: net.Socket): void {
    socket.on('error', () => {});
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    if (!this.allow.allows(peer)) {
      this.stats.refused('not_allowed', 'connection from an address not in allow', { peer });
      socket.destroy();
      return;
    }
    this.stats.accepted.inc();
    this.stats.open.inc();
    socket.once('close', () => this.stats.open.dec());
  }

  private secured(s: tls.TLSSocket): void {
    const raw = s.getPeerX509Certificate?.();
    if (raw && !s.authorized) {
      // client_auth optional: a certificate that does not verify is refused, not ignored.
      this.stats.refused('tls_unverified', 'client certificate does not verify against tls.ca', { peer: s.remoteAddress, subject: subjectText(raw), error: String(s.authorizationError) });
      s.destroy();
      return;
    }
    if (this.identity?.restricts && (!raw || !this.identity.allows(raw))) {
      this.stats.refused('tls_identity', 'client certificate is not in allow_subjects / allow_fingerprints', {
        peer: s.remoteAddress, subject: raw ? subjectText(raw) : null, fingerprint: raw ? raw.fingerprint256 : null,
      });
      s.destroy();
    }
  }

  private request(req: http.IncomingMessage, res: http.ServerResponse, scheme: 'http' | 'https'): void {
    this.active++;
    res.once('close', () => {
      if (--this.active === 0) { const w = this.idle; this.idle = []; for (const f of w) f(); }
    });
    this.handle(req, res, scheme).catch((e) => {
      log('error', `source ${this.ctx.name}`, 'request failed', { error: String(e) });
      this.reply(req, res, { status: 500, body: { response: 'error', error: 'internal error' } }, true);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, scheme: 'http' | 'https'): Promise<void> {
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (this.cfg.mode === 'github') {
      await this.github(req, res, scheme);
      return;
    }
    const route = matchRoute(pathname);
    const peer = normalizeAddress(req.socket.remoteAddress ?? '');
    if (route === null || route === 'bad_encoding') {
      const error = route === null
        ? `no such endpoint ${JSON.stringify(pathname)}: POST to /inputs/TOKEN/, /bulk/TOKEN/, / or /events`
        : 'the token or tags in the path are not valid percent-encoding';
      this.reply(req, res, { status: route === null ? 404 : 400, body: { response: 'error', error } }, true);
      return;
    }
    if (req.method !== 'POST') {
      this.reply(req, res, { status: 405, body: { response: 'error', error: `method ${req.method} not allowed: use POST` }, headers: { allow: 'POST' } }, true);
      return;
    }
    const denied = this.checkToken(route, req.headers.authorization);
    if (denied !== null) {
      this.stats.refused(denied.status === 401 ? 'no_token' : 'bad_token', denied.status === 401 ? 'request without a token' : 'request with a token not in tokens', { peer });
      this.reply(req, res, denied, true);
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
      this.reply(req, res, { status: 415, body: { response: 'error', error: `Content-Encoding ${encoding} is not supported (identity or gzip)` } }, true);
      return;
    }
    const max = this.cfg.max_body_bytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (encoding === 'identity' && declared > max) {
      this.tooLarge(req, res, `body of ${declared} bytes exceeds max_body_bytes ${max}`);
      return;
    }
    let body = await readBody(req, encoding === 'identity' ? max : max + 1024 * 1024);
    if (body === 'too_large') {
      this.tooLarge(req, res, `body exceeds max_body_bytes ${max}`);
      return;
    }
    if (body === 'aborted') return;
    if (encoding !== 'identity') {
      try {
        body = await gunzip(body, { maxOutputLength: max });
      } catch (e) {
        const big = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        if (big) this.tooLarge(req, res, `decompressed body exceeds max_body_bytes ${max}`);
        else this.reply(req, res, { status: 400, body: { response: 'error', error: `body is not valid gzip: ${(e as Error).message}` } });
        return;
      }
    }
    const now = Date.now();
    const tlsPeer = scheme === 'https' ? peerIdentity(req.socket as tls.TLSSocket) : null;
    const source: EventSource = { name: this.ctx.name, transport: scheme, address: peer, port: req.socket.remotePort ?? null, tlsPeer };
    const headerTags = req.headers['x-loggly-tag'];
    const tags = [...route.tags];
    for (const t of splitTags(Array.isArray(headerTags) ? headerTags.join(',') : headerTags ?? '')) if (!tags.includes(t)) tags.push(t);
    const decoded = decodeBody(body, { shape: route.shape, format: this.cfg.format, maxEventBytes: this.cfg.max_event_bytes, source, now, tags });
    if (!decoded.ok) {
      this.stats.error('parsing', decoded.status === 413 ? 'oversize' : 'bad_request', `request refused (${decoded.status}): ${decoded.error}`, { peer });
      this.reply(req, res, { status: decoded.status, body: { response: 'error', error: decoded.error } });
      return;
    }
    const events = decoded.events;
    if (decoded.invalidUtf8) this.stats.error('decoding', 'invalid_utf8', 'request body is not valid UTF-8; stored as received, JSON shows U+FFFD', { peer });
    this.stats.received.inc(events.length);
    this.stats.bytes.inc(body.length);
    if (events.length === 0) {
      this.reply(req, res, { status: 200, body: { response: 'ok', events: 0 } });
      return;
    }
    this.reply(req, res, await this.queue(events));
  }

  /** mode github: a webhook delivery, signed with the shared secret. */
  private async github(req: http.IncomingMessage, res: http.ServerResponse, scheme: 'http' | 'https'): Promise<void> {
    const peer = normalizeAddress(req.socket.remoteAddress ?? '');
    if (req.method !== 'POST') {
      this.reply(req, res, { status: 405, body: { response: 'error', error: `method ${req.method} not allowed: use POST` }, headers: { allow: 'POST' } }, true);
      return;
    }
    const body = await readBody(req, this.cfg.max_body_bytes);
    if (body === 'too_large') { this.tooLarge(req, res, `body exceeds max_body_bytes ${this.cfg.max_body_bytes}`); return; }
    if (body === 'aborted') return;
    const sig = checkSignature(this.cfg.secret!, body, req.headers['x-hub-signature-256']);
    if (sig !== 'ok') {
      this.stats.refused(sig === 'missing' ? 'no_signature' : 'bad_signature', sig === 'missing' ? 'webhook without X-Hub-Signature-256' : 'webhook signature does not match the secret', { peer });
      this.reply(req, res, { status: 401, body: { response: 'error', error: sig === 'missing' ? 'X-Hub-Signature-256 is required' : 'signature does not match' } });
      return;
    }
    const delivery = req.headers['x-github-delivery'];
    const id = typeof delivery === 'string' && delivery.length > 0 ? delivery : null;
    if (id !== null && this.deliveries.has(id)) {
      this.stats.dropped('replay', 1);
      this.stats.log.report('info', 'replay', 'webhook delivery already taken; dropped', { delivery: id, peer });
      this.reply(req, res, { status: 200, body: { response: 'duplicate', events: 0 } });
      return;
    }
    let payload: unknown;
    try {
      const ct = String(req.headers['content-type'] ?? '');
      const text = body.toString('utf8');
      payload = JSON.parse(ct.includes('x-www-form-urlencoded') ? new URLSearchParams(text).get('payload') ?? '' : text);
    } catch (e) {
      this.stats.error('parsing', 'bad_request', `webhook body is not JSON: ${(e as Error).message}`, { peer });
      this.reply(req, res, { status: 400, body: { response: 'error', error: 'body is not JSON' } });
      return;
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      this.reply(req, res, { status: 400, body: { response: 'error', error: 'body is not a JSON object' } });
      return;
    }
    const now = Date.now();
    const tlsPeer = scheme === 'https' ? peerIdentity(req.socket as tls.TLSSocket) : null;
    const source: EventSource = { name: this.ctx.name, transport: scheme, address: peer, port: req.socket.remotePort ?? null, tlsPeer };
    this.stats.received.inc();
    this.stats.bytes.inc(body.length);
    const answer = await this.queue([githubEvent(req, payload as Record<string, unknown>, source, now)]);
    // Only a delivery that was queued counts as seen: GitHub redelivers one that got 503.
    if (answer.status === 200 && id !== null) this.deliveries.add(id);
    this.reply(req, res, answer);
  }

  /** null when the request may go on, else the 401/403 answer. */
  private checkToken(route: Route, authorization: string | undefined): Answer | null {
    if (this.tokens.length === 0) return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const bearer = m ? m[1]! : null;
    if (route.token === null && bearer === null) {
      return { status: 401, body: { response: 'error', error: 'a token is required: put it in the path (/inputs/TOKEN/) or send "Authorization: Bearer TOKEN"' }, headers: { 'www-authenticate': 'Bearer' } };
    }
    if ((route.token !== null && this.knownToken(route.token)) || (bearer !== null && this.knownToken(bearer))) return null;
    return { status: 403, body: { response: 'error', error: 'token not accepted' } };
  }

  private knownToken(token: string): boolean {
    const d = digest(token);
    let ok = false;
    // Compare against every token (no early exit), in constant time per comparison.
    for (const t of this.tokens) if (timingSafeEqual(d, t)) ok = true;
    return ok;
  }

  /** Hands the events to the router and decides the answer from the acknowledgement. */
  private async queue(events: LogEvent[]): Promise<Answer> {
    const timeout = this.cfg.ack_timeout;
    const busy = (why: string): Answer => ({
      status: 503,
      body: { response: 'error', error: why },
      headers: { 'retry-after': String(Math.max(1, Math.ceil(this.cfg.retry_after / 1000))) },
    });
    const deadline = Date.now() + timeout;
    if (this.blocked && !(await this.waitReady(timeout))) {
      this.stats.error('queueing', 'backpressure', 'destinations full: request answered 503 (the client keeps its events)', { events: events.length });
      return busy(this.stopping ? 'shutting down; nothing was queued' : `destinations are full and did not drain within ack_timeout (${timeout} ms); nothing was queued`);
    }
    if (this.stopping) return busy('shutting down; nothing was queued');
    let settle: (o: AckOutcome) => void = () => {};
    const settled = new Promise<AckOutcome>((resolve) => { settle = resolve; });
    const ack = new BatchAck((o) => settle(o));
    const ready = this.ctx.router.dispatch(this.ctx.name, events, ack, true);
    const outcome = await withTimeout(settled, Math.max(0, deadline - Date.now()));
    if (outcome === null) return busy(`events were not queued within ack_timeout (${timeout} ms); send them again`);
    if (outcome === 'rejected') return busy('a destination buffer is full and refused the events; send them again');
    if (!ready) {
      // Queued, but the buffers are over their limit: slow this client down before answering.
      this.blocked = true;
      await this.waitReady(Math.max(0, deadline - Date.now()));
    }
    return { status: 200, body: { response: 'ok', events: events.length } };
  }

  /** Resolves true when the router has room for this source again, false on timeout or stop. */
  private waitReady(timeoutMs: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    if (!this.blocked) return Promise.resolve(true);
    this.ready ??= new Promise<void>((resolve) => {
      this.ctx.router.whenReady(this.ctx.name, () => {
        this.blocked = false;
        this.ready = null;
        resolve();
      });
    });
    return Promise.race([
      this.ready.then(() => true),
      this.stopped.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref()),
    ]);
  }

  private tooLarge(req: http.IncomingMessage, res: http.ServerResponse, error: string): void {
    this.stats.error('reading', 'body_too_large', `request refused (413): ${error}`, { peer: normalizeAddress(req.socket.remoteAddress ?? '') });
    this.reply(req, res, { status: 413, body: { response: 'error', error } }, true);
  }

  /**
   * Sends the answer. `close`: the request body may be unread (refused before or while
   * reading): the connection is closed after the answer rather than reading the rest.
   */
  private reply(req: http.IncomingMessage, res: http.ServerResponse, a: Answer, close = false): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(a.body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...a.headers };
    const unread = close && !req.complete;
    if (unread || this.stopping) headers.connection = 'close';
    res.writeHead(a.status, headers);
    res.end(text);
    if (unread) {
      // Stop reading: no more of the body is parsed. The socket closes once the answer is out;
      // a short linger lets the client read it before our close resets its unsent bytes.
      req.removeAllListeners('data');
      req.pause();
      res.once('finish', () => {
        req.socket.end();
        setTimeout(() => req.socket.destroy(), 2000).unref();
      });
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal();
    const closed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => {
      l.server.close(() => resolve());
      l.server.closeIdleConnections();
    })));
    if (this.active > 0) {
      // Requests already read go on to the router and get their answer; bounded.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(STOP_GRACE_MS, this.cfg.ack_timeout + 1000));
        t.unref();
        this.idle.push(() => { clearTimeout(t); resolve(); });
      });
    }
    for (const l of this.listeners) l.server.closeAllConnections();
    await closed;
  }
}

function peerIdentity(s: tls.TLSSocket): string | null {
  const raw = s.getPeerX509Certificate?.();
  return raw && s.authorized ? subjectText(raw) : null;
}

/** The body, up to `limit` bytes; 'too_large' as soon as it goes over (reading stops). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (v: Buffer | 'too_large' | 'aborted'): void => {
      req.off('data', data);
      req.off('end', end);
      req.off('error', fail);
      req.off('close', closed);
      resolve(v);
    };
    const data = (c: Buffer): void => {
      n += c.length;
      if (n > limit) { req.pause(); done('too_large'); return; }
      chunks.push(c);
    };
    const end = (): void => done(Buffer.concat(chunks, n));
    const fail = (): void => done('aborted');
    const closed = (): void => { if (!req.complete) done('aborted'); };
    req.on('data', data);
    req.on('end', end);
    req.on('error', fail);
    req.on('close', closed);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<null>((resolve) => { t = setTimeout(resolve, ms, null); t.unref(); }),
  ]);
}

export const httpSourceKind: SourceKind = {
  ...httpSourceInfo,
  build: (config, ctx) => new HttpSource(config as HttpSourceConfig, ctx),
};
