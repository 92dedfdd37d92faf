// RFC 6962 Merkle tree hashing and an append-only tree kept as a compact range.
//
// The sealed "record" of RFC 6962 is u64be(seq) ‖ the store's canonical bytes: binding the
// sequence number into the leaf makes a record moved to another seq fail its hash (a swap
// is then named as such, not as two unrelated edits). The tree itself is plain RFC 6962:
// leaf = SHA-256(0x00 ‖ record), node = SHA-256(0x01 ‖ left ‖ right), empty = SHA-256("").

import crypto, { createHash } from 'node:crypto';
import { sealAddon } from './seal-addon.js';
import type { SealChunk } from './types.js';

// One-shot hashing over a reused scratch buffer: the store hashes every event twice (leaf and,
// amortized, one node), and createHash's object per call costs more than SHA-256 itself.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: 'buffer') => Buffer }).hash;
let scratch = Buffer.allocUnsafe(4096);
const nodeScratch = Buffer.allocUnsafe(65);
nodeScratch[0] = 1;

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** RFC 6962 leaf hash of an arbitrary record. */
export function rfc6962Leaf(record: Buffer): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(record).digest();
}

/** The leaf hash of one stored event: RFC 6962 leaf over u64be(seq) ‖ bytes. */
export function leafHash(seq: number, bytes: Buffer): Buffer {
  const n = 9 + bytes.length;
  if (oneShot && n <= 1 << 20) {
    if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
    scratch[0] = 0;
    writeSeq(scratch, seq);
    bytes.copy(scratch, 9);
    return oneShot('sha256', scratch.subarray(0, n), 'buffer');
  }
  const s = Buffer.allocUnsafe(9);
  s[0] = 0;
  writeSeq(s, seq);
  return createHash('sha256').update(s).update(bytes).digest();
}

/** u64be at offset 1, without a BigInt per call (seqs stay below 2^53). */
function writeSeq(b: Buffer, seq: number): void {
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 1);
  b.writeUInt32BE(seq >>> 0, 5);
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  if (oneShot) {
    left.copy(nodeScratch, 1);
    right.copy(nodeScratch, 33);
    return oneShot('sha256', nodeScratch, 'buffer');
  }
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * The tree over leaves 0..size-1 as the roots of its perfect subtrees, largest first (one per
 * set bit of size): O(log n) state that can take the next leaf and give the root at any time.
 */
export class CompactRange {
  private hashes: Buffer[];
  private n: number;

  constructor(size = 0, hashes: Buffer[] = []) {
    if (popcount(size) !== hashes.length) throw new Error(`compact range of size ${size} needs ${popcount(size)} hashes, got ${hashes.length}`);
    this.n = size;
    this.hashes = hashes.slice();
  }

  get size(): number {
    return this.n;
  }

  append(leaf: Buffer): void {
    let h = leaf;
    // Each trailing 1-bit of the old size is a subtree of equal height to merge with.
    for (let s = this.n; s % 2 === 1; s = Math.floor(s / 2)) h = nodeHash(this.hashes.pop()!, h);
    this.hashes.push(h);
    this.n++;
  }

  /** Appends a chunk's records as leaves firstSeq, firstSeq + 1, …, writing each leaf into the chunk's buffer. */
  appendChunk(c: SealChunk): void {
    const addon = sealAddon();
    if (addon !== null) {
      const f = addon.seal(c.buf, c.starts, c.ends, c.hashAt, c.count, c.firstSeq, Buffer.concat(this.hashes), this.n);
      const hashes: Buffer[] = new Array(f.length / 32);
      for (let i = 0; i < hashes.length; i++) hashes[i] = f.subarray(i * 32, i * 32 + 32);
      this.hashes = hashes;
      this.n += c.count;
      return;
    }
    for (let i = 0; i < c.count; i++) {
      const h = leafHash(c.firstSeq + i, c.buf.subarray(c.starts[i], c.ends[i]));
      h.copy(c.buf, c.hashAt[i]);
      this.append(h);
    }
  }

  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let h = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = nodeHash(this.hashes[i]!, h);
    return h;
  }

  /** The subtree roots (largest first); with size, enough to continue the tree elsewhere. */
  frontier(): Buffer[] {
    return this.hashes.slice();
  }

  /** The leaf ranges [from, to) (0-based) the frontier hashes cover, in the same order. */
  static spans(size: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let start = 0;
    for (let bit = 2 ** Math.floor(Math.log2(Math.max(size, 1))); bit >= 1; bit /= 2) {
      if (Math.floor(size / bit) % 2 === 1) {
        out.push([start, start + bit]);
        start += bit;
      }
    }
    return out;
  }

  clone(): CompactRange {
    return new CompactRange(this.n, this.hashes);
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let s = n; s > 0; s = Math.floor(s / 2)) c += s % 2;
  return c;
}

/** RFC 6962 Merkle tree hash over leaf hashes, in one pass with O(log n) memory. */
export function merkleRoot(leaves: Iterable<Buffer>): Buffer {
  const t = new CompactRange();
  for (const l of leaves) t.append(l);
  return t.root();
}

/** Audit path for leaf `index` in the tree of `leaves` (RFC 6962 §2.1.1), bottom-up. */
export function inclusionProof(leaves: Buffer[], index: number): Buffer[] {
  if (index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} not in a tree of ${leaves.length}`);
  const path: Buffer[] = [];
  const walk = (lo: number, hi: number): void => {
    if (hi - lo <= 1) return;
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      walk(lo, lo + k);
      path.push(merkleRoot(leaves.slice(lo + k, hi)));
    } else {
      walk(lo + k, hi);
      path.push(merkleRoot(leaves.slice(lo, lo + k)));
    }
  };
  walk(0, leaves.length);
  return path;
}

/** Checks an audit path (RFC 9162 §2.1.3.2). */
export function verifyInclusion(leaf: Buffer, index: number, size: number, path: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Consistency proof that the tree of the first `m` leaves is a prefix of the tree of all (RFC 6962 §2.1.2). */
export function consistencyProof(leaves: Buffer[], m: number): Buffer[] {
  const n = leaves.length;
  if (m < 1 || m > n) throw new RangeError(`no consistency proof from size ${m} to ${n}`);
  const sub = (m: number, lo: number, hi: number, complete: boolean): Buffer[] => {
    if (m === hi - lo) return complete ? [] : [merkleRoot(leaves.slice(lo, hi))];
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m <= k) return [...sub(m, lo, lo + k, complete), merkleRoot(leaves.slice(lo + k, hi))];
    return [...sub(m - k, lo + k, hi, false), merkleRoot(leaves.slice(lo, lo + k))];
  };
  return sub(m, 0, n, true);
}

/** Checks a consistency proof between two signed roots (RFC 9162 §2.1.4.2), without the leaves. */
export function verifyConsistency(m: number, n: number, rootM: Buffer, rootN: Buffer, proof: Buffer[]): boolean {
  if (m < 1 || m > n) return false;
  if (m === n) return proof.length === 0 && rootM.equals(rootN);
  if (proof.length === 0) return false;
  const path = (m & (m - 1)) === 0 ? [rootM, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(rootM) && sr.equals(rootN) && sn === 0;
}
