// Verification: recompute every leaf and every checkpoint root from the records the store
// still holds and name, by sequence range, exactly what differs.
//
// What is and is not detectable (see README "Tamper evidence and verify"):
// - without the key: any edit, deletion, reordering or truncation of sealed records, any
//   edit or removal of a checkpoint except the newest ones (the chain's links, indexes and
//   monotonic sizes and times catch the rest); re-signing with a key the chain did not
//   introduce, or with a key introduced after the records it claims to seal.
// - removing the newest checkpoints together with the records they sealed looks, on the
//   host alone, like a crash before those checkpoints (an unsealed tail or nothing at all):
//   only a copy of the checkpoints kept elsewhere (an anchor) proves it; verify notes a last
//   checkpoint that is not a clean stop and is older than the heartbeat interval.
// - an attacker holding the current private key can re-seal anything sealed after that key
//   was introduced; only an anchor or a pinned root key bounds that.

import { checkpointHash, signedBytes } from './checkpoint.js';
import { keyIdOf, publicKeyFromRaw, verifyBytes, type PublicKeyInfo } from './keys.js';
import { CompactRange, leafHash } from './merkle.js';
import type { Checkpoint, SealSource, VerifyProblem, VerifyReport } from './types.js';

export interface VerifyOptions {
  strict?: boolean;
  /** Checkpoints kept off-host (parsed from an anchor file): the local chain must agree. */
  anchors?: Checkpoint[];
  /** Seq ranges that left the store under a signed drop manifest (retention). */
  dropped?: Array<{ from: number; to: number; where: string }>;
  /** Problems found by a source before verify saw its records (an archive's manifest). */
  sourceProblems?: VerifyProblem[];
  /** Lines of the checkpoint file that are not checkpoints. */
  badCheckpointLines?: Array<{ line: number; reason: string }>;
  /** For the staleness note: now and the sealer's heartbeat interval. */
  now?: number;
  heartbeatMs?: number;
  /** Swap detection compares altered records pairwise; at most this many. */
  maxPairwise?: number;
}

/**
 * Every record verify saw, packed (about 50 bytes each): seq, time, where, and the hash the
 * tree uses — the stored one when present (the original if only the bytes changed).
 */
class RecordTable {
  n = 0;
  readonly seq: number[] = [];
  readonly time: number[] = [];
  private readonly where: number[] = [];
  private readonly wheres: string[] = [];
  private readonly whereIds = new Map<string, number>();
  private readonly chunks: Buffer[] = [];
  private static readonly CHUNK = 1 << 15;

  add(seq: number, time: number, where: string, leaf: Buffer): void {
    let w = this.whereIds.get(where);
    if (w === undefined) { w = this.wheres.length; this.wheres.push(where); this.whereIds.set(where, w); }
    const i = this.n++;
    this.seq.push(seq);
    this.time.push(time);
    this.where.push(w);
    const c = Math.floor(i / RecordTable.CHUNK);
    if (!this.chunks[c]) this.chunks[c] = Buffer.allocUnsafe(RecordTable.CHUNK * 32);
    leaf.copy(this.chunks[c]!, (i % RecordTable.CHUNK) * 32, 0, 32);
  }

  leaf(i: number): Buffer {
    const o = (i % RecordTable.CHUNK) * 32;
    return this.chunks[Math.floor(i / RecordTable.CHUNK)]!.subarray(o, o + 32);
  }

  whereOf(i: number): string {
    return this.wheres[this.where[i]!]!;
  }

  /** Row indexes by ascending seq (stable: a seq held twice keeps source order). */
  sortedBySeq(): Uint32Array {
    const idx = new Uint32Array(this.n);
    let sorted = true;
    for (let i = 0; i < this.n; i++) {
      idx[i] = i;
      if (i > 0 && this.seq[i]! < this.seq[i - 1]!) sorted = false;
    }
    if (!sorted) idx.sort((a, b) => this.seq[a]! - this.seq[b]! || a - b);
    return idx;
  }
}

function lowerBound(a: number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < x) lo = m + 1; else hi = m;
  }
  return lo;
}

interface Altered {
  seq: number;
  bytes: Buffer;
  stored: Buffer;
  where: string;
}

