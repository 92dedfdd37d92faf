// `sluice query`: search the store from the command line, beside a running daemon: the
// embedded store's directory, or the PostgreSQL database of a postgres destination.

import path from 'node:path';
import fs from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../config/default.js';
import { loadConfigFile, loadConfigText } from '../config/load.js';
import { parseDuration } from '../config/units.js';
import { storeDir } from '../destinations/store/index.js';
import type { StoreDestinationConfig } from '../destinations/store/config.js';
import type { PostgresDestinationConfig } from '../destinations/postgres/config.js';
import { PgStoreReader } from '../store/postgres/reader.js';
import { SluiceError } from '../errors.js';
import type { EventJson } from '../event/log-event.js';
import { isQueryError } from '../store/query/error.js';
import { parseQuery } from '../store/query/parse.js';
import type { Query } from '../store/query/ast.js';
import { SqliteStoreReader } from '../store/sqlite/reader.js';
import type { Notice, StoredEvent, StoreReader, TimeRange } from '../store/types.js';

/** The whole time axis the store can hold (ms): "no range given" means all of it. */
export const ALL_TIME: TimeRange = { from: 0, to: Date.UTC(10000, 0, 1) };
const FOLLOW_POLL_MS = 250;

export interface QueryOptions {
  config?: string;
  store?: string;
  since?: string;
  from?: string;
  to?: string;
  limit: string;
  format: string;
  follow?: boolean;
}

/** What `sluice query` reads: an embedded store's directory or a PostgreSQL store. */
export type StoreTarget = { kind: 'embedded'; dir: string } | { kind: 'postgres'; url: string; table: string; name: string };

/**
 * --store DIR, else the config's (or the default's) first destination of type store or
 * postgres, in the config's order (as the API picks it).
 */
export function resolveStore(opts: { config?: string; store?: string }, cwd = process.cwd()): StoreTarget {
  if (opts.store) return { kind: 'embedded', dir: path.resolve(cwd, opts.store) };
  const cfg = opts.config ? loadConfigFile(opts.config) : loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME);
  for (const [name, d] of cfg.destinations) {
    if (d.kind.type === 'store') return { kind: 'embedded', dir: storeDir(d.config as unknown as StoreDestinationConfig, path.resolve(cwd, cfg.dataDir), cwd) };
    if (d.kind.type === 'postgres') {
      const c = d.config as unknown as PostgresDestinationConfig;
      return { kind: 'postgres', url: c.url, table: c.table, name };
    }
  }
  throw new SluiceError('SLUICE_ERR_USAGE', `${cfg.file} has no destination of type store or postgres`);
}

/** The embedded store directory `sluice query` reads (an error for a PostgreSQL store). */
export function resolveStoreDir(opts: { config?: string; store?: string }, cwd = process.cwd()): string {
  const t = resolveStore(opts, cwd);
  if (t.kind !== 'embedded') throw new SluiceError('SLUICE_ERR_USAGE', `the config's store is the postgres destination ${t.name}, not a directory`);
  return t.dir;
}

/** A reader for the target; an embedded store must exist already. */
export function openStoreReader(t: StoreTarget): StoreReader {
  if (t.kind === 'postgres') return new PgStoreReader({ url: t.url, table: t.table });
  if (!fs.existsSync(t.dir)) throw new SluiceError('SLUICE_ERR_STORE', `no store at ${t.dir} (has the daemon stored anything yet? -c names the config, --store the directory)`);
  return new SqliteStoreReader(t.dir);
}

function parseTime(v: string, what: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new SluiceError('SLUICE_ERR_USAGE', `${what}: expected an ISO 8601 time or milliseconds since the epoch, got ${JSON.stringify(v)}`);
  return n;
}

export function timeRange(opts: { since?: string; from?: string; to?: string }, now = Date.now()): TimeRange {
  if (opts.since !== undefined && (opts.from !== undefined || opts.to !== undefined)) throw new SluiceError('SLUICE_ERR_USAGE', 'give either --since or --from/--to');
  if (opts.since !== undefined) {
    const d = parseDuration(opts.since);
    if (d === undefined) throw new SluiceError('SLUICE_ERR_USAGE', `--since: expected a duration such as 15m, 1h or 7d, got ${JSON.stringify(opts.since)}`);
    return { from: now - d, to: ALL_TIME.to };
  }
  const r = { from: opts.from !== undefined ? parseTime(opts.from, '--from') : ALL_TIME.from, to: opts.to !== undefined ? parseTime(opts.to, '--to') : ALL_TIME.to };
  if (r.to <= r.from) throw new SluiceError('SLUICE_ERR_USAGE', '--to must be after --from');
  return r;
}

