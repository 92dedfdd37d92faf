// The HTTP endpoint of the daemon: Prometheus /metrics and /health, the JSON API under /api/ and
// the web UI at /.
//
// Every /api route and the UI need a token (Authorization: Bearer, or the session cookie the
// browser gets from POST /api/login). /metrics and /health stay open to loopback clients unless
// `openMetrics` is false.

import http from 'node:http';
import path from 'node:path';
import type { ListenAddress } from '../config/units.js';
import { SluiceError } from '../errors.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { StoreReader } from '../store/types.js';
import { FailureLimiter } from './auth/rate-limit.js';
import { clearedCookie, CSRF_HEADER, readCookie, sameSecret, SESSION_COOKIE, sessionCookie, SessionStore, type Session } from './auth/sessions.js';
import { ROLES, TokenStore, type Role, type TokenRecord } from './auth/tokens.js';
import * as data from './data-routes.js';
import { exportResults } from './export.js';
import { answerBadRequest, isLoopback, readJsonBody, SECURITY_HEADERS, sendError, sendJson } from './http-util.js';
import { parseRange } from './params.js';
import { tail } from './tail.js';
import { loadAssets, type Asset } from './ui-assets.js';

export interface ApiServerOptions {
  /** The store the API reads; without one the data routes answer 503. */
  store?: StoreReader;
  /** Holds tokens.json; without it every /api route and the UI answer 503 (no tokens can exist). */
  dataDir?: string;
  /** /metrics and /health open to loopback clients without a token (default true). */
  openMetrics?: boolean;
  /** Live tail: events per second per stream before it samples (default 200). */
  tailRateCap?: number;
  /** Live tail: how often it asks the store for new events (default 250 ms). */
  tailPollMs?: number;
  /** Where the first admin token goes (default: stderr, once, at first start). */
  onAdminToken?: (token: string, file: string) => void;
}

/** Files the sign-in page loads before there is a session. */
const PUBLIC_ASSETS = new Set(['login.js', 'style.css']);

interface Caller {
  token: TokenRecord;
  session: Session | null;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, params: URLSearchParams, caller: Caller, rest: string) => Promise<void>;

interface Route {
  method: string;
  path: string;
  /** Matches every path below `path/`, the remainder passed as `rest`. */
  prefix?: boolean;
  role: Role;
  handler: Handler;
}

export class ApiServer {
  private server: http.Server | null = null;
  private port = 0;
  readonly tokens: TokenStore | null;
  private readonly sessions = new SessionStore();
  private readonly limiter = new FailureLimiter();
  private assets = new Map<string, Asset>();
  private readonly routes: Route[];
  private readonly opts: ApiServerOptions;

  constructor(private readonly address: ListenAddress, private readonly metrics: Metrics, opts: ApiServerOptions = {}) {
    this.opts = opts;
    this.tokens = opts.dataDir ? new TokenStore(path.resolve(opts.dataDir)) : null;
    this.routes = this.makeRoutes();
  }

  get url(): string {
    const h = this.address.host;
    return `http://${h.includes(':') ? `[${h}]` : h}:${this.port}`;
  }