const range = (a: number, b: number) => (a === b ? `seq ${a}` : `seq ${a}..${b}`);

export function verifySeal(
  source: SealSource | SealSource[],
  checkpoints: Checkpoint[],
  publicKeys: PublicKeyInfo[],
  opts: VerifyOptions = {},
): VerifyReport {
  const problems: VerifyProblem[] = [...(opts.sourceProblems ?? [])];
  const notes: string[] = [];
  for (const b of opts.badCheckpointLines ?? []) {
    problems.push({ kind: 'bad_chain', message: `bad_chain: checkpoint file line ${b.line} is not a checkpoint (${b.reason})` });
  }

  // 1. The chain: links, indexes, monotonic sizes and times, and which key may sign where.
  const chain = checkChain(checkpoints, publicKeys, problems, 'checkpoint');
  const usable = new Map<number, Checkpoint>();
  for (const cp of chain.valid) usable.set(cp.index, cp);
  if (opts.anchors?.length) checkAnchors(opts.anchors, checkpoints, chain, usable, problems);

  // 2. Records: leaf hashes, duplicates, order within each source.
  const t = new RecordTable();
  const altered: Altered[] = [];
  const exact: Array<[number, number]> = [];
  for (const src of Array.isArray(source) ? source : [source]) {
    const first = t.n;
    let sorted = true;
    let prev = -Infinity;
    for (const r of src.records()) {
      const leaf = leafHash(r.seq, r.bytes);
      let treeLeaf = leaf;
      if (r.storedHash && !r.storedHash.equals(leaf)) {
        altered.push({ seq: r.seq, bytes: Buffer.from(r.bytes), stored: Buffer.from(r.storedHash), where: r.where });
        treeLeaf = r.storedHash;
      }
      t.add(r.seq, r.time, r.where, treeLeaf);
      if (r.seq <= prev) sorted = false;
      prev = r.seq;
    }
    if (!sorted) reportReordered(t.seq.slice(first), problems, exact);
  }
  const count = t.n;
  reportAltered(altered, problems, exact, opts.maxPairwise ?? 200);
  // Unique seqs in order, each with the table row that holds it.
  const order = t.sortedBySeq();
  const seqs: number[] = [];
  const rowOf: number[] = [];
  for (const i of order) {
    const q = t.seq[i]!;
    if (seqs.length && seqs[seqs.length - 1] === q) {
      const had = rowOf[rowOf.length - 1]!;
      if (!t.leaf(had).equals(t.leaf(i))) {
        problems.push({ kind: 'altered', from: q, to: q, message: `altered: seq ${q} is stored twice with different contents (${t.whereOf(had)}, ${t.whereOf(i)})` });
        exact.push([q, q]);
      }
      continue;
    }
    seqs.push(q);
    rowOf.push(i);
  }
  const maxSeq = seqs.length ? seqs[seqs.length - 1]! : 0;
  /** The first and last present, not dropped seq within [a, b], or null. */
  const presentIn = (a: number, b: number): [number, number] | null => {
    let lo = lowerBound(seqs, a);
    let hi = lowerBound(seqs, b + 1) - 1;
    while (lo <= hi && isDropped(seqs[lo]!)) lo++;
    while (hi >= lo && isDropped(seqs[hi]!)) hi--;
    return lo <= hi ? [seqs[lo]!, seqs[hi]!] : null;
  };

  // 3. Checkpoint roots against the records, narrowed by the frontiers where they differ.
  const cps = [...usable.values()].sort((a, b) => a.size - b.size || a.index - b.index);
  const sealedSize = cps.length ? cps[cps.length - 1]!.size : 0;
  const dropped = (opts.dropped ?? []).slice().sort((a, b) => a.from - b.from);
  const isDropped = (s: number) => dropped.some((d) => s >= d.from && s <= d.to);

  // Missing: every seq 1..max(maxSeq, sealed) not present and not dropped.
  const holes: Array<[number, number]> = [];
  let dataTrunc: VerifyProblem | null = null;
  {
    let expect = 1;
    const push = (a: number, b: number) => {
      // Split around dropped ranges.
      let s = a;
      for (const d of dropped) {
        if (d.to < s || d.from > b) continue;
        if (d.from > s) holes.push([s, d.from - 1]);
        s = Math.max(s, d.to + 1);
      }
      if (s <= b) holes.push([s, b]);
    };
    for (const s of seqs) {
      if (s > expect) push(expect, s - 1);
      expect = s + 1;
    }
    if (sealedSize >= expect) push(expect, sealedSize);
  }
  for (const [a, b] of holes) {
    if (b > maxSeq) {
      const k = cps.find((c) => c.size >= b)!;
      const from = Math.max(a, maxSeq + 1);
      if (a <= maxSeq) problems.push({ kind: 'missing', from: a, to: maxSeq, message: `missing: ${range(a, maxSeq)} (deleted)` });
      dataTrunc = { kind: 'truncated', from, to: b, message: `truncated: ${range(from, b)} missing, sealed by checkpoint #${k.index}` };
      problems.push(dataTrunc);
    } else {
      problems.push({ kind: 'missing', from: a, to: b, message: `missing: ${range(a, b)} (deleted)` });
    }
    exact.push([a, b]);
  }
  const explained = (a: number, b: number) => exact.some(([x, y]) => x <= b && y >= a);

  let tree = new CompactRange();
  let p = 0; // next position in seqs
  let broken = false;
  let goodSize = 0;
  let tainted = false;
  /** Where the tree met a hole, and the size verified before it. */
  const breaks: Array<{ at: number; goodSize: number }> = [];
  for (const cp of cps) {
    if (!broken && cp.size >= tree.size) {
      while (tree.size < cp.size) {
        while (p < seqs.length && seqs[p]! <= tree.size) p++;
        if (seqs[p] !== tree.size + 1) { broken = true; breaks.push({ at: tree.size + 1, goodSize }); break; }
        tree.append(t.leaf(rowOf[p]!));
        p++;
      }
    }
    const resumable = cp.frontier && frontierOk(cp);
    if (broken || cp.size < tree.size) {
      if (resumable) {
        const brokeAt = tree.size + 1;
        // Present records between the hole and this checkpoint could not be checked.
        const unchecked = broken ? presentIn(brokeAt, cp.size) : null;
        if (unchecked) {
          const [a, b] = unchecked;
          if (!explained(a, b)) notes.push(`${range(a, b)} could not be checked: records before them that checkpoint #${cp.index} sealed are missing`);
        }
        tree = new CompactRange(cp.size, cp.frontier!);
        broken = false;
        goodSize = cp.size;
        tainted = false;
      }
      continue;
    }
    if (tree.root().equals(cp.root)) {
      goodSize = cp.size;
      tainted = false;
      continue;
    }
    let a = goodSize + 1;
    let b = cp.size;
    if (resumable) {
      const mine = tree.frontier();
      const spans = CompactRange.spans(cp.size);
      const diff = spans.map((_, i) => !mine[i]!.equals(cp.frontier![i]!));
      const first = diff.indexOf(true);
      const last = diff.lastIndexOf(true);
      if (first >= 0) {
        a = Math.max(a, spans[first]![0] + 1);
        b = Math.min(b, spans[last]![1]);
      }
    }
    if (!tainted && !explained(a, b)) {
      problems.push({ kind: 'altered', from: a, to: b, message: `altered: within ${range(a, b)}: the stored hashes match the records but checkpoint #${cp.index}'s root does not (records and hashes rewritten)` });
    }
    if (resumable) {
      tree = new CompactRange(cp.size, cp.frontier!);
      goodSize = cp.size;
      tainted = false;
    } else {
      tainted = true;
    }
  }

  // Records inside a truncated checkpoint's range that no verifying checkpoint covers.
  const trunc = dataTrunc as VerifyProblem | null;
  const truncBreak = trunc ? breaks.find((b) => b.at === trunc.from) : undefined;
  if (trunc && trunc.from !== undefined && truncBreak) {
    const after = presentIn(truncBreak.goodSize + 1, trunc.from - 1);
    if (after) {
      const [a, b] = after;
      // Not a problem of its own: intact records sealed together with the cut ones look the same.
      notes.push(`${range(a, b)} are not covered by any checkpoint that verifies: checkpoint #${cps.find((c) => c.size >= trunc.to!)?.index} sealed them together with the missing ${range(trunc.from!, trunc.to!)} (records appended after a truncation look the same)`);
    }
  }

  // 4. The unsealed tail.
  let unsealed: VerifyReport['unsealed'] = null;
  const tailFrom = lowerBound(seqs, sealedSize + 1);
  if (tailFrom < seqs.length) {
    let first: number | null = null, last: number | null = null;
    const lo = seqs[tailFrom]!, hi = maxSeq, n = seqs.length - tailFrom;
    for (let k = tailFrom; k < seqs.length; k++) {
      const time = t.time[rowOf[k]!]!;
      first = first === null ? time : Math.min(first, time);
      last = last === null ? time : Math.max(last, time);
    }
    unsealed = { count: n, firstTime: first, lastTime: last };
    if (opts.strict) {
      problems.push({ kind: 'unsealed', from: lo, to: hi, message: `unsealed: ${range(lo, hi)} (${n} records, ${iso(first)} .. ${iso(last)}) after the last checkpoint` });
    }
  }
  const lastLocal = checkpoints[checkpoints.length - 1];
  if (lastLocal && lastLocal.reason !== 'stop') {
    const age = opts.now !== undefined ? opts.now - lastLocal.time : null;
    if (age !== null && opts.heartbeatMs && age > 2 * opts.heartbeatMs) {
      if (opts.strict) {
        problems.push({ kind: 'unsealed', from: lastLocal.size + 1, message: `unsealed: the chain ends at checkpoint #${lastLocal.index} (${lastLocal.reason}, ${Math.round(age / 1000)} s ago) without a clean stop: a crash, a stalled daemon, or newer checkpoints removed` });
      }
      notes.push(`the last checkpoint #${lastLocal.index} (${lastLocal.reason}, ${iso(lastLocal.time)}) is ${Math.round(age / 1000)} s old and not a clean stop: a running daemon seals a heartbeat every ${Math.round(opts.heartbeatMs / 1000)} s; unless it crashed or is stopped, newer checkpoints were removed (an anchor would prove which)`);
    } else {
      notes.push(`the last checkpoint #${lastLocal.index} is '${lastLocal.reason}', not a clean stop (the daemon is running, or stopped without sealing)`);
    }
  }
  for (const d of dropped) notes.push(`${range(d.from, d.to)} left the store by retention (${d.where})`);

  problems.sort((p, q) => (p.from ?? 0) - (q.from ?? 0));
  return {
    ok: problems.length === 0,
    records: count,
    checkpoints: checkpoints.length,
    problems,
    unsealed,
    ...(dropped.length ? { dropped } : {}),
    ...(notes.length ? { notes } : {}),
  };
}

