// Config value types shared by components: byte sizes, durations, listen addresses.

import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

/** A byte size: a number, or "64KiB", "1GiB", "10MB". */
export const size = () =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parseSize(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a byte size such as 65536, "64KiB" or "1GiB", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!);
}

/** A duration in milliseconds: seconds as a number, or "500ms", "10s", "5m", "1h". */
export const duration = () =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parseDuration(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 10 (seconds), "500ms", "30s" or "5m", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

export interface ListenAddress {
  scheme: string;
  host: string;
  port: number;
  /** unix:// socket path */
  path: string;
  /** as written, for messages */
  text: string;
}

export function parseListen(text: string, schemes: readonly string[]): ListenAddress | string {
  const m = /^([a-z]+):\/\/(.*)$/.exec(text);
  if (!m || !schemes.includes(m[1]!)) return `expected ${schemes.map((s) => s + '://').join(', ')} followed by an address, got ${JSON.stringify(text)}`;
  const scheme = m[1]!;
  if (scheme === 'unix') {
    if (!m[2]!.startsWith('/')) return `expected an absolute socket path after unix://, as in unix:///run/sluice/log`;
    return { scheme, host: '', port: 0, path: m[2]!, text };
  }
  const hp = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/\[\]]+)):(\d{1,5})$/.exec(m[2]!);
  if (!hp) return `expected host:port after ${scheme}:// (IPv6 in brackets, as in tcp://[::1]:5140), got ${JSON.stringify(m[2])}`;
  const port = Number(hp[3]);
  if (port > 65535) return `port ${port} is out of range (0-65535)`;
  return { scheme, host: hp[1] ?? hp[2]!, port, path: '', text };
}

export const listenList = (schemes: readonly string[]) =>
  z.union([z.string(), z.array(z.string()).min(1)]).transform((v, ctx) => {
    const list = typeof v === 'string' ? [v] : v;
    const out: ListenAddress[] = [];
    list.forEach((t, i) => {
      const r = parseListen(t, schemes);
      if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r, path: typeof v === 'string' ? [] : [i] });
      else out.push(r);
    });
    return out;
  });
