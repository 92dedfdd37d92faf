// Small HTTP helpers shared by the API routes: JSON answers, bodies, security headers, errors.

import type http from 'node:http';
import { ParamError } from './params.js';

/** Headers on every answer of the api listener. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message, ...extra } }, headers);
}

/** A thrown query error (parseQuery's QueryError carries a 1-based column). */
export function isQueryError(e: unknown): e is Error & { column: number } {
  return e instanceof Error && typeof (e as { column?: unknown }).column === 'number';
}

/** 400 for bad parameters and queries; false when the error is something else. */
export function answerBadRequest(res: http.ServerResponse, e: unknown): boolean {
  if (isQueryError(e)) {
    sendError(res, 400, 'SLUICE_ERR_QUERY', e.message, { column: e.column });
    return true;
  }
  if (e instanceof ParamError) {
    sendError(res, 400, 'SLUICE_ERR_PARAM', e.message, { param: e.param });
    return true;
  }
  return false;
}

export async function readBody(req: http.IncomingMessage, maxBytes = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > maxBytes) throw new ParamError('body', `request body over ${maxBytes} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ParamError('body', 'request body must be a JSON object');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParamError('body', 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Resolves when the response can take more, or the client went away (then false). */
export function drained(res: http.ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}