function frontierOk(cp: Checkpoint): boolean {
  try {
    return new CompactRange(cp.size, cp.frontier!).root().equals(cp.root);
  } catch {
    return false;
  }
}

function iso(t: number | null): string {
  return t === null ? '?' : new Date(t).toISOString();
}

interface ChainResult {
  valid: Checkpoint[];
  /** keyId → the key and the checkpoint that introduced it (null index: a trusted root). */
  keys: Map<string, { key: PublicKeyInfo; index: number; size: number }>;
}

/** Checks links and signatures; the returned `valid` ones are trustworthy roots for data checks. */
function checkChain(cps: Checkpoint[], trusted: PublicKeyInfo[], problems: VerifyProblem[], what: string): ChainResult {
  const keys = new Map<string, { key: PublicKeyInfo; index: number; size: number }>();
  for (const k of trusted) keys.set(k.id, { key: k, index: 0, size: 0 });
  for (const cp of cps) {
    if (!cp.nextKey) continue;
    const id = keyIdOf(cp.nextKey);
    if (!keys.has(id)) keys.set(id, { key: publicKeyFromRaw(cp.nextKey), index: cp.index, size: cp.size });
  }
  const valid: Checkpoint[] = [];
  let current: PublicKeyInfo | null = trusted[0] ?? null;
  let prev: Checkpoint | null = null;
  for (const cp of cps) {
    const seqs = cp.size > 0 ? { from: 1, to: cp.size } : {};
    if (!prev && cp.index !== 1) {
      problems.push({ kind: 'bad_chain', ...seqs, message: `bad_chain: the ${what}s start at #${cp.index}: #1..#${cp.index - 1} were removed` });
    } else if (!prev && cp.prev) {
      problems.push({ kind: 'bad_chain', ...seqs, message: `bad_chain: ${what} #${cp.index} links to a predecessor that is not there` });
    }
    if (prev) {
      if (cp.index !== prev.index + 1) {
        const gap = cp.index > prev.index + 1 ? `#${prev.index + 1}..#${cp.index - 1} were removed` : `#${cp.index} follows #${prev.index}`;
        problems.push({ kind: 'bad_chain', from: prev.size + 1, to: cp.size, message: `bad_chain: ${what}s out of sequence: ${gap}` });
      } else if (!cp.prev || !cp.prev.equals(checkpointHash(prev))) {
        problems.push({ kind: 'bad_chain', from: prev.size + 1, to: cp.size, message: `bad_chain: ${what} #${cp.index}'s link to #${prev.index} is broken (one of them was replaced)` });
      }
      if (cp.size < prev.size) {
        problems.push({ kind: 'bad_chain', from: cp.size + 1, to: prev.size, message: `bad_chain: ${what} #${cp.index} seals ${cp.size} records, fewer than #${prev.index} (${prev.size})` });
      }
      if (cp.time < prev.time) {
        problems.push({ kind: 'bad_chain', message: `bad_chain: ${what} #${cp.index} is older (${iso(cp.time)}) than #${prev.index} (${iso(prev.time)})` });
      }
    }
    prev = cp;
    const signer = keys.get(cp.keyId);
    if (!current || cp.keyId !== current.id) {
      let why: string;
      if (!current) why = 'no trusted key';
      else if (signer && signer.index >= cp.index) why = `key ${cp.keyId} was introduced only by checkpoint #${signer.index} (size ${signer.size}): records sealed before it cannot be re-sealed with it`;
      else if (signer) why = `key ${cp.keyId} was not the signing key at #${cp.index} (expected ${current.id})`;
      else why = `key ${cp.keyId} is unknown (expected ${current.id})`;
      problems.push({ kind: 'key', ...seqs, message: `key: ${what} #${cp.index} (${cp.size > 0 ? range(1, cp.size) : 'empty'}) is signed by the wrong key: ${why}` });
      continue;
    }
    if (!verifyBytes(signedBytes(cp), cp.signature, current)) {
      problems.push({ kind: 'bad_signature', ...seqs, message: `bad_signature: ${what} #${cp.index} (size ${cp.size}) does not verify with key ${current.id}` });
      continue;
    }
    valid.push(cp);
    if (cp.nextKey) current = publicKeyFromRaw(cp.nextKey);
  }
  return { valid, keys };
}

