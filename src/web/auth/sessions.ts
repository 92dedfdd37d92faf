// Browser sessions: a token traded once (POST /api/login) for an HttpOnly cookie and a CSRF token.
//
// Sessions live in memory (a restart signs the browser out) and remember only the token's id,
// so revoking the token ends its sessions at their next request.

import crypto from 'node:crypto';

export const SESSION_COOKIE = 'sluice_session';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  tokenId: string;
  csrf: string;
  expires: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  create(tokenId: string): Session {
    this.sweep();
    const s: Session = {
      id: crypto.randomBytes(32).toString('base64url'),
      tokenId,
      csrf: crypto.randomBytes(24).toString('base64url'),
      expires: Date.now() + SESSION_TTL_MS,
    };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string): Session | null {
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expires < Date.now()) {
      this.sessions.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  /** Drops expired sessions, and the oldest ones beyond the bound. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.expires < now) this.sessions.delete(id);
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
  }
}

export function sessionCookie(id: string, maxAgeS = SESSION_TTL_MS / 1000): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** Constant-time string equality (CSRF tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
