// Micro benchmark of the PostgreSQL store's write path and text index (fresh database, dropped after).
//
// Compares, on the same varied 256-byte RFC 5424 events: COPY vs multi-row INSERT … unnest,
// and a tsvector/GIN word index vs a pg_trgm GIN index (insert rate; rare-word newest-100
// latency, median of 20). Run: node dist/bench/micro/pg-store.js [events=200000] [--no-index]

import crypto from 'node:crypto';
import pg from 'pg';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { copyText } from '../../src/destinations/postgres/copy.js';
import { eventTimeMs } from '../../src/codec/encode/common.js';
import { copyRow } from '../../src/destinations/postgres/rows.js';
import { copyColumns, DAY_MS, ensureParent, ensurePartitions, eventsTable, type StoreTables } from '../../src/destinations/postgres/schema.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { words as messageWords } from '../../src/store/query/words.js';
import { messageTsvector, tsqueryLexeme } from '../../src/store/postgres/words.js';

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

async function copyAll(pool: pg.Pool, t: StoreTables, events: LogEvent[], batch: number): Promise<void> {
  const cols = copyColumns(t);
  const c = await pool.connect();
  try {
    for (let i = 0; i < events.length; i += batch) {
      let payload = '';
      for (const e of events.slice(i, i + batch)) payload += copyRow(e, t, eventTimeMs(e));
      await copyText(c, eventsTable(t), cols, Buffer.from(payload));
    }
  } finally { c.release(); }
}

async function unnestAll(pool: pg.Pool, t: StoreTables, events: LogEvent[], batch: number): Promise<void> {
  const c = await pool.connect();
  try {
    for (let i = 0; i < events.length; i += batch) {
      const b = events.slice(i, i + batch);
      const col = (f: (e: LogEvent) => unknown): unknown[] => b.map(f);
      await c.query(`INSERT INTO ${eventsTable(t)} (time, received, host, app, procid, msgid, facility, severity, source, transport, peer, message, raw, event, words)
        SELECT a, b, c, d, e, f, g, h, i, j, k, l, m, n, o0::tsvector FROM unnest($1::timestamptz[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int2[], $8::int2[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::jsonb[], $15::text[]) AS u(a,b,c,d,e,f,g,h,i,j,k,l,m,n,o0)
`, [
        col((e) => new Date(eventTimeMs(e))), col((e) => new Date(e.receivedAt)), col((e) => e.hostname), col((e) => e.appname), col((e) => e.procid), col((e) => e.msgid),
        col((e) => e.facility), col((e) => e.severity), col((e) => e.source.name), col((e) => e.source.transport), col((e) => e.source.address), col((e) => e.message),
        col((e) => e.rawBytes), col((e) => JSON.stringify({ timestamp: e.timestamp, fields: {} })), col((e) => messageTsvector(e.message ?? '')),
      ]);
    }
  } finally { c.release(); }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function latency(pool: pg.Pool, sql: string, params: unknown[]): Promise<{ ms: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    rows = (await pool.query(sql, params)).rowCount ?? 0;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(times), rows };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 200_000);
  const dbName = `sluice_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = ADMIN.replace(/\/[^/]*$/, `/${dbName}`);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => { /* connections ended by DROP DATABASE … WITH (FORCE) */ });
  try {
    const now = Date.now();
    const events = variedEvents(n, now - DAY_MS, DAY_MS);
    const days = [Math.floor((now - DAY_MS) / DAY_MS) * DAY_MS, Math.floor(now / DAY_MS) * DAY_MS];
    const results: Record<string, unknown>[] = [];
    const variants = [['tsvector+copy', 'tsvector', 'copy', ''], ['tsvector+unnest', 'tsvector', 'unnest', ''], ['trgm+copy', 'trgm', 'copy', ''],
      ...(process.argv.includes('--no-index') ? [['copy, no text index', 'tsvector', 'copy', 'words'], ['copy, no index at all', 'tsvector', 'copy', 'words time seq host app']] as const : [])] as const;
    for (const [label, textIndex, how, drop] of variants) {
      const t: StoreTables = { prefix: `b_${textIndex}_${how}_${drop.length}_`, textIndex };
      const c = await pool.connect();
      await ensureParent(c, t);
      for (const ix of drop.split(' ').filter(Boolean)) await c.query(`DROP INDEX ${eventsTable(t)}_${ix}`);
      await ensurePartitions(c, t, days);
      c.release();
      const t0 = Date.now();
      if (how === 'copy') await copyAll(pool, t, events, 5000); else await unnestAll(pool, t, events, 5000);
      const secs = (Date.now() - t0) / 1000;
      await pool.query(`VACUUM ANALYZE ${eventsTable(t)}`);
      const rare = textIndex === 'tsvector'
        ? await latency(pool, `SELECT seq FROM ${eventsTable(t)} WHERE words @@ $1::tsquery ORDER BY time DESC, seq DESC LIMIT 100`, [tsqueryLexeme('zyzzyvarare', false)])
        : await latency(pool, `SELECT seq FROM ${eventsTable(t)} WHERE message ~* $1 ORDER BY time DESC, seq DESC LIMIT 100`, ['\\mzyzzyvarare\\M']);
      const common = textIndex === 'tsvector'
        ? await latency(pool, `SELECT seq FROM ${eventsTable(t)} WHERE words @@ $1::tsquery ORDER BY time DESC, seq DESC LIMIT 100`, [tsqueryLexeme(messageWords(events[0]!.message!)[0]!, false)])
        : await latency(pool, `SELECT seq FROM ${eventsTable(t)} WHERE message ~* $1 ORDER BY time DESC, seq DESC LIMIT 100`, [`\\m${messageWords(events[0]!.message!)[0]}\\M`]);
      const size = (await pool.query<{ s: string }>(`SELECT sum(pg_total_relation_size(c.oid))::text AS s FROM pg_class c WHERE c.relname LIKE $1 AND c.relkind = 'r'`, [`${t.prefix}events_p%`])).rows[0]!.s;
      results.push({ label, eventsPerSecond: Math.round(n / secs), rareWordMs: +rare.ms.toFixed(2), rareRows: rare.rows, commonWordMs: +common.ms.toFixed(2), bytesPerEvent: Math.round(Number(size) / n) });
      console.log(JSON.stringify(results.at(-1)));
    }
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv[1]?.endsWith('pg-store.js')) await main();