/** One readable line: time, host, app[procid], message (like the file destination's default). */
export function textLine(e: StoredEvent): string {
  const ev: EventJson = e.event;
  const app = ev.appname ?? '-';
  const tag = ev.procid !== null ? `${app}[${ev.procid}]` : app;
  const msg = (ev.message ?? '').replace(/[\r\n]+/g, ' ');
  return `${new Date(e.time).toISOString()} ${ev.hostname ?? ev.source.address ?? '-'} ${tag}: ${msg}${e.archived ? ' (archive)' : ''}`;
}

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs one query against a reader and prints it; returns the highest seq seen (for --follow). */
export async function runQuery(reader: StoreReader, query: Query, range: TimeRange, limit: number, format: 'text' | 'json', io: Output, oldestFirst = false): Promise<number> {
  const notices: Notice[] = [];
  let maxSeq = 0;
  if (query.pipes.some((p) => p.kind === 'stats' || p.kind === 'top')) {
    const r = await reader.aggregate(query, range, { archives: true });
    for (const row of r.rows) io.out(JSON.stringify(row));
    notices.push(...r.notices);
  } else {
    const r = await reader.search({ query, range, limit, archives: true });
    const events = oldestFirst ? [...r.events].reverse() : r.events;
    for (const e of events) {
      io.out(format === 'json' ? JSON.stringify(e.event) : textLine(e));
      if (e.seq > maxSeq) maxSeq = e.seq;
    }
    notices.push(...r.notices);
  }
  for (const n of notices) io.err(`sluice query: ${n.code}: ${n.message}`);
  return maxSeq;
}

export function registerQueryCommand(program: Command): void {
  program
    .command('query')
    .description('search the store (embedded or postgres): newest first; `| stats count() by (host)` and `| top N field` print one JSON row per line')
    .argument('[query...]', 'the query (words, "phrases", field:value, OR, NOT, pipes); empty for everything')
    .option('-c, --config <file>', "config whose store to read: its first store or postgres destination (default: the embedded default, ./data/store)")
    .option('--store <dir>', 'read this store directory instead')
    .option('--since <duration>', 'only events of the last 15m, 1h, 7d, …')
    .option('--from <time>', 'events at or after this time (ISO 8601 or epoch ms)')
    .option('--to <time>', 'events before this time')
    .option('--limit <n>', 'events at most', '100')
    .option('--format <format>', 'text (one line per event) or json (one JSON event per line)', 'text')
    .option('--follow', 'after the newest matches (oldest of them first), print new matches as they are stored, until Ctrl-C')
    .action(async (words: string[], opts: QueryOptions) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw new SluiceError('SLUICE_ERR_USAGE', `--format must be text or json, not ${JSON.stringify(opts.format)}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 0) throw new SluiceError('SLUICE_ERR_USAGE', '--limit must be a non-negative integer');
      const text = words.join(' ');
      let query: Query;
      try {
        query = parseQuery(text);
      } catch (e) {
        if (isQueryError(e)) {
          process.stderr.write(`sluice query: ${e.code}\n${e.render()}\n`);
          process.exit(2);
        }
        throw e;
      }
      if (opts.follow && query.pipes.some((p) => p.kind === 'stats' || p.kind === 'top')) {
        throw new SluiceError('SLUICE_ERR_USAGE', '--follow prints events as they arrive; it does not go with | stats or | top');
      }
      const range = timeRange(opts);
      const reader = openStoreReader(resolveStore(opts));
      const io: Output = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };
      process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); });
      if (!opts.follow) {
        await runQuery(reader, query, range, limit, opts.format, io);
        await reader.close();
        return;
      }
      let after = await reader.lastSeq();
      const printed = await runQuery(reader, query, range, limit, opts.format, io, true);
      after = Math.max(after, printed);
      let stop = false;
      process.once('SIGINT', () => { stop = true; });
      process.once('SIGTERM', () => { stop = true; });
      while (!stop) {
        // Everything up to `top` is covered by this poll when it returns less than a page, so
        // events that do not match are not read again on the next one.
        const top = await reader.lastSeq();
        const fresh = await reader.since(query, after, 1000);
        for (const e of fresh) {
          if (e.time >= range.from && e.time < range.to) io.out(opts.format === 'json' ? JSON.stringify(e.event) : textLine(e));
          after = Math.max(after, e.seq);
        }
        if (fresh.length < 1000) {
          after = Math.max(after, top);
          await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
        }
      }
      await reader.close();
    });
}