function checkAnchors(anchors: Checkpoint[], local: Checkpoint[], chain: ChainResult, usable: Map<number, Checkpoint>, problems: VerifyProblem[]): void {
  const byIndex = new Map(local.map((c) => [c.index, c] as const));
  const lastLocal = local.length ? local[local.length - 1]! : null;
  // Anchors may introduce keys the local chain lost.
  for (const a of anchors) {
    if (a.nextKey && !chain.keys.has(keyIdOf(a.nextKey))) chain.keys.set(keyIdOf(a.nextKey), { key: publicKeyFromRaw(a.nextKey), index: a.index, size: a.size });
  }
  const beyond: Checkpoint[] = [];
  for (const a of anchors.slice().sort((x, y) => x.index - y.index)) {
    const signer = chain.keys.get(a.keyId);
    if (!signer || signer.index >= a.index || !verifyBytes(signedBytes(a), a.signature, signer.key)) {
      problems.push({ kind: 'bad_signature', message: `bad_signature: anchored checkpoint #${a.index} (size ${a.size}) does not verify with a key of the chain` });
      continue;
    }
    const l = byIndex.get(a.index);
    if (!l) {
      if (!lastLocal || a.index > lastLocal.index) {
        beyond.push(a);
      } else {
        problems.push({ kind: 'bad_chain', to: a.size, from: 1, message: `bad_chain: anchored checkpoint #${a.index} (size ${a.size}) is missing from the local chain` });
      }
    } else if (!signedBytes(l).equals(signedBytes(a)) || !l.signature.equals(a.signature)) {
      problems.push({ kind: 'bad_chain', from: 1, to: Math.max(a.size, l.size), message: `bad_chain: local checkpoint #${a.index} (size ${l.size}) differs from its anchored copy (size ${a.size}): the local chain was rewritten` });
      usable.delete(a.index);
    }
    // The anchored copy is the off-host truth: check the records against it too.
    const mine = usable.get(a.index);
    if (!mine) usable.set(a.index, a);
  }
  if (beyond.length) {
    const f = beyond[0]!, l = beyond[beyond.length - 1]!;
    const from = lastLocal && l.size > lastLocal.size ? lastLocal.size + 1 : 1;
    const which = f === l ? `checkpoint #${f.index}` : `checkpoints #${f.index}..#${l.index}`;
    problems.push({ kind: 'truncated', from, to: l.size, message: `truncated: anchored ${which} (up to size ${l.size}, ${iso(l.time)}) missing from the local chain, which ends at #${lastLocal?.index ?? 0}: newer checkpoints were removed` });
  }
}

