// `sluice verify` over a real SQLite store and real archive files, after each kind of tampering.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runVerify, type VerifyCliOptions } from '../../src/cli/verify.js';
import { checkpointHash, checkpointToEvent, checkpointToJson, readCheckpointFile, signedBytes } from '../../src/store/seal/checkpoint.js';
import { keyIdOf, rawPublicKey, signBytes, type SealKey } from '../../src/store/seal/keys.js';
import { CompactRange, leafHash } from '../../src/store/seal/merkle.js';
import type { Checkpoint } from '../../src/store/seal/types.js';
import { SLUICE_BIN } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wait.js';
import { openTestSealSource, rowBytes, TestStore } from '../store/seal/sqlite-fixture.js';

const UNCHECKED_81_90 = 'note: seq 81..90 are not covered by any checkpoint that verifies: checkpoint #6 sealed them together with the missing seq 91..100 (records appended after a truncation look the same)';
const cpFile = (s: TestStore) => path.join(s.storeDir, 'seal', 'checkpoints.ndjson');

function verify(s: TestStore, extra: Partial<VerifyCliOptions> = {}, now = s.now) {
  const r = runVerify({ store: s.storeDir, ...extra }, { openStoreSealSource: openTestSealSource, now: () => now });
  return { ...r, lines: r.stdout.split('\n').filter(Boolean) };
}

/** 100 events, a checkpoint every 20, a clean stop. */
async function store100(): Promise<TestStore> {
  const s = new TestStore(tempDir('verify'));
  await s.open(20);
  s.fill(100);
  await s.close();
  return s;
}

function problemLines(lines: string[]): string[] {
  return lines.filter((l) => !l.startsWith('note:') && !l.startsWith('intact') && !l.startsWith('NOT intact') && !l.startsWith('unsealed tail'));
}

function writeCheckpoints(s: TestStore, cps: Checkpoint[]): void {
  fs.writeFileSync(cpFile(s), cps.map((c) => `${JSON.stringify(checkpointToJson(c))}\n`).join(''));
}

