// One `sluice send` run: N connections fed from one budget, and the report of what was achieved.

import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { Budget } from './budget.js';
import { MessageEncoder, type WireFraming } from './encoder.js';
import { SendError, usageError } from './errors.js';
import type { Transport } from './transport.js';
import { resolveTarget } from './transports.js';

export interface SendOptions {
  /** Messages in the run, over all connections; 0 = until durationMs. */
  count: number;
  /** Messages per second over all connections; 0 = as fast as the receiver takes them. */
  rate: number;
  /** Bytes per message incl. header (lf framing: incl. the LF; octet: the octet count); 0 = natural. */
  size: number;
  format: 'rfc5424' | 'rfc3164';
  /** Default: octet for tls:// (RFC 5425), lf for tcp:// and unix://; udp:// sends bare datagrams unless lf. */
  framing?: 'lf' | 'octet';
  connections: number;
  message?: string;
  hostname?: string;
  appname?: string;
  facility?: number;
  severity?: number;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  servername?: string;
  /** One line per second on stderr (when no onProgress callback is given). */
  progress?: boolean;
  /** Hard bound on the sending time; closing may take a few seconds more. */
  durationMs?: number;
  runId?: string;
  /**
   * At-least-once over plain TCP/TLS: after every N messages close the connection gracefully
   * and wait for the receiver to close its side (sluice does so only once what it read is
   * queued); if that fails, reconnect and send those N again. 0 = off.
   */
  confirmEvery?: number;
  /** With confirmEvery: stop retrying after this long without a confirmed segment (default 120 s). */
  giveUpMs?: number;
}

export interface SendReport {
  /** Messages handed to the connections. */
  sent: number;
  /** 0 for a clean run; 1 when a connection failed (the run stops at the first failure). */
  errors: number;
  /** From the first message to the last connection closed. */
  elapsedMs: number;
  /** Messages per second over elapsedMs. */
  rate: number;
  /** Bytes on the wire, framing included (TLS overhead not). */
  bytes: number;
  runId: string;
  /** With confirmEvery: messages sent again after a connection failed before confirming them. */
  resent?: number;
}

/** Bytes per write: large enough that syscalls and callbacks vanish in the cost per message. */
const WRITE_BYTES = 64 * 1024;
const DEFAULT_MESSAGE = 'sluice send test message';

function describeSendError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function checkOptions(o: SendOptions): void {
  const int = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min) throw usageError(`--${name} ${v}: expected an integer >= ${min}`);
  };
  int('count', o.count, 0);
  int('size', o.size, 0);
  int('connections', o.connections, 1);
  int('confirm-every', o.confirmEvery ?? 0, 0);
  if (!Number.isFinite(o.rate) || o.rate < 0) throw usageError(`--rate ${o.rate}: expected a number >= 0`);
  const d = o.durationMs ?? 0;
  if (!Number.isFinite(d) || d < 0) throw usageError(`--duration: expected a number of seconds >= 0`);
  if (o.count === 0 && d === 0) throw usageError('--count 0 (unlimited) needs --duration to bound the run');
  if (o.format !== 'rfc5424' && o.format !== 'rfc3164') throw usageError(`--format ${String(o.format)}: expected rfc5424 or rfc3164`);
  if (o.runId !== undefined && !/^[A-Za-z0-9._-]{1,32}$/.test(o.runId)) {
    throw usageError(`--run-id "${o.runId}": expected 1-32 characters of A-Z a-z 0-9 . _ -`);
  }
}

function pickFraming(scheme: string, allowed: readonly WireFraming[], fallback: WireFraming, asked?: string): WireFraming {
  if (asked === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(asked)) {
    throw usageError(`--framing ${asked} does not apply to ${scheme}://; it takes ${allowed.filter((f) => f !== 'none').join(' or ')}`);
  }
  return asked as WireFraming;
}

/** Default progress: one line per second on stderr with the rate over the last second. */
function stderrProgress(): (sent: number, elapsedMs: number) => void {
  let lastSent = 0;
  let lastMs = 0;
  return (sent, elapsedMs) => {
    const rate = elapsedMs > lastMs ? ((sent - lastSent) * 1000) / (elapsedMs - lastMs) : 0;
    lastSent = sent;
    lastMs = elapsedMs;
    process.stderr.write(`sluice send: ${sent} sent, ${Math.round(rate)} msg/s\n`);
  };
}

/**
 * Sends opts.count messages to url and resolves with what was achieved. Rejects with a
 * SluiceError for bad options (nothing sent) or a SendError, carrying the partial report,
 * when a connection could not be made or broke.
 */
