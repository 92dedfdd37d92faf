// redact: replaces addresses, e-mail addresses, user names, card numbers and operator patterns
// in the message, structured data and fields, with a mask or a keyed pseudonym.
//
// The pseudonym is HMAC-SHA256 under the operator's key, so one value gives one token under
// one key and events stay linkable; an unkeyed hash of an IPv4 address could be reversed by
// hashing all 2^32 of them.

import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { StructuredData } from '../../codec/structured-data.js';
import type { EventSource, LogEvent } from '../../event/log-event.js';
import type { Transform, TransformKind } from '../types.js';
import { builtinDetectors, listedDetector, type Detector } from './detectors.js';

const BUILTINS = ['ip', 'email', 'user', 'card'] as const;
/** DESIGN.md: without `patterns`, IP addresses, e-mail addresses and user names. */
const DEFAULT_BUILTINS = ['ip', 'email', 'user'] as const;

const patternSchema = z.union([
  z.string(),
  z.object({ name: z.string().regex(/^[a-z][a-z0-9_]*$/).describe('token prefix'), regex: z.string(), group: z.number().int().min(0).default(0) }).strict(),
]);

export const redactSchema = z.object({
  type: z.literal('redact'),
  mode: z.enum(['mask', 'hmac']).default('mask').describe('mask: replace with `mask`; hmac: a keyed pseudonym such as ip-3fa1c29e0b11'),
  key: z.string().min(16, 'the hmac key must be at least 16 characters (take it from ${env.NAME})').optional().describe('HMAC key for mode hmac'),
  mask: z.string().default('[REDACTED]').describe('what replaces a value in mode mask'),
  builtin: z.array(z.enum(BUILTINS)).optional().describe('what to find: ip, email, user, card (default: ip, email and user without `patterns`, none with)'),
  users: z.array(z.string().min(1)).default([]).describe('user names to replace wherever they appear as a word'),
  patterns: z.array(patternSchema).default([]).describe('more regular expressions: a string, or { name, regex, group }'),
  format_preserving: z.boolean().default(false).describe('hmac mode: addresses become other valid addresses rather than ip-… tokens'),
  token_hex: z.number().int().min(8).max(64).default(12).describe('hex digits in a pseudonym'),
  in: z.array(z.enum(['message', 'structured_data', 'fields', 'source'])).default(['message', 'structured_data', 'fields', 'source'])
    .describe('where to look; source is the peer address the event came from'),
}).strict().superRefine((c, ctx) => {
  if (c.mode === 'hmac' && c.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'mode hmac needs a key, e.g. key: "${env.REDACT_KEY}"' });
  for (const [i, p] of c.patterns.entries()) {
    try { new RegExp(typeof p === 'string' ? p : p.regex); } catch (e) { ctx.addIssue({ code: 'custom', path: ['patterns', i], message: `not a regular expression: ${(e as Error).message}` }); }
  }
});
export type RedactConfig = z.infer<typeof redactSchema>;

const CACHE_MAX = 50_000;
const USER_FIELD = /^(?:user|username|user_name|acct|account|login|logname|ruser|suser|duser|src_user|dst_user|target_user|UID|AUID)$/i;

export class Redactor {
  private readonly detectors: Detector[];
  private readonly usersInFields: boolean;
  private readonly cache = new Map<string, string>();
  /** Sources are shared by every event of a connection: each is redacted once. */
  private readonly sources = new WeakMap<EventSource, EventSource>();

  constructor(private readonly c: RedactConfig) {
    const which = c.builtin ?? (c.patterns.length ? [] : [...DEFAULT_BUILTINS]);
    const list = builtinDetectors(which);
    const listed = listedDetector('user', c.users);
    if (listed) list.push(listed);
    for (const p of c.patterns) {
      if (typeof p === 'string') list.push({ kind: 'redacted', re: new RegExp(p, 'g'), group: 0, needs: null });
      else list.push({ kind: p.name, re: new RegExp(p.regex, 'g'), group: p.group, needs: null });
    }
    this.detectors = list;
    this.usersInFields = which.includes('user');
  }

