// The embedded store's write side: partitions by day, gap-free seq across restarts and crashes, sealed records.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { recordBytes, type StoredRow } from '../../../src/store/sqlite/record.js';
import { eventJson } from '../../../src/store/sqlite/event-form.js';
import { recordsInSeqOrder, maxSeq } from '../../../src/store/sqlite/scan.js';
import { listPartitions } from '../../../src/store/sqlite/schema.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { tempDir } from '../../helpers/wait.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

function open(dir: string, worker = true, sealers: TestSealer[] = []): Promise<EmbeddedStore> {
  return EmbeddedStore.open(dir, {
    worker,
    openSealer: async () => {
      const s = new TestSealer(testSealerOptions(dir));
      sealers.push(s);
      return s;
    },
  });
}

function rows(file: string): StoredRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM events ORDER BY seq').all() as StoredRow[];
  } finally {
    db.close();
  }
}

const leaf = (b: Buffer) => crypto.createHash('sha256').update(Buffer.of(0)).update(b).digest();

for (const worker of [true, false]) {
  test(`one batch over three days lands in three partitions with gap-free seq (${worker ? 'writer thread' : 'inline'})`, async () => {
    const dir = tempDir('store-days');
    const store = await open(dir, worker);
    const received = T0 + 5 * DAY;
    const batch = [
      parsed(rfc5424({ time: T0, msg: 'first day one' }), received),
      parsed(rfc5424({ time: T0 + DAY, msg: 'second day two' }), received),
      parsed(rfc5424({ time: T0 + 100, msg: 'third day one again' }), received),
      parsed(rfc5424({ time: null, msg: 'no timestamp: receive day' }), received),
      parsed(rfc5424({ time: T0 + DAY + 5, msg: 'fifth day two' }), received),
    ];
    await store.write(batch);
    assert.equal(store.lastSeq, 5);
    await store.close();
    const parts = listPartitions(dir).map((p) => p.day);
    assert.deepEqual(parts, ['2026-12-03', '2026-11-29', '2026-11-28']);
    const all = listPartitions(dir).flatMap((p) => rows(p.file).map((r) => ({ ...r, day: p.day })));
    assert.deepEqual(all.map((r) => r.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5]);
    const byMsg = new Map(all.map((r) => [eventJson(r).message!, r]));
    assert.equal(byMsg.get('first day one')!.day, '2026-11-28');
    assert.equal(byMsg.get('third day one again')!.day, '2026-11-28');
    assert.equal(byMsg.get('second day two')!.day, '2026-11-29');
    assert.equal(byMsg.get('no timestamp: receive day')!.day, '2026-12-03');
    assert.equal(byMsg.get('no timestamp: receive day')!.time, received);
    // Within one day, seq follows arrival order.
    assert.ok(byMsg.get('first day one')!.seq < byMsg.get('third day one again')!.seq);
    for (const r of all) {
      assert.equal(r.host, 'web-01');
      assert.equal(r.app, 'nginx');
      assert.equal(r.facility, 16);
      assert.equal(r.severity, 6);
      assert.equal(r.source, 'net');
      assert.equal(r.transport, 'tcp');
      assert.equal(r.peer, '127.0.0.1');
      assert.match(r.raw!.toString(), /^<134>1 /);
      // The stored hash is the leaf hash of the record bytes the row gives back.
      assert.deepEqual(r.hash, leaf(recordBytes(r)));
    }
  });
}

