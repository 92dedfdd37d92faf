// Micro benchmark of the PostgreSQL store's write path: where the server's CPU goes per event.
//
// On the same varied 256-byte RFC 5424 events (fresh database, dropped after), the server CPU
// (user+system of the backends, from /proc; the COPYs, then a VACUUM that merges GIN pending
// lists) per event of: the earlier layout (a tsvector of every event's words with positions,
// GIN-indexed; btree on time INCLUDE (host, app, severity), seq, lower(host), lower(app)), the
// same with one part after another left out, and the store as the destination writes it now
// (events with btree on time and seq; text index blocks; rollup counts), through
// PostgresDestination. Also the rare word's newest 100 through the reader (median of 20).
// Run: node dist/bench/micro/pg-store.js [events=200000] [--layout-only]

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { eventTimeMs } from '../../src/codec/encode/common.js';
import { copyBinary } from '../../src/destinations/postgres/copy.js';
import { PostgresDestination, postgresDestinationSchema } from '../../src/destinations/postgres/index.js';
import { copyRow } from '../../src/destinations/postgres/rows.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { setLogSink } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import { PgStoreReader } from '../../src/store/postgres/reader.js';
import { words as messageWords } from '../../src/store/query/words.js';
import { DAY_MS } from '../../src/destinations/postgres/schema.js';

const ADMIN = process.env.SLUICE_PG_ADMIN ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SOURCE: EventSource = { name: 'net', transport: 'tcp', address: '10.1.2.3', port: 51234, tlsPeer: null };

/** Deterministic varied events: words from a 4,000-word vocabulary, one rare word per 10,000. */
export function variedEvents(n: number, startMs: number, spanMs: number, seed = 1): LogEvent[] {
  return variedChunk(n, startMs, spanMs, 0, n, seed);
}

let vocab: string[] | null = null;

/** Events [from, from+count) of a deterministic set of `total` spread over [startMs, startMs+spanMs). */
export function variedChunk(total: number, startMs: number, spanMs: number, from: number, count: number, seed = 1): LogEvent[] {
  let s = (seed + from * 7919) >>> 0;
  const rnd = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  if (vocab === null) {
    vocab = [];
    for (let i = 0; i < 4000; i++) vocab.push(crypto.createHash('md5').update(String(i)).digest('base64url').slice(0, 3 + (i % 7)).toLowerCase().replace(/[-_]/g, 'q'));
  }
  const out: LogEvent[] = [];
  for (let i = from; i < from + count && i < total; i++) {
    const t = new Date(startMs + Math.floor((i / total) * spanMs)).toISOString();
    const head = `<${128 + (i % 8)}>1 ${t} web-${i % 20}.example.net ${['nginx', 'sshd', 'cron', 'kernel'][i % 4]} ${1000 + (i % 5000)} - - `;
    let msg = i % 10_000 === 7 ? 'zyzzyvarare ' : '';
    while (Buffer.byteLength(head) + msg.length < 250) msg += vocab[Math.floor(rnd() ** 2 * vocab.length)] + ' ';
    const line = Buffer.from((head + msg).slice(0, 256));
    const e = new LogEvent(SOURCE, startMs + i);
    parseSyslog(e, line, 0, line.length, 'rfc5424');
    out.push(e);
  }
  return out;
}

/** user+system CPU seconds of one process. */
function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return 0; }
}

