// The sealer: keys made at first start, checkpoints when due, durable and chained, restart, fail closed, rotation.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isSluiceError } from '../../../src/errors.js';
import { checkpointHash, checkpointToEvent, parseAnchor, readCheckpointFile, signedBytes } from '../../../src/store/seal/checkpoint.js';
import { exportPublicKey, loadTrustedKey, parsePublicKey, verifyBytes } from '../../../src/store/seal/keys.js';
import { leafHash, merkleRoot } from '../../../src/store/seal/merkle.js';
import { verifySeal } from '../../../src/store/seal/verify.js';
import { tempDir } from '../../helpers/wait.js';
import { openTestSealSource, rowBytes, TestStore } from './sqlite-fixture.js';

const cpFile = (s: TestStore) => path.join(s.storeDir, 'seal', 'checkpoints.ndjson');
const sealErr = (code: string) => (e: unknown) => isSluiceError(e) && e.code === code;

function verifyStore(s: TestStore) {
  const src = openTestSealSource(s.storeDir);
  try {
    return verifySeal(src.source, readCheckpointFile(cpFile(s))!.checkpoints, [loadTrustedKey(s.dataDir)]);
  } finally {
    src.close();
  }
}

describe('sealer', () => {
  test('first start makes the key (private 0600) and seals a start checkpoint; leaf hashes are RFC 6962 over seq ‖ bytes', async () => {
    const s = new TestStore(tempDir('seal'));
    const sealer = await s.open();
    const keyFile = path.join(s.dataDir, 'seal', 'signing.key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.match(exportPublicKey(s.dataDir), /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(s.checkpoints.length, 1);
    assert.equal(s.checkpoints[0]!.reason, 'start');
    assert.equal(s.checkpoints[0]!.size, 0);
    const h = sealer.append([{ seq: 1, bytes: Buffer.from('a') }]);
    assert.ok(h[0]!.equals(leafHash(1, Buffer.from('a'))));
    assert.throws(() => sealer.append([{ seq: 3, bytes: Buffer.from('c') }]), sealErr('SLUICE_ERR_SEAL_STATE'));
  });

  test('checkpoints when due: every N events, T after the first unsealed one, heartbeats while idle; chained and signed', async () => {
    const s = new TestStore(tempDir('seal'));
    const sealer = await s.open(20);
    assert.equal(sealer.due(), null);
    s.fill(20);
    assert.deepEqual(s.checkpoints.map((c) => [c.reason, c.size]), [['start', 0], ['count', 20]]);
    s.add(['one more']);
    assert.equal(sealer.due(), null);
    s.now += 9_999;
    assert.equal(sealer.due(), null);
    s.now += 1;
    assert.equal(sealer.due(), 'interval');
    sealer.checkpoint('interval');
    s.now += 59_999;
    assert.equal(sealer.due(), null);
    s.now += 1;
    assert.equal(sealer.due(), 'heartbeat');
    sealer.checkpoint('heartbeat');
    const cps = readCheckpointFile(cpFile(s))!.checkpoints;
    assert.equal(cps.length, 4);
    const key = loadTrustedKey(s.dataDir);
    for (let i = 0; i < cps.length; i++) {
      assert.equal(cps[i]!.index, i + 1);
      assert.ok(verifyBytes(signedBytes(cps[i]!), cps[i]!.signature, key));
      if (i > 0) assert.ok(cps[i]!.prev!.equals(checkpointHash(cps[i - 1]!)));
    }
    const rows = s.db.prepare('SELECT seq, time, text FROM events ORDER BY seq').all() as Array<{ seq: number; time: number; text: string }>;
    assert.ok(cps[3]!.root.equals(merkleRoot(rows.map((r) => leafHash(r.seq, rowBytes(r.time, r.text))))));
    await s.close();
    assert.equal(readCheckpointFile(cpFile(s))!.checkpoints.at(-1)!.reason, 'stop');
    assert.equal(verifyStore(s).ok, true);
  });

  test('restart continues the tree: from the frontier, and from stored hashes alone; a crash tail is sealed at start', async () => {
    const dir = tempDir('seal');
    const s = new TestStore(dir);
    await s.open(20);
    s.fill(45);
    await s.close();
    await s.open(20);
    s.fill(10);
    // Crash: no close; the 10 new rows are unsealed.
    s.sealer = null;
    const r1 = verifyStore(s);
    assert.equal(r1.ok, true);
    assert.equal(r1.unsealed?.count, 10);
    // Strip the frontiers: the sealer must rebuild from the stored hashes.
    const text = fs.readFileSync(cpFile(s), 'utf8').split('\n').filter(Boolean).map((l) => { const o = JSON.parse(l); delete o.frontier; return JSON.stringify(o); }).join('\n') + '\n';
    fs.writeFileSync(cpFile(s), text);
    const sealer = await s.open(20);
    assert.equal(sealer.size, 55);
    assert.equal(s.checkpoints.at(-1)!.size, 55);
    s.fill(30);
    await s.close();
    const r = verifyStore(s);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.unsealed, null);
    assert.equal(r.records, 85);
  });

  test('a rolled-back commit: the sealer returns to its savepoint and the seqs are reused', async () => {
    const s = new TestStore(tempDir('seal'));
    const sealer = await s.open(20);
    s.fill(5);
    const sp = sealer.savepoint();
    sealer.append([{ seq: 6, bytes: Buffer.from('never committed') }]);
    sealer.rollback(sp);
    assert.equal(sealer.size, 5);
    s.fill(20);
    await s.close();
    assert.equal(verifyStore(s).ok, true);
    const sealer2 = await s.open(20);
    const old = sealer2.savepoint();
    s.fill(20);
    assert.throws(() => sealer2.rollback(old), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_SEAL_STATE');
  });

  test('a checkpoint line cut by a crash is dropped at start', async () => {
    const s = new TestStore(tempDir('seal'));
    await s.open(20);
    s.fill(20);
    s.sealer = null;
    fs.appendFileSync(cpFile(s), '{"index":3,"size":2');
    await s.open(20);
    s.fill(3);
    await s.close();
    assert.equal(readCheckpointFile(cpFile(s))!.bad.length, 0);
    assert.equal(verifyStore(s).ok, true);
  });

  test('fail closed: a missing, corrupt or different key once checkpoints exist is an error, never unsealed', async () => {
    const dir = tempDir('seal');
    const s = new TestStore(dir);
    await s.open();
    s.fill(5);
    await s.close();
    const keyFile = path.join(dir, 'seal', 'signing.key');
    const good = fs.readFileSync(keyFile);
    fs.rmSync(keyFile);
    await assert.rejects(s.open(), sealErr('SLUICE_ERR_SEAL_KEY'));
    assert.equal(fs.existsSync(keyFile), false, 'no new key was made');
    fs.writeFileSync(keyFile, 'garbage', { mode: 0o600 });
    await assert.rejects(s.open(), sealErr('SLUICE_ERR_SEAL_KEY'));
    fs.chmodSync(keyFile, 0o000);
    if (process.getuid?.() !== 0) await assert.rejects(s.open(), sealErr('SLUICE_ERR_SEAL_KEY'));
    // Another valid ed25519 key is not the chain's key either.
    const other = new TestStore(tempDir('seal-other'));
    await other.open();
    await other.close();
    fs.chmodSync(keyFile, 0o600);
    fs.copyFileSync(path.join(other.dataDir, 'seal', 'signing.key'), keyFile);
    await assert.rejects(s.open(), sealErr('SLUICE_ERR_SEAL_KEY'));
    fs.writeFileSync(keyFile, good);
    await s.open();
    await s.close();
  });

  test('fail closed: checkpoints removed, or sealed rows missing, stop the sealer from starting', async () => {
    const s = new TestStore(tempDir('seal'));
    await s.open(20);
    s.fill(30);
    await s.close();
    const saved = fs.readFileSync(cpFile(s));
    fs.rmSync(cpFile(s));
    await assert.rejects(s.open(), sealErr('SLUICE_ERR_SEAL_STATE'));
    fs.writeFileSync(cpFile(s), saved);
    s.db.prepare("UPDATE meta SET v = 25 WHERE k = 'last_seq'").run();
    await assert.rejects(s.open(), sealErr('SLUICE_ERR_SEAL_STATE'));
  });

  test('key rotation: the old key signs a checkpoint naming the new one; later checkpoints verify with the new key', async () => {
    const s = new TestStore(tempDir('seal'));
    const sealer = await s.open(20);
    const firstKey = sealer.keyId;
    s.fill(30);
    const rot = sealer.rotateKey();
    assert.equal(rot.keyId, firstKey);
    assert.ok(rot.nextKey);
    assert.notEqual(sealer.keyId, firstKey);
    s.fill(30);
    await s.close();
    await s.open(20);
    s.fill(5);
    await s.close();
    const r = verifyStore(s);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(fs.existsSync(path.join(s.dataDir, 'seal', 'signing.key.next')), false);
  });

  test('checkpoints as events: fields carry size/root/signature; an anchor file of them parses back', async () => {
    const s = new TestStore(tempDir('seal'));
    await s.open(20);
    s.fill(20);
    const cp = s.checkpoints.at(-1)!;
    const ev = checkpointToEvent(cp, 'host-a').toJSON();
    assert.equal(ev.appname, 'sluice-seal');
    assert.equal(ev.fields.seal_size, 20);
    assert.equal(ev.fields.seal_root, cp.root.toString('hex'));
    assert.equal(ev.fields.seal_signature, cp.signature.toString('hex'));
    const back = parseAnchor(`{"message":"other event"}\n${JSON.stringify(ev)}\nnot json\n`);
    assert.equal(back.checkpoints.length, 1);
    assert.ok(signedBytes(back.checkpoints[0]!).equals(signedBytes(cp)));
    assert.ok(back.checkpoints[0]!.signature.equals(cp.signature));
    assert.equal(parsePublicKey(exportPublicKey(s.dataDir), 'exported').id, cp.keyId);
  });
});