/** Records stored out of seq order: those outside the longest increasing run moved. */
function reportReordered(order: number[], problems: VerifyProblem[], exact: Array<[number, number]>): void {
  // Longest increasing subsequence (patience sorting), O(n log n).
  const tails: number[] = [];
  const tailIdx: number[] = [];
  const parent = new Int32Array(order.length).fill(-1);
  for (let i = 0; i < order.length; i++) {
    let lo = 0, hi = tails.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (tails[m]! < order[i]!) lo = m + 1; else hi = m;
    }
    tails[lo] = order[i]!;
    tailIdx[lo] = i;
    parent[i] = lo > 0 ? tailIdx[lo - 1]! : -1;
  }
  const inRun = new Uint8Array(order.length);
  for (let i = tailIdx[tails.length - 1] ?? -1; i >= 0; i = parent[i]!) inRun[i] = 1;
  const moved = order.filter((_, i) => !inRun[i]).sort((a, b) => a - b);
  const groups = groupRuns(moved);
  const text = groups.map(([a, b]) => range(a, b).replace('seq ', '')).join(', ');
  problems.push({
    kind: 'reordered', from: moved[0], to: moved[moved.length - 1],
    message: `reordered: seq ${text} stored out of sequence order`,
  });
  for (const g of groups) exact.push(g);
}