/** The earlier layout's per-event words, a tsvector with positions, in its binary COPY form (a length, then the value). */
function wordsField(message: string): Buffer {
  const at = new Map<string, number[]>();
  messageWords(message).slice(0, 16383).forEach((w, i) => { const p = at.get(w); if (p) { if (p.length < 256) p.push(i + 1); } else at.set(w, [i + 1]); });
  const parts: Buffer[] = [Buffer.alloc(8)];
  parts[0]!.writeInt32BE(at.size, 4);
  for (const [w, p] of at) {
    const b = Buffer.alloc(Buffer.byteLength(w) + 3 + 2 * p.length);
    const n = b.write(w);
    b.writeUInt16BE(p.length, n + 1);
    p.forEach((x, k) => b.writeUInt16BE(x, n + 3 + 2 * k));
    parts.push(b);
  }
  const out = Buffer.concat(parts);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

const PARTS: Record<string, string> = {
  time_inc: 'CREATE INDEX ON T (time) INCLUDE (host, app, severity)', time: 'CREATE INDEX ON T (time)', seq: 'CREATE INDEX ON T (seq)',
  host: 'CREATE INDEX ON T (lower(host))', app: 'CREATE INDEX ON T (lower(app))', gin: 'CREATE INDEX ON T USING gin (words) WITH (gin_pending_list_limit = 16384)',
};

/** The earlier layout and what each of its parts costs (one connection, COPYs of 1000). */
async function layouts(c: pg.Client, pid: number, events: LogEvent[]): Promise<void> {
  const cols = ['seq', 'time', 'received', 'host', 'app', 'procid', 'msgid', 'facility', 'severity', 'source', 'transport', 'peer', 'message', 'raw', 'event'];
  const rows = events.map((e, i) => copyRow(e, i + 1, eventTimeMs(e)));
  const variants: [string, string[], boolean][] = [
    ['earlier layout: words tsvector + GIN, time INCLUDE, seq, lower(host), lower(app)', ['time_inc', 'seq', 'host', 'app', 'gin'], true],
    ['  without the GIN index', ['time_inc', 'seq', 'host', 'app'], true],
    ['  without the words column', ['time_inc', 'seq', 'host', 'app'], false],
    ['  without lower(host), lower(app)', ['time_inc', 'seq'], false],
    ['  time without INCLUDE (the rows part of the layout now)', ['time', 'seq'], false],
    ['  no index at all', [], false],
  ];
  for (const [label, parts, withWords] of variants) {
    const t = `layout_${crypto.randomBytes(3).toString('hex')}`;
    await c.query(`CREATE TABLE ${t} (seq bigint NOT NULL, time timestamptz NOT NULL, received timestamptz NOT NULL, host text, app text, procid text, msgid text, facility smallint, severity smallint, source text NOT NULL, transport text NOT NULL, peer text, message text, raw bytea, event jsonb NOT NULL, words tsvector)`);
    for (const part of parts) await c.query(PARTS[part]!.replace(' T ', ` ${t} `));
    const payloads: Buffer[] = [];
    for (let i = 0; i < rows.length; i += 1000) {
      payloads.push(Buffer.concat(rows.slice(i, i + 1000).map((r, k) => {
        if (!withWords) return r;
        const t16 = Buffer.from(r);
        t16.writeInt16BE(16, 0);
        return Buffer.concat([t16, wordsField(events[i + k]!.message ?? '')]);
      })));
    }
    const c0 = cpuSeconds(pid);
    const t0 = Date.now();
    for (const p of payloads) await copyBinary(c, t, withWords ? [...cols, 'words'] : cols, p);
    const secs = (Date.now() - t0) / 1000;
    await c.query(`VACUUM ${t}`);
    const us = ((cpuSeconds(pid) - c0) / events.length) * 1e6;
    const size = Number((await c.query(`SELECT pg_total_relation_size('${t}') AS s`)).rows[0].s);
    console.log(JSON.stringify({ layout: label, serverUsPerEvent: +us.toFixed(1), eventsPerSecond: Math.round(events.length / secs), bytesPerEvent: Math.round(size / events.length) }));
    await c.query(`DROP TABLE ${t}`);
  }
}

async function main(): Promise<void> {
  setLogSink(() => {});
  const n = Number(process.argv[2] && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 200_000);
  const dbName = `sluice_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = ADMIN.replace(/\/[^/]*$/, `/${dbName}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const pid = Number((await c.query('SELECT pg_backend_pid() AS p')).rows[0].p);
    const now = Date.now();
    const events = variedEvents(n, now - DAY_MS, DAY_MS);
    console.log(`${n} varied 256-byte events; server CPU µs per event (binary COPY + VACUUM, the backends' /proc user+system)`);
    await layouts(c, pid, events);
    if (process.argv.includes('--layout-only')) return;
    // The destination as it writes now: its own connections (writers), batches of 5000.
    const dest = new PostgresDestination(postgresDestinationSchema.parse({ type: 'postgres', url }), { name: 'bench', metrics: new Metrics(), dataDir: os.tmpdir() });
    await dest.start();
    const t0 = Date.now();
    for (let i = 0; i < n; i += 5000) {
      const r = await new Promise<SendResult>((res) => dest.send(events.slice(i, i + 5000), res));
      if (r.status !== 'ok') throw new Error(`write failed: ${r.status}`);
    }
    const secs = (Date.now() - t0) / 1000;
    const backends = (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => r.pid);
    const writersCpu = backends.reduce((a, p) => a + cpuSeconds(p), 0);
    await dest.stop();
    const v0 = cpuSeconds(pid);
    await c.query('VACUUM sluice_events, sluice_blocks, sluice_counts');
    const us = ((writersCpu + cpuSeconds(pid) - v0) / n) * 1e6;
    const size = Number((await c.query(`SELECT sum(pg_total_relation_size(c.oid))::text AS s FROM pg_class c WHERE c.relname ~ '^sluice_(events|blocks|counts)_p' AND c.relkind = 'r'`)).rows[0].s);
    console.log(JSON.stringify({ layout: 'now: events (time, seq) + blocks + counts, PostgresDestination', serverUsPerEvent: +us.toFixed(1), eventsPerSecond: Math.round(n / secs), bytesPerEvent: Math.round(size / n) }));
    const reader = new PgStoreReader({ url });
    const rare = { text: 'zyzzyvarare', filter: { kind: 'word' as const, field: { kind: 'builtin' as const, name: 'message' as const }, value: 'zyzzyvarare' }, pipes: [], scans: false };
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < 20; i++) {
      const s = process.hrtime.bigint();
      found = (await reader.search({ query: rare, range: { from: now - 2 * DAY_MS, to: now + 1 }, limit: 100 })).events.length;
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    await reader.close();
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ query: 'rare word, newest 100', medianMs: +times[10]!.toFixed(1), rows: found }));
  } finally {
    await c.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv[1]?.endsWith('pg-store.js')) await main();