test('record bytes change with any column, and the seal source yields records in seq order', async () => {
  const dir = tempDir('store-records');
  const store = await open(dir);
  const evs = [];
  for (let i = 0; i < 50; i++) evs.push(parsed(rfc5424({ time: T0 + (i % 3) * DAY + i, msg: `event ${i}` }), T0));
  await store.write(evs);
  await store.close();
  const recs = [...recordsInSeqOrder(dir, 0)];
  assert.deepEqual(recs.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  for (const r of recs) {
    assert.deepEqual(r.storedHash, leaf(r.bytes));
    assert.match(r.where, /^\d{4}-\d{2}-\d{2}\.db$/);
  }
  const one = rows(listPartitions(dir)[0]!.file)[0]!;
  const base = recordBytes(one);
  for (const [k, v] of [['host', 'web-02'], ['event', one.event.replace('[1,', '[2,')], ['raw', Buffer.from('x')], ['severity', 3], ['time', one.time + 1]] as const) {
    assert.notDeepEqual(recordBytes({ ...one, [k]: v }), base, `editing ${k} changes the record bytes`);
  }
});

test('restart continues seq without gaps; after a crash the sealer is caught up from the stored rows', async () => {
  const dir = tempDir('store-restart');
  const sealers: TestSealer[] = [];
  let store = await open(dir, true, sealers);
  await store.write(Array.from({ length: 10 }, (_, i) => parsed(rfc5424({ time: T0 + i, msg: `a ${i}` }), T0)));
  await store.close();
  assert.equal(sealers[0]!.checkpoints.at(-1)?.size, 10, 'a clean stop seals everything');

  store = await open(dir, false, sealers);
  assert.equal(store.lastSeq, 10);
  await store.write(Array.from({ length: 7 }, (_, i) => parsed(rfc5424({ time: T0 + 100 + i, msg: `b ${i}` }), T0)));
  // A crash: the store is abandoned without close (same day, fewer than every_events: no checkpoint).
  const crashed = sealers[1]!;
  assert.equal(crashed.size, 17);

  store = await open(dir, false, sealers);
  const fresh = sealers[2]!;
  assert.equal(store.lastSeq, 17);
  assert.equal(fresh.size, 17, 'the new sealer was given the committed records after its last checkpoint');
  assert.equal(fresh.checkpoints.at(-1)?.reason, 'start');
  await store.write(Array.from({ length: 3 }, (_, i) => parsed(rfc5424({ time: T0 + DAY + 100 + i, msg: `c ${i}` }), T0)));
  await store.close();
  assert.deepEqual([...recordsInSeqOrder(dir, 0)].map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(maxSeq(dir), 20);
});

test('a store directory copied elsewhere opens and continues (no absolute paths inside)', async () => {
  const dir = tempDir('store-copy');
  const store = await open(dir);
  await store.write([parsed(rfc5424({ time: T0, msg: 'copied' }), T0)]);
  await store.close();
  const copy = path.join(tempDir('store-copy-dest'), 'moved');
  fs.cpSync(dir, copy, { recursive: true });
  fs.rmSync(dir, { recursive: true, force: true });
  const again = await open(copy);
  assert.equal(again.lastSeq, 1);
  await again.write([parsed(rfc5424({ time: T0, msg: 'after the move' }), T0)]);
  await again.close();
  assert.deepEqual([...recordsInSeqOrder(copy, 0)].map((r) => r.seq), [1, 2]);
});

test('an empty batch writes nothing; events without message or raw bytes are stored', async () => {
  const dir = tempDir('store-empty');
  const store = await open(dir);
  await store.write([]);
  assert.equal(store.lastSeq, 0);
  const { LogEvent } = await import('../../../src/event/log-event.js');
  const ev = LogEvent.fromValues({ name: 'api', transport: 'http', address: null, port: null, tlsPeer: null }, T0, { hostname: 'h', message: null, fields: { a: 1 } });
  await store.write([ev]);
  await store.close();
  const r = rows(listPartitions(dir)[0]!.file)[0]!;
  assert.equal(r.raw, null);
  assert.equal(r.time, T0);
  assert.deepEqual(eventJson(r).fields, { a: 1 });
});

test('header fields copied as bytes (ASCII), decoded (UTF-8) or replaced (invalid UTF-8) give the record bytes verify recomputes', async () => {
  const dir = tempDir('store-header-bytes');
  const store = await open(dir);
  const lines = [
    Buffer.from(rfc5424({ time: T0, host: 'web-01', app: 'nginx', procid: '42', msgid: 'ID7', msg: 'ascii' })),
    Buffer.from(rfc5424({ time: T0 + 1, host: 'hôte-ü', app: 'démon', procid: 'p€', msgid: 'ñ', msg: 'utf-8' })),
    // 0xff and a lone continuation byte: not UTF-8, read as U+FFFD.
    Buffer.concat([Buffer.from('<134>1 2026-11-28T12:00:00.002Z web'), Buffer.from([0xff, 0x80]), Buffer.from(' app'), Buffer.from([0xc3]), Buffer.from(' - - - bad bytes')]),
  ];
  await store.write(lines.map((l) => parsed(l, T0)));
  await store.close();
  const stored = rows(listPartitions(dir)[0]!.file);
  assert.deepEqual(stored.map((r) => [r.host, r.app, r.procid, r.msgid]), [
    ['web-01', 'nginx', '42', 'ID7'],
    ['hôte-ü', 'démon', 'p€', 'ñ'],
    ['web\ufffd\ufffd', 'app\ufffd', null, null],
  ]);
  for (const r of stored) assert.deepEqual(r.hash, leaf(recordBytes(r)), `seq ${r.seq}: the stored hash is the leaf of the row as stored`);
});

test('pipelined writes: the second batch is encoded before the first commits; each checkpoint signs only its own batch', async () => {
  const dir = tempDir('store-pipelined');
  const sealers: TestSealer[] = [];
  const store = await EmbeddedStore.open(dir, {
    openSealer: async () => {
      const s = new TestSealer({ ...testSealerOptions(dir), everyEvents: 3 });
      sealers.push(s);
      return s;
    },
  });
  const batch = (tag: string) => Array.from({ length: 5 }, (_, i) => parsed(rfc5424({ time: T0 + i, msg: `${tag} event ${i}` }), T0));
  const first = store.write(batch('first'));
  const second = store.write(batch('second'));
  await Promise.all([first, second]);
  const sizes = sealers[0]!.checkpoints.map((c) => c.size);
  // With the second batch's leaves in the tree already, a checkpoint over the whole tree after
  // the first commit would say 10 twice.
  assert.deepEqual(sizes, [5, 10]);
  await store.close();
  assert.deepEqual(rows(listPartitions(dir)[0]!.file).map((r) => r.seq), Array.from({ length: 10 }, (_, i) => i + 1));
});

test('a failed commit fails the batch behind it too; both written again leave no gap in seq', async () => {
  const dir = tempDir('store-refused');
  const store = await open(dir);
  const bad = Date.UTC(2026, 10, 20, 12);
  // A directory where the day's database would be: opening that partition fails.
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(dir, '2026-11-20.db'));
  fs.mkdirSync(path.join(dir, '2026-11-20.text.db'));
  const a = [parsed(rfc5424({ time: bad, msg: 'on the bad day' }), bad)];
  const b = [parsed(rfc5424({ time: T0, msg: 'on a good day' }), T0)];
  const results = await Promise.allSettled([store.write(a), store.write(b)]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'], 'the second must not commit after the first failed');
  fs.rmSync(path.join(dir, '2026-11-20.db'), { recursive: true });
  fs.rmSync(path.join(dir, '2026-11-20.text.db'), { recursive: true });
  assert.equal(maxSeq(dir), 0, 'nothing of either batch was committed');
  await store.write(a);
  await store.write(b);
  await store.close();
  const seqs = [...recordsInSeqOrder(dir, 0)].map((r) => r.seq);
  assert.deepEqual(seqs, [1, 2]);
});
