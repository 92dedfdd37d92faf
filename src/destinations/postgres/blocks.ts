// What a COPY writes besides its events, in the same transaction: the text index blocks and
// the rollup counts (schema.ts) of events [from, to) of a chunk.
//
// A block is up to BLOCK_EVENTS consecutive events of one UTC day: seq first..last, times,
// and the tsvector of their lexemes (store/postgres/words.ts) with the rows that hold each.
// Counts are per minute: every event (field ''), and its host, app, facility, severity and
// source values (exact, NULs as U+FFFD as in the rows; absent values not counted). They are
// appended, never updated, so writers never wait on each other's rows.

import type { LogEvent } from '../../event/log-event.js';
import { ALL_ROWS, keyLexeme, MAX_POSITIONS, messageLexemes, quoteLexeme } from '../../store/postgres/words.js';
import { blocksTable, countsTable, DAY_MS, SEQ_STEP, type StoreTables } from './schema.js';

export const BLOCK_EVENTS = SEQ_STEP;
/** Bytes of tsvector one block holds at most (PostgreSQL's bound is 1 MB). */
const MAX_BLOCK_BYTES = 600_000;
const MINUTE_MS = 60_000;

export const ROLLUP_FIELDS = ['host', 'app', 'facility', 'severity', 'source'] as const;
export type RollupField = (typeof ROLLUP_FIELDS)[number];

/** The blocks and counts of a chunk, column by column. */
export interface ChunkIndex {
  first: number[]; last: number[]; tMin: number[]; tMax: number[]; words: string[];
  minute: number[]; field: string[]; value: string[]; n: number[];
}

function noNul(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, '\uFFFD') : s;
}

class BlockBuilder {
  private lexemes = new Map<string, number[]>();
  private bytes = 0;
  start = -1;
  day = 0;
  tMin = 0;
  tMax = 0;
  n = 0;

  full(day: number): boolean {
    return this.n > 0 && (day !== this.day || this.n >= BLOCK_EVENTS || this.bytes > MAX_BLOCK_BYTES);
  }

  add(pos: number, lexeme: string): void {
    const p = this.lexemes.get(lexeme);
    if (p === undefined) {
      this.lexemes.set(lexeme, [pos]);
      this.bytes += lexeme.length * 3 + 8;
    } else if (p[p.length - 1] !== pos && p.length <= MAX_POSITIONS) {
      p.push(pos);
      this.bytes += 2;
    }
  }

  literal(): string {
    let out = '';
    for (const [lexeme, p] of this.lexemes) {
      if (out.length > 0) out += ' ';
      out += quoteLexeme(lexeme) + ':' + (p.length > MAX_POSITIONS ? ALL_ROWS : p.join(','));
    }
    return out;
  }

  reset(): void {
    this.lexemes = new Map();
    this.bytes = 0;
    this.n = 0;
  }
}

/**
 * The blocks and counts of events [from, to); seq of event i is seqOf(i), its time times[i].
 * Blocks never span days, so each lands in its day's partition and leaves with it.
 */
export function chunkIndex(events: LogEvent[], times: number[], seqOf: (i: number) => number, from: number, to: number): ChunkIndex {
  const out: ChunkIndex = { first: [], last: [], tMin: [], tMax: [], words: [], minute: [], field: [], value: [], n: [] };
  const b = new BlockBuilder();
  const close = (): void => {
    if (b.n === 0) return;
    out.first.push(seqOf(b.start));
    out.last.push(seqOf(b.start + b.n - 1));
    out.tMin.push(b.tMin);
    out.tMax.push(b.tMax);
    out.words.push(b.literal());
    b.reset();
  };
  const counts = new Map<string, number>();
  const count = (minute: number, field: string, value: string): void => {
    const k = `${minute}\t${field}\t${value}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  for (let i = from; i < to; i++) {
    const e = events[i]!;
    const t = times[i]!;
    const day = Math.floor(t / DAY_MS);
    if (b.full(day)) close();
    if (b.n === 0) { b.start = i; b.day = day; b.tMin = t; b.tMax = t; }
    if (t < b.tMin) b.tMin = t;
    if (t > b.tMax) b.tMax = t;
    const pos = ++b.n;
    const message = e.message;
    if (message !== null) for (const w of messageLexemes(noNul(message))) b.add(pos, w);
    const host = e.hostname;
    const app = e.appname;
    if (host !== null) b.add(pos, keyLexeme('host', noNul(host)));
    if (app !== null) b.add(pos, keyLexeme('app', noNul(app)));
    const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    count(minute, '', '');
    if (host !== null) count(minute, 'host', noNul(host));
    if (app !== null) count(minute, 'app', noNul(app));
    if (e.facility !== null) count(minute, 'facility', String(e.facility));
    if (e.severity !== null) count(minute, 'severity', String(e.severity));
    count(minute, 'source', noNul(e.source.name));
  }
  close();
  for (const [k, n] of counts) {
    const a = k.indexOf('\t');
    const c = k.indexOf('\t', a + 1);
    out.minute.push(Number(k.slice(0, a)));
    out.field.push(k.slice(a + 1, c));
    out.value.push(k.slice(c + 1));
    out.n.push(n);
  }
  return out;
}

/** A string as an SQL literal whatever standard_conforming_strings is (E'' when it holds a backslash). */
export function sqlLiteral(s: string): string {
  const q = s.includes("'") ? s.replace(/'/g, "''") : s;
  return q.includes('\\') ? `E'${q.replace(/\\/g, '\\\\')}'` : `'${q}'`;
}

const ts = (ms: number): string => `'${new Date(ms).toISOString()}'`;

/**
 * The INSERTs of a chunk's blocks and counts as one SQL text of literals, so that they and the
 * COMMIT after them are one round trip (a parameterised statement cannot share a message).
 * Every value is a number, an ISO time or sqlLiteral: nothing from an event is read as SQL.
 */
export function indexStatements(t: StoreTables, x: ChunkIndex): string {
  const blocks: string[] = [];
  for (let i = 0; i < x.first.length; i++) blocks.push(`(${x.first[i]}, ${x.last[i]}, ${ts(x.tMin[i]!)}, ${ts(x.tMax[i]!)}, ${sqlLiteral(x.words[i]!)})`);
  const counts: string[] = [];
  for (let i = 0; i < x.minute.length; i++) counts.push(`(${ts(x.minute[i]!)}, ${sqlLiteral(x.field[i]!)}, ${sqlLiteral(x.value[i]!)}, ${x.n[i]})`);
  const out: string[] = [];
  if (blocks.length > 0) out.push(`INSERT INTO ${blocksTable(t)} (first_seq, last_seq, t_min, t_max, words) VALUES ${blocks.join(', ')}`);
  if (counts.length > 0) out.push(`INSERT INTO ${countsTable(t)} (minute, field, value, n) VALUES ${counts.join(', ')}`);
  return out.join('; ');
}