  /** The replacement for one value found as `kind`. */
  token(kind: string, value: string): string {
    const c = this.c;
    if (c.mode === 'mask') return c.mask;
    const key = kind + '\u0000' + value;
    let t = this.cache.get(key);
    if (t !== undefined) return t;
    const mac = createHmac('sha256', c.key!).update(key).digest();
    if (c.format_preserving && kind === 'ip') {
      t = value.includes(':')
        ? Array.from({ length: 8 }, (_, i) => mac.readUInt16BE(i * 2).toString(16)).join(':')
        : `${mac[0]}.${mac[1]}.${mac[2]}.${mac[3]}`;
    } else {
      t = `${kind}-${mac.toString('hex', 0, Math.ceil(c.token_hex / 2)).slice(0, c.token_hex)}`;
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, t);
    return t;
  }

  /** The text with every detected value replaced; the same string object when nothing was found. */
  text(s: string): string {
    let out = s;
    for (const d of this.detectors) {
      const needs = d.needs;
      if (needs !== null && (typeof needs === 'string' ? !out.includes(needs) : !needs.some((n) => out.includes(n)))) continue;
      if (d.pre !== undefined && !d.pre.test(out)) continue;
      out = out.replace(d.re, (...m: unknown[]) => {
        const whole = m[0] as string;
        const value = m[d.group] as string | undefined;
        if (value === undefined || value === '' || this.isToken(value)) return whole;
        if (d.accept && !d.accept(value)) return whole;
        if (d.group === 0) return this.token(d.kind, value);
        const at = whole.lastIndexOf(value);
        return whole.slice(0, at) + this.token(d.kind, value) + whole.slice(at + value.length);
      });
    }
    return out;
  }

  private isToken(v: string): boolean {
    return v === this.c.mask || /^[a-z][a-z0-9_]*-[0-9a-f]{8,64}$/.test(v);
  }

  /** A field's value; a field named like a user name (user, acct, login, …) is a user name as a whole. */
  value(v: unknown, key = ''): unknown {
    if (typeof v === 'string') {
      if (this.usersInFields && USER_FIELD.test(key) && v !== '' && !this.isToken(v)) return this.token('user', v);
      return this.text(v);
    }
    if (Array.isArray(v)) return v.map((x) => this.value(x, key));
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v)) o[k] = this.value((v as Record<string, unknown>)[k], k);
      return o;
    }
    return v;
  }

  event(ev: LogEvent): void {
    const where = this.c.in;
    if (where.includes('message')) {
      const m = ev.message;
      if (m !== null) { const r = this.text(m); if (r !== m) ev.message = r; }
    }
    if (where.includes('structured_data')) {
      const sd = ev.structuredData;
      if (sd !== null) {
        // A new object: the parsed one is shared with the event other paths see.
        const out: StructuredData = {};
        let changed = false;
        for (const id of Object.keys(sd)) {
          const params = sd[id]!;
          const np: Record<string, string | string[]> = {};
          for (const name of Object.keys(params)) {
            const v = params[name]!;
            const r = typeof v === 'string' ? this.text(v) : v.map((x) => this.text(x));
            if (r !== v && (typeof v === 'string' || (r as string[]).some((x, i) => x !== v[i]))) changed = true;
            np[name] = r;
          }
          out[id] = np;
        }
        if (changed) ev.structuredData = out;
      }
    }
    if (where.includes('source') && ev.source.address !== null) {
      let s = this.sources.get(ev.source);
      if (s === undefined) {
        const a = ev.source.address;
        s = { ...ev.source, address: a.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(a) ? this.token('ip', a) : a };
        this.sources.set(ev.source, s);
      }
      ev.source = s;
    }
    if (where.includes('fields') && ev.fields !== null) {
      const f = ev.fields;
      for (const k of Object.keys(f)) f[k] = this.value(f[k], k);
    }
  }
}

export const redactKind: TransformKind = {
  type: 'redact',
  description: 'replace IP and e-mail addresses, user names, card numbers and given patterns with a mask or a keyed HMAC pseudonym',
  schema: redactSchema,
  build(config) {
    const r = new Redactor(config as RedactConfig);
    return {
      writes: true,
      apply(ev: LogEvent) { r.event(ev); return ev; },
    } satisfies Transform;
  },
};