function groupRuns(sorted: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1) last[1] = Math.max(last[1], s);
    else out.push([s, s]);
  }
  return out;
}

/** Altered records, and among them pairs whose contents belong at each other's seq: a swap. */
function reportAltered(altered: Altered[], problems: VerifyProblem[], exact: Array<[number, number]>, maxPairwise: number): void {
  const pairedWith = new Map<number, number>();
  if (altered.length <= maxPairwise) {
    for (const a of altered) {
      for (const b of altered) {
        if (a === b || pairedWith.has(a.seq)) continue;
        const moved = leafHash(b.seq, a.bytes);
        if (moved.equals(a.stored) || moved.equals(b.stored)) pairedWith.set(a.seq, b.seq);
      }
    }
  }
  const done = new Set<number>();
  for (const a of altered) {
    const b = pairedWith.get(a.seq);
    if (b !== undefined) {
      if (done.has(a.seq)) continue;
      done.add(a.seq);
      done.add(b);
      const [x, y] = a.seq < b ? [a.seq, b] : [b, a.seq];
      const mutual = pairedWith.get(b) === a.seq;
      problems.push({
        kind: 'reordered', from: x, to: y,
        message: mutual ? `reordered: seq ${x} and ${y} swapped (${a.where})` : `reordered: the record at seq ${a.seq} belongs at seq ${b} (${a.where})`,
      });
      exact.push([x, x], [y, y]);
      continue;
    }
    problems.push({ kind: 'altered', from: a.seq, to: a.seq, message: `altered: seq ${a.seq}: the record's bytes do not match its stored hash (${a.where})` });
    exact.push([a.seq, a.seq]);
  }
}
