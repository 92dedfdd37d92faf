// The store destination: ok only after the commit, durable acks end to end, the registry entry.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import { destinationKind } from '../../src/destinations/index.js';
import { StoreDestination, storeDestinationSchema } from '../../src/destinations/store/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { Metrics } from '../../src/metrics/registry.js';
import { parseQuery } from '../../src/store/query/parse.js';
import { SqliteStoreReader } from '../../src/store/sqlite/reader.js';
import { listPartitions } from '../../src/store/sqlite/schema.js';
import { maxSeq, recordsInSeqOrder } from '../../src/store/sqlite/scan.js';
import { endpoint, startPipeline } from '../helpers/daemon.js';
import { parsed, rfc5424 } from '../helpers/store-events.js';
import { tempDir, waitFor } from '../helpers/wait.js';


test('the store kind is registered as durable with its schema defaults', () => {
  const k = destinationKind('store');
  assert.ok(k);
  assert.equal(k.durable, true);
  const c = storeDestinationSchema.parse({ type: 'store', checkpoint: { every: '5s' } });
  assert.equal(c.checkpoint.every, 5000);
  assert.equal(c.checkpoint.every_events, 10_000);
  assert.equal(c.path, undefined);
  assert.ok(c.batch_events >= 4096, 'batches large enough for throughput');
  assert.throws(() => storeDestinationSchema.parse({ type: 'store', retention: { max_age: 'soon' } }));
});

test('send answers ok only once the batch is committed: another connection already sees it', async () => {
  const dataDir = tempDir('store-dest');
  const cfg = storeDestinationSchema.parse({ type: 'store' });
  const dest = new StoreDestination(cfg, { name: 'store', metrics: new Metrics(), dataDir, baseDir: dataDir });
  assert.equal(dest.dir, path.join(dataDir, 'store'));
  await dest.start();
  const t = Date.now();
  const batch = Array.from({ length: 300 }, (_, i) => parsed(rfc5424({ time: t + i, msg: `committed ${i}` }), t));
  const seenAtOk = await new Promise<{ r: SendResult; seq: number }>((resolve) => dest.send(batch, (r) => resolve({ r, seq: maxSeq(dest.dir) })));
  assert.deepEqual(seenAtOk.r, { status: 'ok' });
  assert.equal(seenAtOk.seq, 300, 'all 300 rows visible to a separate reader when ok arrives');
  await dest.stop();
  const after = await new Promise<SendResult>((resolve) => dest.send(batch, resolve));
  assert.equal(after.status, 'retry', 'a stopped store asks for a retry, never ok');
  assert.equal(maxSeq(dest.dir), 300);
});

test('TCP with close_confirmation into the store: every confirmed message is committed when the sender counts it', { timeout: 60_000 }, async () => {
  const dir = tempDir('store-pipeline');
  const p = await startPipeline(`
api: false
data_dir: ${dir}/data
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"], close_confirmation: true }
destinations:
  store: { type: store, path: ${dir}/store }
log:
  - { from: net, to: store }
`, dir);
  try {
    const ep = endpoint(p, 'net', 'tcp');
    let confirmedAt = -1;
    let committedWhenConfirmed = -1;
    const report = await send(`tcp://${ep.host}:${ep.port}`, { count: 5000, rate: 0, size: 200, format: 'rfc5424', connections: 1, confirmEvery: 1000 }, (n) => {
      if (n >= 1000 && confirmedAt < 0) { confirmedAt = n; committedWhenConfirmed = maxSeq(path.join(dir, 'store')); }
    });
    assert.equal(report.sent, 5000);
    assert.equal(report.errors, 0);
    // The sender counts a segment only after the close confirmation, which waits for the commit.
    assert.ok(committedWhenConfirmed >= confirmedAt, `committed ${committedWhenConfirmed} >= confirmed ${confirmedAt}`);
    await waitFor(() => maxSeq(path.join(dir, 'store')) >= 5000, 'all stored', 10_000);
    const seqs = new Set<number>();
    for (const r of recordsInSeqOrder(path.join(dir, 'store'), 0)) {
      const m = /seq=(\d+)/.exec(r.bytes.toString('latin1'));
      if (m) seqs.add(Number(m[1]));
    }
    assert.equal(seqs.size, 5000);
  } finally {
    await p.stop();
  }
});

test('retention and archive in the config: at start, days past archive.after are archived and leave the database', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('store-dest-retention');
  const cfg = storeDestinationSchema.parse({ type: 'store', retention: { max_age: '365d' }, archive: { after: '7d' } });
  const ctx = { name: 'store', metrics: new Metrics(), dataDir, baseDir: dataDir };
  const first = new StoreDestination(cfg, ctx);
  await first.start();
  const old = Date.now() - 40 * 86_400_000;
  const batch = [parsed(rfc5424({ time: old, msg: 'forty days ago' }), Date.now()), parsed(rfc5424({ time: Date.now(), msg: 'today' }), Date.now())];
  assert.deepEqual(await new Promise<SendResult>((resolve) => first.send(batch, resolve)), { status: 'ok' });
  await first.stop();
  const oldDay = new Date(old).toISOString().slice(0, 10);
  assert.ok(listPartitions(first.dir).some((p) => p.day === oldDay), 'the old day is stored first');
  const second = new StoreDestination(cfg, ctx);
  await second.start();
  try {
    await waitFor(() => !listPartitions(second.dir).some((p) => p.day === oldDay), 'the old day to leave the database', 20_000);
    assert.ok(fs.existsSync(path.join(second.dir, 'archive', `${oldDay}.sla.manifest.json`)), 'archived with its manifest');
    const r = await new SqliteStoreReader(second.dir).search({ query: parseQuery('forty'), range: { from: 0, to: Date.now() + 86_400_000 }, limit: 5, archives: true });
    assert.equal(r.events[0]?.archived, true);
  } finally {
    await second.stop();
  }
});
