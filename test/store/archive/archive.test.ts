// Archive files and manifests: round trip in blocks, signed and chained manifests, cut and altered files named.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isSluiceError } from '../../../src/errors.js';
import { manifestHash, manifestPathFor, readArchive, readManifests, verifyArchive, writeArchive, type ArchiveRecord, type Manifest } from '../../../src/store/archive/archive.js';
import { loadSigningKey, type PublicKeyInfo } from '../../../src/store/seal/keys.js';
import { leafHash, merkleRoot } from '../../../src/store/seal/merkle.js';
import { prng } from '../../helpers/prng.js';
import { tempDir } from '../../helpers/wait.js';

function records(n: number, from = 1, seed = 1): ArchiveRecord[] {
  const r = prng(seed);
  const t0 = Date.UTC(2026, 10, 30);
  return Array.from({ length: n }, (_, i) => ({
    seq: from + i,
    time: t0 + i * 37,
    bytes: Buffer.from(`{"raw":"<134>1 2026-11-30T00:00:00Z web-0${i % 7} nginx - - - GET /api/v1/items/${Math.floor(r() * 1e6)} 200 ${Math.floor(r() * 9999)}"}`),
  }));
}

function setup() {
  const dir = tempDir('archive');
  const key = loadSigningKey(dir, true);
  const pub: PublicKeyInfo = { publicKey: key.publicKey, raw: key.raw, id: key.id };
  return { dir, key, pub, adir: path.join(dir, 'archive') };
}

describe('archives', () => {
  for (const codec of ['brotli', 'gzip'] as const) {
    test(`${codec}: records come back in order across blocks; the manifest states count, range, sha256 and root`, () => {
      const { key, pub, adir } = setup();
      const recs = records(12_000);
      const file = path.join(adir, 'p1.sla');
      const m = writeArchive(file, recs, { key, codec, partition: '2026-11-30' });
      const back = [...readArchive(file)];
      assert.equal(back.length, recs.length);
      for (let i = 0; i < recs.length; i += 997) {
        assert.equal(back[i]!.seq, recs[i]!.seq);
        assert.equal(back[i]!.time, recs[i]!.time);
        assert.ok(back[i]!.bytes.equals(recs[i]!.bytes));
      }
      assert.equal(m.count, 12_000);
      assert.deepEqual([m.first_seq, m.last_seq, m.first_time, m.last_time], [1, 12_000, recs[0]!.time, recs.at(-1)!.time]);
      assert.equal(m.sha256, createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
      assert.equal(m.root, merkleRoot(recs.map((r) => leafHash(r.seq, r.bytes))).toString('hex'));
      assert.equal(m.codec, codec);
      assert.ok(fs.statSync(file).size < recs.reduce((n, r) => n + r.bytes.length, 0) / 3, 'compressed');
      assert.deepEqual(verifyArchive(file, m, [pub]), []);
      assert.deepEqual(JSON.parse(fs.readFileSync(manifestPathFor(file), 'utf8')), m);
    });
  }

  test('manifests chain: each names the previous one\'s hash; an edited manifest fails its signature', () => {
    const { key, pub, adir } = setup();
    const m1 = writeArchive(path.join(adir, 'a.sla'), records(10, 1), { key });
    const m2 = writeArchive(path.join(adir, 'b.sla'), records(10, 11), { key });
    assert.equal(m1.prev, null);
    assert.equal(m2.index, 2);
    assert.equal(m2.prev, manifestHash(m1));
    assert.deepEqual(readManifests(adir).manifests.map((x) => x.manifest.index), [1, 2]);
    const edited: Manifest = { ...m2, count: 9 };
    const p = verifyArchive(path.join(adir, 'b.sla'), edited, [pub]);
    assert.match(p[0]!.message, /manifest of b\.sla \(seq 11\.\.20\) has a bad signature/);
    const other = loadSigningKey(tempDir('archive-other'), true);
    assert.match(verifyArchive(path.join(adir, 'b.sla'), m2, [{ publicKey: other.publicKey, raw: other.raw, id: other.id }])[0]!.message, /signed by unknown key/);
  });

  test('a file cut inside its third block: the records after the last whole block are named', () => {
    const { key, pub, adir } = setup();
    const recs = records(20_000);
    const file = path.join(adir, 'cut.sla');
    const m = writeArchive(file, recs, { key });
    const whole = [...readArchive(file)].length;
    assert.equal(whole, 20_000);
    // Find the block boundaries by reading headers.
    const buf = fs.readFileSync(file);
    const starts: number[] = [];
    const counts: number[] = [];
    for (let pos = 10; pos < buf.length;) { starts.push(pos); counts.push(buf.readUInt32BE(pos + 4)); pos += 8 + buf.readUInt32BE(pos); }
    assert.ok(starts.length >= 3, `${starts.length} blocks`);
    fs.truncateSync(file, starts[2]! + 100);
    const keptSeq = counts[0]! + counts[1]!;
    const p = verifyArchive(file, m, [pub]);
    assert.equal(p.length, 1);
    assert.equal(p[0]!.kind, 'truncated');
    assert.deepEqual([p[0]!.from, p[0]!.to], [keptSeq + 1, 20_000]);
    assert.throws(() => [...readArchive(file)], (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_ARCHIVE' && /cut inside a block/.test(e.message));
  });

  test('an altered byte is named with the archive\'s range; a missing file too', () => {
    const { key, pub, adir } = setup();
    const file = path.join(adir, 'x.sla');
    const m = writeArchive(file, records(50, 101), { key });
    const b = fs.readFileSync(file);
    b[b.length - 10] ^= 1;
    fs.writeFileSync(file, b);
    const p = verifyArchive(file, m, [pub]);
    assert.equal(p.length, 1);
    assert.deepEqual([p[0]!.from, p[0]!.to], [101, 150]);
    fs.rmSync(file);
    assert.match(verifyArchive(file, m, [pub])[0]!.message, /x\.sla is missing: seq 101\.\.150 gone/);
  });

  test('records out of seq order are refused and leave no file behind', () => {
    const { key, adir } = setup();
    const recs = records(5);
    [recs[1], recs[2]] = [recs[2]!, recs[1]!];
    const file = path.join(adir, 'bad.sla');
    assert.throws(() => writeArchive(file, recs, { key }), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_ARCHIVE');
    assert.equal(fs.existsSync(file), false);
    assert.equal(fs.existsSync(`${file}.tmp`), false);
  });
});