describe('sluice verify: tamper evidence', () => {
  test('an untouched store verifies: exit 0, "intact"', async () => {
    const s = await store100();
    const r = verify(s);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.lines.at(-1)!, /^intact: 100 records, 7 checkpoints \(last #7, 100 records/);
    assert.deepEqual(problemLines(r.lines), []);
  });

  test('a data_dir copied elsewhere verifies as it is (no absolute paths inside)', async () => {
    const s = await store100();
    s.archive('old', 1, 20);
    s.db.close();
    const copy = path.join(tempDir('verify-copy'), 'moved');
    fs.cpSync(s.dataDir, copy, { recursive: true });
    fs.rmSync(s.dataDir, { recursive: true });
    const r = runVerify({ store: path.join(copy, 'store') }, { openStoreSealSource: openTestSealSource });
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^intact: 100 records/m);
  });

  test("one record's text edited: exit 1, 'altered: seq 42'", async () => {
    const s = await store100();
    s.db.prepare("UPDATE events SET text = 'event 42 user=mallory action=login' WHERE seq = 42").run();
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(problemLines(r.lines), ["altered: seq 42: the record's bytes do not match its stored hash (db)"]);
    assert.deepEqual(r.report!.problems.map((p) => [p.kind, p.from, p.to]), [['altered', 42, 42]]);
  });

  test('text and stored hash both rewritten: the checkpoint root names the range, narrowed by the frontier', async () => {
    const s = await store100();
    const text = 'event 42 user=mallory action=login';
    const t = (s.db.prepare('SELECT time FROM events WHERE seq = 42').get() as { time: number }).time;
    s.db.prepare('UPDATE events SET text = ?, hash = ? WHERE seq = 42').run(text, leafHash(42, rowBytes(t, text)));
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    const p = r.report!.problems;
    assert.equal(p.length, 1, r.stdout);
    assert.equal(p[0]!.kind, 'altered');
    // Checkpoint at 40 matches; the one at 60 covers 33..48 by its second subtree.
    assert.deepEqual([p[0]!.from, p[0]!.to], [41, 48]);
    assert.match(r.lines[0]!, /^altered: within seq 41\.\.48: .*checkpoint #4's root/);
  });

  test("one record deleted: exit 1, 'missing: seq 57'", async () => {
    const s = await store100();
    s.db.prepare('DELETE FROM events WHERE seq = 57').run();
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(problemLines(r.lines), ['missing: seq 57 (deleted)']);
  });

  test("two records' contents swapped: exit 1, 'seq 30 and 70 swapped'", async () => {
    const s = await store100();
    const a = s.db.prepare('SELECT text, hash FROM events WHERE seq = 30').get() as { text: string; hash: Buffer };
    const b = s.db.prepare('SELECT text, hash FROM events WHERE seq = 70').get() as { text: string; hash: Buffer };
    // Same batch time? not needed: the row's time is part of its bytes and moves with it.
    s.db.prepare('UPDATE events SET text = ? WHERE seq = 30').run(b.text);
    s.db.prepare('UPDATE events SET text = ? WHERE seq = 70').run(a.text);
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    const lines = problemLines(r.lines);
    assert.ok(lines.length >= 1);
    for (const l of lines) assert.match(l, /seq 30\b.*\b70\b/);
    assert.ok(r.report!.problems.every((p) => p.from === 30 && p.to === 70), r.stdout);
  });

  test("two rows' sequence numbers swapped: exit 1, reordered seq 30 and 70", async () => {
    const s = await store100();
    s.db.prepare('UPDATE events SET seq = CASE seq WHEN 30 THEN 70 ELSE 30 END WHERE seq IN (30, 70)').run();
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.ok(r.report!.problems.length >= 1);
    for (const p of r.report!.problems) {
      assert.equal(p.kind, 'reordered');
      assert.deepEqual([p.from, p.to], [30, 70]);
    }
    assert.ok(r.lines.some((l) => l === 'reordered: seq 30 and 70 swapped (db)'), r.stdout);
  });

  test("the newest 10 cut off: exit 1, 'truncated: seq 91..100 missing, sealed by checkpoint #6'", async () => {
    const s = await store100();
    s.db.prepare('DELETE FROM events WHERE seq > 90').run();
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(problemLines(r.lines), ['truncated: seq 91..100 missing, sealed by checkpoint #6']);
  });

  test('CVE-2023-31438: sealed entries truncated, new unsealed ones appended: truncation and the unsealed ones named', async () => {
    const s = await store100();
    s.db.prepare('DELETE FROM events WHERE seq > 80').run();
    const ins = s.db.prepare('INSERT INTO events (seq, time, text, hash) VALUES (?, ?, ?, ?)');
    for (let q = 81; q <= 90; q++) ins.run(q, s.now, `forged ${q}`, leafHash(q, rowBytes(s.now, `forged ${q}`)));
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(problemLines(r.lines), ['truncated: seq 91..100 missing, sealed by checkpoint #6']);
    assert.ok(r.lines.includes(UNCHECKED_81_90), r.stdout);
  });

  test('CVE-2023-31438 with the newest checkpoints removed too: the anchor proves it; --strict fails on the tail; alone only notes', async () => {
    const s = await store100();
    const anchor = path.join(s.dataDir, 'anchor.ndjson');
    // What a SIEM received: every checkpoint, as events.
    fs.writeFileSync(anchor, s.checkpoints.map((c) => `${JSON.stringify(checkpointToEvent(c, 'h').toJSON())}\n`).join(''));
    s.db.prepare('DELETE FROM events WHERE seq > 80').run();
    const ins = s.db.prepare('INSERT INTO events (seq, time, text, hash) VALUES (?, ?, ?, ?)');
    for (let q = 81; q <= 90; q++) ins.run(q, s.now, `forged ${q}`, leafHash(q, rowBytes(s.now, `forged ${q}`)));
    writeCheckpoints(s, readCheckpointFile(cpFile(s))!.checkpoints.filter((c) => c.size <= 80 && c.reason !== 'stop'));

    const later = s.now + 3_600_000;
    const alone = verify(s, {}, later);
    assert.equal(alone.exitCode, 0, 'on the host alone this looks like a crash');
    assert.match(alone.stdout, /unsealed tail: 10 records/);
    assert.match(alone.stdout, /note: the last checkpoint #5 \(count, .*\) is 3600 s old and not a clean stop/);

    assert.equal(verify(s, { strict: true }, later).exitCode, 1);
    assert.match(verify(s, { strict: true }, later).stdout, /^unsealed: seq 81\.\.90 \(10 records/m);

    const anchored = verify(s, { anchor: [anchor] }, later);
    assert.equal(anchored.exitCode, 1);
    const lines = problemLines(anchored.lines);
    assert.ok(lines.includes('truncated: seq 91..100 missing, sealed by checkpoint #6'), anchored.stdout);
    assert.ok(lines.some((l) => /^truncated: anchored checkpoints #6\.\.#7 \(up to size 100, .*\) missing from the local chain, which ends at #5/.test(l)), anchored.stdout);
    assert.ok(anchored.lines.includes(UNCHECKED_81_90), anchored.stdout);

    // Without the forged records: nothing unsealed, only a chain that stopped; --strict fails on that.
    s.db.prepare('DELETE FROM events WHERE seq > 80').run();
    assert.equal(verify(s, {}, later).exitCode, 0);
    const strict = verify(s, { strict: true }, later);
    assert.equal(strict.exitCode, 1);
    assert.match(strict.stdout, /^unsealed: the chain ends at checkpoint #5 \(count, 3600 s ago\) without a clean stop/m);
    assert.equal(verify(s, { strict: true }, s.now + 60_000).exitCode, 0, 'a daemon between heartbeats is not stale');
  });

  test('CVE-2023-31439: old entries re-sealed with the newer key fail (the key was introduced after them)', async () => {
    const s = new TestStore(tempDir('verify'));
    const sealer = await s.open(20);
    s.fill(60);
    sealer.rotateKey();
    s.fill(40);
    await s.close();
    assert.equal(verify(s).exitCode, 0);
    const exportedKey = path.join(s.dataDir, 'pinned.pub');
    fs.copyFileSync(path.join(s.dataDir, 'seal', 'root.pub'), exportedKey);

    // The attacker holds the current key (K2) but not K1, edits seq 10 and re-signs everything.
    const pem = fs.readFileSync(path.join(s.dataDir, 'seal', 'signing.key'), 'utf8');
    const pk = createPrivateKey(pem);
    const raw = rawPublicKey((await import('node:crypto')).createPublicKey(pk));
    const k2: SealKey = { privateKey: pk, publicKey: (await import('node:crypto')).createPublicKey(pk), raw, id: keyIdOf(raw) };
    const t = (s.db.prepare('SELECT time FROM events WHERE seq = 10').get() as { time: number }).time;
    const forged = 'event 10 user=alice action=logout';
    s.db.prepare('UPDATE events SET text = ?, hash = ? WHERE seq = 10').run(forged, leafHash(10, rowBytes(t, forged)));
    const rows = s.db.prepare('SELECT seq, time, text FROM events ORDER BY seq').all() as Array<{ seq: number; time: number; text: string }>;
    const reseal = (orig: Checkpoint[], keepRotation: boolean): Checkpoint[] => {
      const out: Checkpoint[] = [];
      const tree = new CompactRange();
      let i = 0;
      for (const c of orig) {
        while (tree.size < c.size) { const r = rows[i++]!; tree.append(leafHash(r.seq, rowBytes(r.time, r.text))); }
        const base = { index: out.length + 1, size: c.size, root: tree.root(), time: c.time, reason: c.reason, prev: out.length ? checkpointHash(out.at(-1)!) : null, keyId: k2.id, nextKey: keepRotation ? c.nextKey ?? null : null };
        out.push({ ...base, frontier: tree.frontier(), signature: signBytes(signedBytes(base), k2) });
      }
      return out;
    };
    const orig = readCheckpointFile(cpFile(s))!.checkpoints;

    writeCheckpoints(s, reseal(orig, true));
    const a = verify(s);
    assert.equal(a.exitCode, 1);
    const keyLines = problemLines(a.lines).filter((l) => l.startsWith('key:'));
    assert.ok(keyLines.length > 0, a.stdout);
    assert.match(keyLines[0]!, /^key: checkpoint #1 .* signed by the wrong key: key [0-9a-f]{16} was introduced only by checkpoint #5 \(size 60\): records sealed before it cannot be re-sealed with it/);
    for (let i = 1; i <= 5; i++) assert.ok(keyLines.some((l) => l.startsWith(`key: checkpoint #${i} `) && l.includes('introduced only by checkpoint #5')), `#${i}: ${a.stdout}`);

    writeCheckpoints(s, reseal(orig, false));
    const b = verify(s);
    assert.equal(b.exitCode, 1);
    assert.match(b.stdout, /^key: checkpoint #1 \(empty\) is signed by the wrong key: key [0-9a-f]{16} is unknown/m);

    // Replacing root.pub on the host as well defeats the local check; a pinned copy does not.
    fs.writeFileSync(path.join(s.dataDir, 'seal', 'root.pub'), k2.publicKey.export({ format: 'pem', type: 'spki' }));
    assert.equal(verify(s).exitCode, 0, 'undetectable on the host alone (documented)');
    const pinned = verify(s, { key: exportedKey });
    assert.equal(pinned.exitCode, 1);
    assert.match(pinned.stdout, /^key: checkpoint #1 /m);
  });

  test('a checkpoint whose signature fails, and a broken chain link, are named', async () => {
    const s = await store100();
    const cps = readCheckpointFile(cpFile(s))!.checkpoints;
    const bad = cps.map((c) => ({ ...c }));
    bad[3] = { ...bad[3]!, root: Buffer.alloc(32, 7) };
    writeCheckpoints(s, bad);
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.ok(r.lines.includes('bad_signature: checkpoint #4 (size 60) does not verify with key ' + cps[0]!.keyId), r.stdout);
    assert.ok(r.lines.some((l) => l.startsWith("bad_chain: checkpoint #5's link to #4 is broken")), r.stdout);
    writeCheckpoints(s, cps.filter((c) => c.index !== 3));
    assert.match(verify(s).stdout, /^bad_chain: checkpoints out of sequence: #3\.\.#3 were removed/m);
  });
});

describe('sluice verify: archives and retention', () => {
  test('archived ranges verify, and a cut archive file is named by its seq range', async () => {
    const s = await store100();
    s.archive('2026-11-30', 1, 40);
    s.archive('2026-12-01a', 41, 60);
    const ok = verify(s);
    assert.equal(ok.exitCode, 0, ok.stdout);
    assert.equal(ok.report!.records, 100);
    const file = path.join(s.storeDir, 'archive', '2026-12-01a.sla');
    fs.truncateSync(file, fs.statSync(file).size - 9);
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    const lines = problemLines(r.lines);
    assert.ok(lines.some((l) => /^truncated: archive 2026-12-01a\.sla is cut \(\d+ of \d+ bytes\): seq 41\.\.60 missing from it$/.test(l)), r.stdout);
    assert.ok(lines.includes('missing: seq 41..60 (deleted)'), r.stdout);
  });

  test('an altered archive file is named; a removed manifest leaves the range missing', async () => {
    const s = await store100();
    s.archive('a', 1, 40);
    const file = path.join(s.storeDir, 'archive', 'a.sla');
    const buf = fs.readFileSync(file);
    buf[buf.length - 3] ^= 0xff;
    fs.writeFileSync(file, buf);
    const r = verify(s);
    assert.equal(r.exitCode, 1);
    assert.ok(r.report!.problems.some((p) => p.from === 1 && p.to === 40 && /a\.sla/.test(p.message)), r.stdout);
    fs.rmSync(`${file}.manifest.json`);
    const r2 = verify(s);
    assert.equal(r2.exitCode, 1);
    assert.ok(problemLines(r2.lines).includes('missing: seq 1..40 (deleted)'), r2.stdout);
  });

  test('retention without archives: a signed drop manifest makes the range "dropped", not "missing"', async () => {
    const s = await store100();
    s.drop('2026-11-29', 1, 20);
    const r = verify(s);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^note: seq 1\.\.20 left the store by retention \(drop manifest 2026-11-29\.drop\.manifest\.json\)$/m);
    fs.rmSync(path.join(s.storeDir, 'archive', '2026-11-29.drop.manifest.json'));
    assert.deepEqual(problemLines(verify(s).lines), ['missing: seq 1..20 (deleted)']);
  });
});

describe('sluice verify: cannot check (exit 2) and the command line', () => {
  test('no key, no store, unreadable store: exit 2 with the reason', async () => {
    const s = await store100();
    fs.copyFileSync(path.join(s.dataDir, 'seal', 'root.pub'), path.join(s.dataDir, 'root.bak'));
    fs.rmSync(path.join(s.dataDir, 'seal', 'root.pub'));
    const a = verify(s);
    assert.equal(a.exitCode, 2);
    assert.match(a.stderr, /cannot check: SLUICE_ERR_SEAL_KEY: cannot read the seal's public key/);
    fs.copyFileSync(path.join(s.dataDir, 'root.bak'), path.join(s.dataDir, 'seal', 'root.pub'));
    s.db.close();
    fs.writeFileSync(path.join(s.storeDir, 'events.db'), 'not a database at all, just text'.repeat(200));
    const b = verify(s);
    assert.equal(b.exitCode, 2, b.stdout);
    assert.match(b.stderr, /cannot check/);
    const c = runVerify({ store: path.join(s.dataDir, 'nope'), keyDir: s.dataDir }, { openStoreSealSource: openTestSealSource });
    assert.equal(c.exitCode, 2);
    assert.match(c.stderr, /no store at/);
  });

  test('sluice verify --export-key prints the PEM; --json prints the report; a build without a store backend exits 2', async () => {
    const s = await store100();
    const run = (args: string[]) => spawnSync(process.execPath, [SLUICE_BIN, 'verify', ...args], { encoding: 'utf8' });
    const k = run(['--store', s.storeDir, '--export-key']);
    assert.equal(k.status, 0, k.stderr);
    assert.equal(k.stdout, fs.readFileSync(path.join(s.dataDir, 'seal', 'root.pub'), 'utf8'));
    const j = runVerify({ store: s.storeDir, json: true }, { openStoreSealSource: openTestSealSource });
    const rep = JSON.parse(j.stdout) as { ok: boolean; records: number };
    assert.deepEqual([rep.ok, rep.records], [true, 100]);
    const none = run(['--store', s.storeDir]);
    if (none.status !== 0) {
      // Until the store registers its SealSource in this build.
      assert.equal(none.status, 2, none.stderr);
      assert.match(none.stderr, /cannot check/);
    }
    const nokey = run(['--store', s.storeDir, '--key-dir', path.join(s.dataDir, 'elsewhere')]);
    assert.equal(nokey.status, 2);
  });
});
