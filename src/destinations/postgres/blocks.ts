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

/**
 * One block's lexemes and the rows of each, in typed arrays (a linked list of positions per
 * lexeme) rather than an array per lexeme: the writer's garbage, not its lookups, was the cost.
 */
class BlockBuilder {
  private readonly ids = new Map<string, number>();
  private readonly lexemes: string[] = [];
  private npos = new Int32Array(1024);
  private lastPos = new Int32Array(1024);
  private lastNode = new Int32Array(1024);
  private firstNode = new Int32Array(1024);
  private nodePos = new Int32Array(16384);
  private nodeNext = new Int32Array(16384);
  private nodes = 0;
  private bytes = 0;
  start = -1;
  day = 0;
  tMin = 0;
  tMax = 0;
  n = 0;

  full(day: number): boolean {
    return this.n > 0 && (day !== this.day || this.n >= BLOCK_EVENTS || this.bytes > MAX_BLOCK_BYTES);
  }

  private node(pos: number): number {
    if (this.nodes === this.nodePos.length) {
      const p = new Int32Array(this.nodes * 2); p.set(this.nodePos); this.nodePos = p;
      const q = new Int32Array(this.nodes * 2); q.set(this.nodeNext); this.nodeNext = q;
    }
    this.nodePos[this.nodes] = pos;
    this.nodeNext[this.nodes] = -1;
    return this.nodes++;
  }

  add(pos: number, lexeme: string): void {
    const id = this.ids.get(lexeme);
    if (id === undefined) {
      const k = this.lexemes.length;
      if (k === this.npos.length) {
        const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => { const b = new Int32Array(k * 2); b.set(a); return b; };
        this.npos = grow(this.npos); this.lastPos = grow(this.lastPos); this.lastNode = grow(this.lastNode); this.firstNode = grow(this.firstNode);
      }
      this.ids.set(lexeme, k);
      this.lexemes.push(lexeme);
      const nd = this.node(pos);
      this.firstNode[k] = nd;
      this.lastNode[k] = nd;
      this.npos[k] = 1;
      this.lastPos[k] = pos;
      this.bytes += lexeme.length * 3 + 8;
    } else if (this.lastPos[id] !== pos && this.npos[id]! <= MAX_POSITIONS) {
      const nd = this.node(pos);
      this.nodeNext[this.lastNode[id]!] = nd;
      this.lastNode[id] = nd;
      this.npos[id]!++;
      this.lastPos[id] = pos;
      this.bytes += 2;
    }
  }

  literal(): string {
    let out = '';
    for (let k = 0; k < this.lexemes.length; k++) {
      if (k > 0) out += ' ';
      out += quoteLexeme(this.lexemes[k]!) + ':';
      if (this.npos[k]! > MAX_POSITIONS) { out += ALL_ROWS; continue; }
      let nd = this.firstNode[k]!;
      out += this.nodePos[nd]!;
      for (nd = this.nodeNext[nd]!; nd >= 0; nd = this.nodeNext[nd]!) out += ',' + this.nodePos[nd]!;
    }
    return out;
  }

  reset(): void {
    this.ids.clear();
    this.lexemes.length = 0;
    this.nodes = 0;
    this.bytes = 0;
    this.n = 0;
  }
}

/** f of a string, computed again only when the string differs from the last one. */
class LastValue {
  private last: string | null = null;
  private value = '';
  constructor(private readonly f: (v: string) => string) {}
  of(v: string): string {
    if (v !== this.last) { this.last = v; this.value = this.f(v); }
    return this.value;
  }
}

/** One minute's counts: every event, and per rolled field its values. */
interface MinuteCounts { n: number; values: Map<string, number>[] }

function bump(m: Map<string, number>, v: string): void {
  m.set(v, (m.get(v) ?? 0) + 1);
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
  const minutes = new Map<number, MinuteCounts>();
  // Consecutive events mostly share their host and app: their lexemes and clean values are kept.
  const hostKey = new LastValue((v) => keyLexeme('host', noNul(v)));
  const appKey = new LastValue((v) => keyLexeme('app', noNul(v)));
  const hostClean = new LastValue(noNul);
  const appClean = new LastValue(noNul);
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
    if (host !== null) b.add(pos, hostKey.of(host));
    if (app !== null) b.add(pos, appKey.of(app));
    const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    let m = minutes.get(minute);
    if (m === undefined) { m = { n: 0, values: ROLLUP_FIELDS.map(() => new Map()) }; minutes.set(minute, m); }
    m.n++;
    // In ROLLUP_FIELDS order.
    if (host !== null) bump(m.values[0]!, hostClean.of(host));
    if (app !== null) bump(m.values[1]!, appClean.of(app));
    if (e.facility !== null) bump(m.values[2]!, String(e.facility));
    if (e.severity !== null) bump(m.values[3]!, String(e.severity));
    bump(m.values[4]!, noNul(e.source.name));
  }
  close();
  for (const [minute, m] of minutes) {
    out.minute.push(minute); out.field.push(''); out.value.push(''); out.n.push(m.n);
    m.values.forEach((vs, f) => {
      for (const [v, n] of vs) { out.minute.push(minute); out.field.push(ROLLUP_FIELDS[f]!); out.value.push(v); out.n.push(n); }
    });
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
