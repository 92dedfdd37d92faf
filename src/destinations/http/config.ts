// Config schema of the HTTP destination, and the URL facts (Loggly mode, redacted form) derived from it.

import { z } from 'zod';
import { duration, size } from '../../config/units.js';
import { tlsClientSchema } from '../../net/tls-config.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const HTTP_MODES = ['loggly_single', 'loggly_bulk', 'ndjson', 'json_array'] as const;
export type HttpMode = (typeof HTTP_MODES)[number];

/** Loggly's documented limits: 5 MB per bulk request, 1 MB per event (decimal, the safe reading). */
export const LOGGLY_MAX_BULK_BYTES = 5_000_000;
export const LOGGLY_MAX_EVENT_BYTES = 1_000_000;

/** Headers the destination computes itself; letting the config set them would corrupt requests. */
const RESERVED_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'host', 'connection']);

/** `/inputs/TOKEN[/tag/TAGS]/` and `/bulk/TOKEN[/tag/TAGS]/`: Loggly's two HTTP endpoints. */
const LOGGLY_PATH = /^\/(inputs|bulk)\/([^/]*)(\/.*)?$/;

const authSchema = z.union([
  z.object({
    bearer: z.string().min(1).describe('token sent as "Authorization: Bearer <token>"; use ${env.NAME}'),
  }).strict(),
  z.object({
    username: z.string().describe('HTTP basic auth user'),
    password: z.string().describe('HTTP basic auth password; use ${env.NAME}'),
  }).strict(),
]);

export const httpDestinationSchema = z.object({
  type: z.literal('http'),
  url: z.string().describe('http:// or https:// URL events are sent to, e.g. "https://logs-01.loggly.com/bulk/${env.LOGGLY_TOKEN}/tag/sluice/"'),
  mode: z.enum(HTTP_MODES).optional()
    .describe('request shape: loggly_single (one POST per event), loggly_bulk (newline-separated events), ndjson, json_array; default: loggly_bulk for /bulk/ URLs, loggly_single for /inputs/, else ndjson'),
  body: z.enum(['json', 'message']).default('json')
    .describe('what one event becomes: json (the JSON event of DESIGN.md) or message (its message text only)'),
  method: z.enum(['POST', 'PUT']).default('POST').describe('HTTP method'),
  headers: z.record(z.string(), z.string()).default({})
    .describe('extra request headers (may override content-type and user-agent); values may use ${env.NAME}'),
  auth: authSchema.optional().describe('{ bearer } or { username, password }; take the values from ${env.NAME}'),
  gzip: z.boolean().default(false).describe('compress request bodies (Content-Encoding: gzip)'),
  tls: tlsClientSchema.optional().describe('https://: CA to verify the server with, client certificate and key, servername, verify'),
  timeout: duration().default(30_000).describe('longest wait for one request (connect, response headers, body); a timeout is retried'),
  concurrency: z.number().int().positive().max(64).default(4)
    .describe('requests of one batch in flight at once (loggly_single sends one request per event)'),
  max_batch_events: z.number().int().positive().default(1000).describe('events per batch at most'),
  max_batch_bytes: size().default(LOGGLY_MAX_BULK_BYTES)
    .describe('largest request body (before gzip); a batch is split into several requests to stay under it (default 5MB, Loggly\'s bulk limit)'),
  max_event_bytes: size().default(LOGGLY_MAX_EVENT_BYTES)
    .describe('largest encoded event (default 1MB, Loggly\'s limit); larger events are not sent but go to the dead-letter file'),
  ...outerShape,
}).strict().superRefine((cfg, ctx) => {
  let url: URL;
  try {
    url = new URL(cfg.url);
  } catch {
    ctx.addIssue({ code: 'custom', path: ['url'], message: `expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(cfg.url))}` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', path: ['url'], message: `expected an http:// or https:// URL, got ${url.protocol}//` });
    return;
  }
  if (url.username || url.password) {
    // Credentials in a URL end up in logs and error messages; auth keeps them out.
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'put credentials in auth: { username, password } rather than in the URL' });
  }
  if (url.hash) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a URL fragment (#...) is never sent; remove it' });
  if (cfg.tls && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls applies to https:// URLs only' });
  }
  const mode = resolveMode(cfg.mode, url);
  if (mode === 'loggly_single' || mode === 'loggly_bulk') {
    const want = mode === 'loggly_bulk' ? 'bulk' : 'inputs';
    const m = LOGGLY_PATH.exec(url.pathname);
    if (!m || m[1] !== want) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `mode ${mode} posts to Loggly's /${want}/TOKEN/tag/TAGS/ endpoint; the URL path is ${JSON.stringify(redactPath(url.pathname))}` });
    } else if (m[2] === '') {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `the Loggly token in the URL is empty (is the \${env.…} variable it comes from set to a value?)` });
    }
  }
  if (cfg.max_event_bytes > cfg.max_batch_bytes) {
    ctx.addIssue({ code: 'custom', path: ['max_event_bytes'], message: `max_event_bytes (${cfg.max_event_bytes}) cannot exceed max_batch_bytes (${cfg.max_batch_bytes})` });
  }
  for (const name of Object.keys(cfg.headers)) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      ctx.addIssue({ code: 'custom', path: ['headers', name], message: `header ${name} is set by sluice itself (use gzip: for Content-Encoding)` });
    } else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      ctx.addIssue({ code: 'custom', path: ['headers', name], message: `${JSON.stringify(name)} is not a valid HTTP header name` });
    }
  }
  for (const [name, value] of Object.entries(cfg.headers)) {
    if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'header values cannot contain CR, LF or NUL' });
  }
});

export type HttpDestinationConfig = z.infer<typeof httpDestinationSchema>;

/** The mode the config asked for, or the one its URL implies (Loggly's endpoints are recognised by path). */
export function resolveMode(mode: HttpMode | undefined, url: URL): HttpMode {
  if (mode) return mode;
  if (url.pathname.startsWith('/bulk/')) return 'loggly_bulk';
  if (url.pathname.startsWith('/inputs/')) return 'loggly_single';
  return 'ndjson';
}

/** A Loggly path with its token hidden: the token is a secret and the URL goes into logs and dead letters. */
export function redactPath(pathname: string): string {
  return pathname.replace(LOGGLY_PATH, (_m, kind: string, _token: string, rest: string | undefined) => `/${kind}/<token>${rest ?? ''}`);
}

/** The URL as it may appear in messages: no credentials, no Loggly token, no query (it may hold keys too). */
export function redactUrl(text: string): string {
  try {
    const u = new URL(text);
    return `${u.protocol}//${u.host}${redactPath(u.pathname)}${u.search ? '?…' : ''}`;
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//<credentials>@').replace(/\/(inputs|bulk)\/[^/]+/, '/$1/<token>');
  }
}

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const httpDestinationInfo: DestinationInfo = {
  type: 'http',
  description: 'POST events over HTTP(S): Loggly single and bulk endpoints, NDJSON or JSON arrays',
  schema: httpDestinationSchema,
};
