// GitHub webhooks for the HTTP source's `mode: github`: the X-Hub-Signature-256 check (HMAC-SHA256
// of the raw body with the shared secret, compared in constant time), replay detection by
// X-GitHub-Delivery, and the event built from X-GitHub-Event and the payload's audit fields.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { LogEvent, type EventSource } from '../../event/log-event.js';

export type SignatureCheck = 'ok' | 'missing' | 'bad';

export function checkSignature(secret: string, body: Buffer, header: string | string[] | undefined): SignatureCheck {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return 'missing';
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(h.trim());
  const expected = createHmac('sha256', secret).update(body).digest();
  // A malformed header is compared too (against zeros), so its answer takes as long as a wrong one.
  const given = m ? Buffer.from(m[1]!, 'hex') : Buffer.alloc(32);
  const same = timingSafeEqual(expected, given);
  return same && m ? 'ok' : 'bad';
}

/** Delivery ids seen, oldest dropped first. */
export class DeliveryLog {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.seen.has(id);
  }

  add(id: string): void {
    this.seen.add(id);
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value!);
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function login(v: unknown): string | null {
  return v && typeof v === 'object' ? str((v as Record<string, unknown>).login) : null;
}

/** One event per delivery: msgid the event type, fields.github the audit fields, fields.payload the body. */
export function githubEvent(req: http.IncomingMessage, payload: Record<string, unknown>, source: EventSource, now: number): LogEvent {
  const type = str(req.headers['x-github-event']) ?? 'unknown';
  const delivery = str(req.headers['x-github-delivery']);
  const action = str(payload.action);
  const repo = payload.repository && typeof payload.repository === 'object' ? str((payload.repository as Record<string, unknown>).full_name) : null;
  const actor = login(payload.sender);
  const org = login(payload.organization);
  const ref = str(payload.ref);
  const github: Record<string, unknown> = { event: type, delivery, action, repository: repo, actor, organization: org };
  if (ref) github.ref = ref;
  const hook = str(req.headers['x-github-hook-id']);
  if (hook) github.hook_id = hook;
  const message = `${type}${action ? '.' + action : ''}${repo ? ' ' + repo : org ? ' ' + org : ''}${actor ? ' by ' + actor : ''}${ref ? ' ' + ref : ''}`;
  return LogEvent.fromValues(source, now, {
    timestamp: new Date(now).toISOString(), appname: 'github', msgid: type, hostname: 'github.com',
    facility: 13, severity: 6, message, fields: { github, payload },
  });
}