  async start(): Promise<void> {
    this.assets = loadAssets();
    if (this.tokens) {
      const first = this.tokens.ensureAdmin();
      if (first) {
        const print = this.opts.onAdminToken ?? ((token: string, file: string) => {
          process.stderr.write(`sluice: first start: made an admin token for the web UI and API (stored hashed in ${file}); it is shown only this once:\n${token}\n`);
        });
        print(first, this.tokens.file);
      }
    }
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        log('error', 'api', 'request failed', { path: (req.url ?? '').split('?')[0], error: (e as Error).message });
        if (!res.headersSent) sendError(res, 500, 'SLUICE_ERR_INTERNAL', 'internal error (see the daemon log)');
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new SluiceError('SLUICE_ERR_LISTEN', `api: cannot listen on ${this.address.text}: ${e.message}`, { cause: e })));
      server.listen(this.address.port, this.address.host, resolve);
    });
    const a = server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  private makeRoutes(): Route[] {
    const store = (fn: (r: StoreReader, p: URLSearchParams, res: http.ServerResponse) => Promise<void>): Handler => async (_req, res, p) => {
      if (!this.opts.store) return sendError(res, 503, 'SLUICE_ERR_NO_STORE', 'no store is configured: add a destination of type store or postgres');
      await fn(this.opts.store, p, res);
    };
    return [
      { method: 'GET', path: '/api/session', role: 'read', handler: async (_q, res, _p, c) => sendJson(res, 200, { id: c.token.id, name: c.token.name, role: c.token.role, csrf: c.session?.csrf ?? null }) },
      { method: 'POST', path: '/api/logout', role: 'read', handler: async (_q, res, _p, c) => {
        if (c.session) this.sessions.delete(c.session.id);
        sendJson(res, 200, { ok: true }, { 'set-cookie': clearedCookie() });
      } },
      { method: 'GET', path: '/api/search', role: 'read', handler: store(data.search) },
      { method: 'GET', path: '/api/hits', role: 'read', handler: store(data.hits) },
      { method: 'GET', path: '/api/facets', role: 'read', handler: store(data.facets) },
      { method: 'GET', path: '/api/fields', role: 'read', handler: store(data.fields) },
      { method: 'GET', path: '/api/context', role: 'read', handler: store(data.context) },
      { method: 'GET', path: '/api/tail', role: 'read', handler: async (req, res, p) => {
        if (!this.opts.store) return sendError(res, 503, 'SLUICE_ERR_NO_STORE', 'no store is configured');
        const query = data.queryParam(p);
        const from = p.get('after') ?? (req.headers['last-event-id'] as string | undefined) ?? null;
        const after = from !== null && /^\d{1,15}$/.test(from) ? Number(from) : null;
        await tail(this.opts.store, query, after, req, res, { cap: this.opts.tailRateCap ?? 200, pollMs: this.opts.tailPollMs ?? 250 });
      } },
      { method: 'GET', path: '/api/export', role: 'read', handler: async (req, res, p) => {
        if (!this.opts.store) return sendError(res, 503, 'SLUICE_ERR_NO_STORE', 'no store is configured');
        const format = p.get('format') ?? 'ndjson';
        if (format !== 'ndjson' && format !== 'csv') return sendError(res, 400, 'SLUICE_ERR_PARAM', 'format must be ndjson or csv', { param: 'format' });
        const query = data.queryParam(p);
        const range = parseRange(p);
        await exportResults(this.opts.store, query, range, format, req, res);
      } },
      { method: 'GET', path: '/api/tokens', role: 'admin', handler: async (_q, res) => sendJson(res, 200, { tokens: this.tokens!.list().map(publicToken) }) },
      { method: 'POST', path: '/api/tokens', role: 'admin', handler: async (req, res) => {
        const body = await readJsonBody(req);
        const role = body.role ?? 'read';
        if (typeof role !== 'string' || !ROLES.includes(role as Role)) return sendError(res, 400, 'SLUICE_ERR_PARAM', 'role must be read or admin', { param: 'role' });
        if (body.name !== undefined && typeof body.name !== 'string') return sendError(res, 400, 'SLUICE_ERR_PARAM', 'name must be a string', { param: 'name' });
        try {
          const { record, token } = this.tokens!.create(role as Role, body.name as string | undefined);
          sendJson(res, 201, { ...publicToken(record), token });
        } catch (e) {
          if (e instanceof SluiceError && e.code === 'SLUICE_ERR_USAGE') return sendError(res, 400, 'SLUICE_ERR_PARAM', e.message);
          throw e;
        }
      } },
      { method: 'DELETE', path: '/api/tokens', prefix: true, role: 'admin', handler: async (_q, res, _p, _c, rest) => {
        const r = this.tokens!.revoke(decodeURIComponent(rest));
        if (!r) return sendError(res, 404, 'SLUICE_ERR_NOT_FOUND', `no token with id or name ${JSON.stringify(rest)}`);
        sendJson(res, 200, { revoked: publicToken(r) });
      } },
      { method: 'GET', path: '/api/settings', role: 'admin', handler: async (_q, res) => sendJson(res, 200, {
        store: this.opts.store !== undefined,
        open_metrics: this.opts.openMetrics ?? true,
        tail_rate_cap: this.opts.tailRateCap ?? 200,
        token_file: this.tokens!.file,
      }) },
    ];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const full = req.url ?? '/';
    const q = full.indexOf('?');
    const url = q < 0 ? full : full.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : full.slice(q + 1));
    const method = req.method ?? 'GET';
    if (!this.hostAllowed(req.headers.host)) {
      // A page elsewhere whose name was rebound to 127.0.0.1 would send its own name here.
      return sendError(res, 421, 'SLUICE_ERR_HOST', `Host ${JSON.stringify(req.headers.host ?? '')} is not this server's name: use ${this.url}`);
    }

    if (url === '/metrics' || url === '/health') {
      if (method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
      if (!((this.opts.openMetrics ?? true) && isLoopback(req.socket.remoteAddress)) && !(await this.authenticate(req, res, 'read'))) return;
      if (url === '/metrics') {
        const body = await this.metrics.text();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body);
      } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
      return;
    }
    if (url.startsWith('/ui/')) {
      const name = url.slice(4);
      // The sign-in page's own files are public; the app's need a session or a token.
      if (!PUBLIC_ASSETS.has(name) && !(await this.authenticate(req, res, 'read'))) return;
      return this.serveAsset(res, method, name);
    }
    if (url === '/' || url === '/index.html') {
      if (method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
      // Without a session the page is the sign-in form, answered 401.
      const caller = this.tokens ? this.callerFromCookie(req) : null;
      const page = this.assets.get(caller ? 'index.html' : 'login.html')!;
      res.writeHead(caller ? 200 : 401, { ...SECURITY_HEADERS, 'content-type': page.type, 'cache-control': 'no-store' });
      return void res.end(page.body);
    }
    if (url === '/api/login') {
      if (method !== 'POST') return sendError(res, 405, 'SLUICE_ERR_METHOD', 'POST the token as {"token": "..."}', {}, { allow: 'POST' });
      return this.login(req, res);
    }
    if (!url.startsWith('/api/')) return sendError(res, 404, 'SLUICE_ERR_NOT_FOUND', 'not found: the UI is at /, the API under /api/, metrics at /metrics');

    const candidates = this.routes.filter((r) => (r.prefix ? url.startsWith(r.path + '/') && url.length > r.path.length + 1 : url === r.path));
    if (candidates.length === 0) return sendError(res, 404, 'SLUICE_ERR_NOT_FOUND', `no API route ${url}`);
    const route = candidates.find((r) => r.method === method);
    // Authenticate before saying which methods exist.
    const caller = await this.authenticate(req, res, route?.role ?? 'read');
    if (!caller) return;
    if (!route) return sendError(res, 405, 'SLUICE_ERR_METHOD', `${method} is not allowed on ${url}`, {}, { allow: candidates.map((r) => r.method).join(', ') });
    try {
      await route.handler(req, res, params, caller, route.prefix ? url.slice(route.path.length + 1) : '');
    } catch (e) {
      if (!res.headersSent && answerBadRequest(res, e)) return;
      throw e;
    }
  }

  private serveAsset(res: http.ServerResponse, method: string, name: string): void {
    const a = method === 'GET' ? this.assets.get(name) : undefined;
    if (!a || name === 'index.html') return sendError(res, 404, 'SLUICE_ERR_NOT_FOUND', `no UI file ${name}`);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': a.type, 'cache-control': 'no-cache' });
    res.end(a.body);
  }

  private clientAddress(req: http.IncomingMessage): string {
    return req.socket.remoteAddress ?? 'unknown';
  }

  private refuse(res: http.ServerResponse, status: number, reason: string, message: string, headers: Record<string, string> = {}): null {
    this.metrics.apiAuthFailures.inc({ reason });
    sendError(res, status, status === 401 ? 'SLUICE_ERR_UNAUTHORIZED' : status === 429 ? 'SLUICE_ERR_RATE_LIMITED' : 'SLUICE_ERR_FORBIDDEN', message, {}, status === 401 ? { 'www-authenticate': 'Bearer realm="sluice"', ...headers } : headers);
    return null;
  }

  private rateLimited(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const wait = this.limiter.retryAfter(this.clientAddress(req));
    if (wait <= 0) return false;
    this.refuse(res, 429, 'rate_limited', `too many failed sign-ins from this address: try again in ${Math.ceil(wait / 1000)} s`, { 'retry-after': String(Math.ceil(wait / 1000)) });
    return true;
  }

  private callerFromCookie(req: http.IncomingMessage): Caller | null {
    const sid = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (!sid || !this.tokens) return null;
    const session = this.sessions.get(sid);
    if (!session) return null;
    const token = this.tokens.byId(session.tokenId);
    if (!token) {
      // The token was revoked: its sessions end with it.
      this.sessions.delete(sid);
      return null;
    }
    return { token, session };
  }

  /** The caller with at least `role`, or null after answering 401/403/429. */
  private async authenticate(req: http.IncomingMessage, res: http.ServerResponse, role: Role): Promise<Caller | null> {
    if (!this.tokens) {
      sendError(res, 503, 'SLUICE_ERR_NO_TOKENS', 'the API has no token store (no data_dir given)');
      return null;
    }
    let caller: Caller | null = null;
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      if (this.rateLimited(req, res)) return null;
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      const token = m ? this.tokens.verify(m[1]!) : null;
      if (!token) {
        this.limiter.fail(this.clientAddress(req));
        return this.refuse(res, 401, 'invalid', 'the token is not valid (revoked, mistyped or never made)');
      }
      caller = { token, session: null };
    } else {
      caller = this.callerFromCookie(req);
      if (!caller) return this.refuse(res, 401, readCookie(req.headers.cookie, SESSION_COOKIE) ? 'invalid' : 'missing', 'sign in: send Authorization: Bearer TOKEN, or POST the token to /api/login');
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        // Cookies travel by themselves; a state change also needs this origin and the session's CSRF token.
        if (!this.sameOrigin(req)) return this.refuse(res, 403, 'csrf', 'cross-origin request refused');
        const sent = req.headers[CSRF_HEADER];
        if (typeof sent !== 'string' || !sameSecret(sent, caller.session!.csrf)) return this.refuse(res, 403, 'csrf', `missing or wrong ${CSRF_HEADER} header`);
      }
    }
    if (role === 'admin' && caller.token.role !== 'admin') return this.refuse(res, 403, 'forbidden', 'this route needs an admin token');
    return caller;
  }

  /**
   * On a loopback listener only loopback names are this server (DNS rebinding defence); on
   * another address any name may reach it, and the token is the defence.
   */
  private hostAllowed(host: string | undefined): boolean {
    const bound = this.address.host;
    if (!(isLoopback(bound) || bound === 'localhost')) return true;
    if (!host) return false;
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    return name === 'localhost' || name === '[::1]' || isLoopback(name) || name === bound;
  }

  private sameOrigin(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    const host = req.headers.host;
    return typeof origin === 'string' && typeof host === 'string' && origin === `http://${host}`;
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.tokens) return sendError(res, 503, 'SLUICE_ERR_NO_TOKENS', 'the API has no token store (no data_dir given)');
    if (req.headers.origin !== undefined && !this.sameOrigin(req)) return void this.refuse(res, 403, 'csrf', 'cross-origin sign-in refused');
    if (this.rateLimited(req, res)) return;
    let token: unknown;
    try {
      token = (await readJsonBody(req)).token;
    } catch (e) {
      if (answerBadRequest(res, e)) return;
      throw e;
    }
    const record = typeof token === 'string' ? this.tokens.verify(token.trim()) : null;
    if (!record) {
      this.limiter.fail(this.clientAddress(req));
      return void this.refuse(res, 401, 'invalid', 'the token is not valid');
    }
    this.limiter.succeed(this.clientAddress(req));
    const s = this.sessions.create(record.id);
    sendJson(res, 200, { id: record.id, name: record.name, role: record.role, csrf: s.csrf }, { 'set-cookie': sessionCookie(s.id) });
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function publicToken(r: TokenRecord): { id: string; name: string; role: Role; created_at: string } {
  return { id: r.id, name: r.name, role: r.role, created_at: r.created_at };
}
