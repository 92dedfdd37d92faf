// The sealing addon (native/seal_hash.c) against the JavaScript RFC 6962 code it replaces on the write path.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompactRange, leafHash, merkleRoot } from '../../../src/store/seal/merkle.js';
import { sealAddon } from '../../../src/store/seal/seal-addon.js';
import type { SealChunk } from '../../../src/store/seal/types.js';
import { havePeer } from '../../helpers/peers.js';
import { prng } from '../../helpers/prng.js';

/** A chunk laid out as the store lays it: record, then a 32-byte hole for its leaf hash. */
function chunk(rand: () => number, count: number, firstSeq: number): SealChunk {
  const parts: Buffer[] = [];
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  const hashAt = new Uint32Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const len = Math.floor(rand() * (i % 7 === 0 ? 5000 : 400));
    const rec = Buffer.alloc(len);
    for (let b = 0; b < len; b++) rec[b] = Math.floor(rand() * 256);
    starts[i] = pos;
    ends[i] = pos + len;
    hashAt[i] = pos + len + 1;
    parts.push(rec, Buffer.alloc(33));
    pos += len + 33;
  }
  return { buf: Buffer.concat(parts), starts, ends, hashAt, count, firstSeq };
}

describe('seal addon', () => {
  test('writes the same leaf hashes and frontier as the JavaScript path, from any tree size', (t) => {
    const addon = sealAddon();
    if (!havePeer(t, 'sluice_seal addon', addon, 'build/Release/sluice_seal.node is not built (npm install builds it with node-gyp)')) return;
    const rand = prng(42);
    for (const [size, count] of [[0, 1], [0, 1024], [1, 1], [7, 9], [255, 300], [1000, 24], [4095, 1], [2 ** 40 + 5, 3]] as const) {
      const c = chunk(rand, count, size + 1);
      const before = Buffer.from(c.buf);
      // A start of size leaves: any frontier with the right shape stands for them.
      const frontier = CompactRange.spans(size).map((_, i) => leafHash(i + 1, Buffer.from(`subtree ${i}`)));
      const viaAddon = new CompactRange(size, frontier);
      viaAddon.appendChunk(c);
      const viaJs = new CompactRange(size, frontier);
      for (let i = 0; i < count; i++) {
        const leaf = leafHash(size + 1 + i, before.subarray(c.starts[i], c.ends[i]));
        assert.ok(c.buf.subarray(c.hashAt[i], c.hashAt[i]! + 32).equals(leaf), `leaf ${i} of ${count} after ${size}`);
        viaJs.append(leaf);
      }
      assert.equal(viaAddon.size, size + count);
      assert.deepEqual(viaAddon.frontier().map((h) => h.toString('hex')), viaJs.frontier().map((h) => h.toString('hex')));
      assert.ok(viaAddon.root().equals(viaJs.root()));
      // Only the hash holes changed.
      for (let i = 0; i < count; i++) assert.ok(c.buf.subarray(c.starts[i], c.ends[i]).equals(before.subarray(c.starts[i], c.ends[i])));
    }
    const c = chunk(rand, 50, 1);
    const whole = new CompactRange();
    whole.appendChunk(c);
    assert.ok(whole.root().equals(merkleRoot(Array.from({ length: 50 }, (_, i) => c.buf.subarray(c.hashAt[i], c.hashAt[i]! + 32)))));
  });

  test('refuses offsets outside the buffer and a frontier that does not fit the size', (t) => {
    const addon = sealAddon();
    if (!havePeer(t, 'sluice_seal addon', addon, 'build/Release/sluice_seal.node is not built (npm install builds it with node-gyp)')) return;
    const c = chunk(prng(1), 4, 1);
    const bad = Uint32Array.from(c.hashAt);
    bad[2] = c.buf.length - 10;
    assert.throws(() => addon!.seal(c.buf, c.starts, c.ends, bad, 4, 1, Buffer.alloc(0), 0), /outside buf/);
    assert.throws(() => addon!.seal(c.buf, c.starts, c.ends, c.hashAt, 5, 1, Buffer.alloc(0), 0), /count exceeds/);
    assert.throws(() => addon!.seal(c.buf, c.starts, c.ends, c.hashAt, 4, 4, Buffer.alloc(32), 3), /frontier does not match/);
  });
});
