// RFC 6962 hashing against the Certificate Transparency test vectors and a second, recursive implementation.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { CompactRange, consistencyProof, EMPTY_ROOT, inclusionProof, verifyConsistency, leafHash, merkleRoot, rfc6962Leaf, verifyInclusion } from '../../../src/store/seal/merkle.js';
import { prng } from '../../helpers/prng.js';

// The leaves and roots of the CT/Trillian reference tests (RFC 6962 section 2.1).
const INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const sha = (...parts: Buffer[]) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };

/** RFC 6962 MTH written straight from the definition: split at the largest power of two below n. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

describe('RFC 6962 Merkle tree', () => {
  const leaves = INPUTS.map((h) => rfc6962Leaf(Buffer.from(h, 'hex')));

  test('empty tree is SHA-256 of nothing', () => {
    assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(new CompactRange().root().toString('hex'), EMPTY_ROOT.toString('hex'));
  });

  test('roots for sizes 1..8 match the CT vectors, appending one leaf at a time', () => {
    const t = new CompactRange();
    for (let i = 0; i < leaves.length; i++) {
      t.append(leaves[i]!);
      assert.equal(t.root().toString('hex'), ROOTS[i], `size ${i + 1}`);
      assert.equal(merkleRoot(leaves.slice(0, i + 1)).toString('hex'), ROOTS[i]);
    }
  });

  test('the compact range agrees with the recursive definition for every size to 300', () => {
    const r = prng(7);
    const ls = Array.from({ length: 300 }, (_, i) => leafHash(i + 1, Buffer.from(String(r()))));
    const t = new CompactRange();
    for (let n = 1; n <= ls.length; n++) {
      t.append(ls[n - 1]!);
      assert.ok(t.root().equals(referenceRoot(ls.slice(0, n))), `size ${n}`);
      // State is O(log n): one hash per set bit.
      assert.equal(t.frontier().length, n.toString(2).split('').filter((c) => c === '1').length);
    }
  });

  test('a tree restored from its frontier continues to the same roots', () => {
    const ls = Array.from({ length: 77 }, (_, i) => leafHash(i + 1, Buffer.from(`r${i}`)));
    const a = new CompactRange();
    for (const l of ls.slice(0, 45)) a.append(l);
    const b = new CompactRange(45, a.frontier());
    for (const l of ls.slice(45)) { a.append(l); b.append(l); }
    assert.ok(b.root().equals(referenceRoot(ls)));
    assert.throws(() => new CompactRange(45, a.frontier().slice(1)));
  });

  test('frontier spans cover the leaves largest first', () => {
    assert.deepEqual(CompactRange.spans(13), [[0, 8], [8, 12], [12, 13]]);
    assert.deepEqual(CompactRange.spans(16), [[0, 16]]);
    assert.deepEqual(CompactRange.spans(0), []);
  });

  test('inclusion proofs verify for every leaf and fail for a wrong leaf', () => {
    for (let n = 1; n <= 8; n++) {
      const root = merkleRoot(leaves.slice(0, n));
      for (let i = 0; i < n; i++) {
        const p = inclusionProof(leaves.slice(0, n), i);
        assert.ok(verifyInclusion(leaves[i]!, i, n, p, root), `leaf ${i} of ${n}`);
        assert.ok(!verifyInclusion(leaves[(i + 1) % 8]!, i, n, p, root));
      }
    }
  });

  test('consistency proofs: every prefix of trees up to 40 proves consistent; a changed leaf or root does not', () => {
    const ls = Array.from({ length: 40 }, (_, i) => leafHash(i + 1, Buffer.from(`c${i}`)));
    for (let n = 1; n <= ls.length; n++) {
      const rootN = merkleRoot(ls.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const rootM = merkleRoot(ls.slice(0, m));
        const p = consistencyProof(ls.slice(0, n), m);
        assert.ok(verifyConsistency(m, n, rootM, rootN, p), `${m} -> ${n}`);
        if (m < n) {
          const forged = ls.slice(0, n);
          forged[m - 1] = leafHash(999, Buffer.from('x'));
          assert.ok(!verifyConsistency(m, n, rootM, merkleRoot(forged), p), `forged ${m} -> ${n}`);
          assert.ok(!verifyConsistency(m, n, rootN, rootN, p) || rootM.equals(rootN));
        }
      }
    }
    // RFC 6962 example: the proof from 3 to 7 leaves is [c, d, g, l] in the RFC's figure, four hashes.
    assert.equal(consistencyProof(leaves.slice(0, 7), 3).length, 4);
    assert.equal(consistencyProof(leaves.slice(0, 7), 4).length, 1);
    assert.equal(consistencyProof(leaves.slice(0, 7), 6).length, 3);
  });

  test('leaf hashes bind the sequence number', () => {
    assert.ok(!leafHash(1, Buffer.from('x')).equals(leafHash(2, Buffer.from('x'))));
    const rec = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('abc')]);
    assert.ok(leafHash(5, Buffer.from('abc')).equals(rfc6962Leaf(rec)));
    const big = 2 ** 40 + 3;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(big));
    assert.ok(leafHash(big, Buffer.from('abc')).equals(rfc6962Leaf(Buffer.concat([b, Buffer.from('abc')]))));
    const long = Buffer.alloc(3 << 20, 7); // past the scratch buffer's one-shot bound
    assert.ok(leafHash(9, long).equals(rfc6962Leaf(Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]), long]))));
  });
});
