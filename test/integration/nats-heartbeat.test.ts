// Issue 14: "missed heartbeats recreate the consumer". A nats-server of the test's own is frozen
// (SIGSTOP) for longer than the pull's heartbeat window and thawed, then the durable is deleted
// under the source: each time the source sets its pull (and the consumer) up again, counts it in
// sluice_consumer_recoveries_total, and goes on consuming with nothing lost.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { connect, StorageType, type NatsConnection } from 'nats';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import type { NatsSource } from '../../src/sources/nats/index.js';
import { NatsServer } from '../helpers/brokers.js';
import { freePort, startPipeline } from '../helpers/daemon.js';
import { havePeer } from '../helpers/peers.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';
import fs from 'node:fs';

let server: NatsServer | null = null;
let agg: Pipeline | null = null;
let nc: NatsConnection | null = null;
after(async () => {
  const pid = server?.proc?.pid;
  if (pid !== undefined) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
  await agg?.stop();
  await nc?.close().catch(() => {});
  await server?.kill();
});

/** How many times each event number reached the file. */
function counts(file: string): Map<number, number> {
  const seen = new Map<number, number>();
  for (const l of readLines(file)) {
    const m = /^event (\d+)$/.exec(l);
    if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
  }
  return seen;
}

test('missed heartbeats and a deleted consumer: the nats source sets its pull up again, counts it, loses nothing', { timeout: 120_000 }, async (t) => {
  if (!havePeer(t, 'nats-server', fs.existsSync('/usr/sbin/nats-server'), '/usr/sbin/nats-server is not installed')) return;
  const dir = tempDir('nats-heartbeat');
  server = new NatsServer('hb', await freePort(), path.join(dir, 'nats'), null, []);
  await server.start();
  nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'HB', subjects: ['hb.>'], storage: StorageType.File });
  const js = nc.jetstream();
  let next = 0;
  const publish = async (n: number): Promise<void> => {
    for (const end = next + n; next < end; next++) await js.publish('hb.x', Buffer.from(`<13>1 - h app - - - event ${next}`));
  };

  const out = path.join(dir, 'out.log');
  agg = await startPipeline(`
api: false
data_dir: ${dir}/agg
sources:
  bus: { type: nats, url: ${server.url}, stream: HB, consumer: agg, idle_heartbeat: 500ms, pull_expires: 2s, connect_timeout: 1s }
destinations:
  out: { type: file, path: "${out}", template: "\${MSG}\\n" }
log:
  - { from: bus, to: out }
`, dir);
  const source = (agg as unknown as { sources: Map<string, NatsSource> }).sources.get('bus')!;
  const metric = (reason: string) => agg!.metrics.value('sluice_consumer_recoveries_total', { component: 'bus', reason });
  const all = (n: number) => waitFor(() => counts(out).size === n, `${n} distinct events in the file`, 30_000, 50);

  await publish(1000);
  await all(1000);
  assert.equal(source.recoveries, 0);

  // Frozen for 3 s, six heartbeat intervals: the client's own ping (10 s) has not noticed yet.
  const pid = server.proc!.pid!;
  process.kill(pid, 'SIGSTOP');
  try {
    await waitFor(async () => (await agg!.metrics.value('sluice_errors_total', { component: 'bus', stage: 'consuming', error_type: 'heartbeats_missed' })) >= 1,
      'missed heartbeats detected while the server is frozen', 20_000, 50);
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor(async () => (await metric('heartbeats_missed')) >= 1, 'the pull set up again after the server thawed', 30_000, 50);
  await publish(1000);
  await all(2000);

  // The durable deleted under the source: created again, the stream delivered again from its start.
  await jsm.consumers.delete('HB', 'agg');
  await waitFor(async () => (await metric('consumer_deleted')) + (await metric('consumer_not_found')) >= 1, 'the deleted consumer created again', 30_000, 50);
  const info = await jsm.consumers.info('HB', 'agg');
  assert.equal(info.config.durable_name, 'agg');
  await publish(1000);
  await all(3000);

  const seen = counts(out);
  for (let i = 0; i < 3000; i++) assert.ok(seen.has(i), `event ${i} consumed`);
  let dups = 0;
  for (const c of seen.values()) dups += c - 1;
  assert.ok(source.recoveries >= 2, `recoveries counted (${source.recoveries})`);
  t.diagnostic(`3000 events consumed, ${dups} duplicates (the recreated consumer replays the stream), ${source.recoveries} recoveries`);
});