export async function send(
  url: string,
  opts: SendOptions,
  onProgress?: (sent: number, elapsedMs: number) => void,
): Promise<SendReport> {
  const { target, kind } = resolveTarget(url);
  checkOptions(opts);
  const framing = pickFraming(kind.scheme, kind.framings, kind.defaultFraming, opts.framing);
  if ((opts.confirmEvery ?? 0) > 0 && kind.scheme === 'udp') throw usageError('--confirm-every needs a stream transport (tcp://, tls://, unix://): UDP has no close to confirm with');
  const runId = opts.runId ?? randomBytes(4).toString('hex');
  const total = opts.count > 0 ? opts.count : Infinity;
  const encoder = new MessageEncoder({
    format: opts.format,
    framing,
    size: opts.size,
    message: opts.message ?? DEFAULT_MESSAGE,
    hostname: opts.hostname ?? (osHostname() || 'localhost'),
    appname: opts.appname ?? 'sluice-send',
    procid: String(process.pid),
    facility: opts.facility ?? 1, // user
    severity: opts.severity ?? 6, // info
    runId,
    maxSeq: Number.isFinite(total) ? total - 1 : 9_999_999_999,
  });
  const connect = kind.prepare(target, opts);
  const transports: Transport[] = (opts.confirmEvery ?? 0) > 0 ? [] : Array.from({ length: opts.connections }, () => connect());

  let sent = 0;
  let bytes = 0;
  let errors = 0;
  let resent = 0;
  let start = performance.now();
  const report = (): SendReport => {
    const elapsedMs = performance.now() - start;
    return { sent, errors, elapsedMs, rate: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0, bytes, runId, ...(opts.confirmEvery ? { resent } : {}) };
  };
  const failWith = (e: unknown): never => {
    errors = 1;
    if (e instanceof SendError) e.report = report();
    throw e;
  };

  const confirmEvery = opts.confirmEvery ?? 0;
  if (confirmEvery === 0) {
    try {
      await Promise.all(transports.map((t) => t.open()));
    } catch (e) {
      for (const t of transports) t.destroy();
      failWith(e);
    }
  }

  start = performance.now();
  const budget = new Budget(total, opts.rate, start, opts.durationMs ?? 0);
  const perBatch = encoder.perBatch(WRITE_BYTES);
  const stopAt = new AbortController(); // the deadline, and the end of the run for timers
  const deadline = Number.isFinite(budget.deadlineMs)
    ? sleep(budget.deadlineMs - start, 'deadline' as const, { signal: stopAt.signal }).catch(() => 'stopped' as const)
    : new Promise<'deadline'>(() => {});
  const progress = onProgress ?? (opts.progress ? stderrProgress() : undefined);
  const ticker = progress ? setInterval(() => progress(sent, performance.now() - start), 1000) : undefined;
  let stopped = false;

  const pump = async (t: Transport): Promise<void> => {
    while (!stopped) {
      if (t.failure) throw t.failure;
      const g = budget.take(perBatch, performance.now());
      if (g.kind === 'done') break;
      if (g.kind === 'wait') {
        await sleep(g.ms);
        continue;
      }
      const written = t.write(encoder.encode(g.firstSeq, g.count, Date.now()));
      sent += g.count;
      bytes += g.count * encoder.stride;
      written.catch(() => {}); // if the deadline wins the race, close() reports the failure
      if ((await Promise.race([written, deadline])) === 'deadline') break;
      // Writes the kernel takes at once resolve in a microtask; without a turn of the event
      // loop, timers and socket errors would wait until the whole run is over.
      await nextTurn();
    }
    if (!stopped) await t.close();
  };

  /** Sends segments of confirmEvery messages, each on its own connection, until each is confirmed. */
  const pumpConfirmed = async (): Promise<void> => {
    const giveUpMs = opts.giveUpMs ?? 120_000;
    while (!stopped) {
      const g = budget.take(confirmEvery, performance.now());
      if (g.kind === 'done') break;
      if (g.kind === 'wait') { await sleep(g.ms); continue; }
      const segmentStart = performance.now();
      for (let attempt = 0; ; attempt++) {
        const t = connect();
        try {
          await t.open();
          for (let seq = g.firstSeq; seq < g.firstSeq + g.count; seq += perBatch) {
            const n = Math.min(perBatch, g.firstSeq + g.count - seq);
            await t.write(encoder.encode(seq, n, Date.now()));
            bytes += n * encoder.stride;
          }
          await t.close(true);
          break;
        } catch (e) {
          t.destroy();
          if (stopped || performance.now() - segmentStart > giveUpMs) throw e;
          resent += g.count;
          if (attempt === 0 && progress) process.stderr.write(`sluice send: ${describeSendError(e)}; resending seq ${g.firstSeq}..${g.firstSeq + g.count - 1} after reconnecting\n`);
          await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
        }
      }
      sent += g.count;
    }
  };

  let firstError: unknown;
  if (confirmEvery > 0) {
    try {
      await Promise.all(Array.from({ length: opts.connections }, () => pumpConfirmed().catch((e: unknown) => {
        if (stopped) return;
        stopped = true;
        firstError = e;
      })));
    } finally {
      stopAt.abort();
      clearInterval(ticker);
    }
    if (firstError !== undefined) failWith(firstError);
    return report();
  }
  try {
    await Promise.all(
      transports.map((t) =>
        pump(t).catch((e: unknown) => {
          if (stopped) return; // fallout of abandoning the run
          stopped = true;
          firstError = e;
          for (const other of transports) if (other !== t) other.destroy();
        }),
      ),
    );
  } finally {
    stopAt.abort();
    clearInterval(ticker);
  }
  if (firstError !== undefined) failWith(firstError);
  return report();
}
