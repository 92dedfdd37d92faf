// RabbitMQ with sluice processes (issue 14, must show 3 and 4): two consumers share a quorum
// queue and one is killed with kill -9 half way; then every client connection of the vhost is
// closed by the broker (rabbitmqctl close_connection, the shared server standing in for an
// outage) and both sides reconnect. Every event arrives at least once; shares and duplicates printed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { haveBroker, closeVhostConnections, createVhost, deleteVhost, duplicates, missingRanges, seqCounts, uniqueName } from '../helpers/brokers.js';
import { endpoint, spawnSluice, startPipeline, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const TOTAL = 30_000;
const consumers: SluiceProcess[] = [];
let edge: Pipeline | null = null;
let vh: string | null = null;
after(async () => {
  for (const c of consumers) await c.stop();
  await edge?.stop();
  if (vh) await deleteVhost(vh);
});

test('two consumers on one quorum queue, one killed with kill -9, then the broker drops every connection: nothing lost', { timeout: 180_000 }, async (t) => {
  if (!(await haveBroker(t, 'amqp'))) return;
  const dir = tempDir('amqp-takeover');
  vh = uniqueName('takeover').toLowerCase();
  const url = await createVhost(vh);
  const files = [0, 1].map((i) => path.join(dir, `c${i}.log`));
  for (let i = 0; i < 2; i++) {
    const cfg = writeConfig(dir, `
api: false
data_dir: ${dir}/c${i}
sources:
  bus: { type: amqp, url: "${url}", queue: shared, prefetch: 200, batch: 50 }
destinations:
  out: { type: file, path: "${files[i]}", template: "\${MSG}\\n" }
log:
  - { from: bus, to: out }
`, `c${i}.yaml`);
    consumers.push(await spawnSluice(['run', '-c', cfg], { cwd: dir }));
    await consumers[i]!.waitForLog(/consuming from RabbitMQ/);
  }
  edge = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  broker: { type: amqp, url: "${url}", events_per_message: 10, buffer: { type: disk }, retry: { initial: 100ms, max: 1s } }
log:
  - { from: net, to: broker }
`, dir);
  const tcp = endpoint(edge, 'net', 'tcp');
  let sent = 0;
  const sending = send(`tcp://${tcp.host}:${tcp.port}`, { count: TOTAL, rate: 3000, size: 0, format: 'rfc5424', connections: 1 }, (n) => { sent = n; });
  sending.catch(() => {});
  await waitFor(() => seqCounts(files).size >= TOTAL / 3, 'a third consumed', 60_000, 50);
  const killedAt = readLines(files[1]!).length;
  await consumers[1]!.kill9();
  t.diagnostic(`kill -9 of consumer 1 after it wrote ${killedAt} events; ${sent} sent`);
  await waitFor(() => seqCounts(files).size >= TOTAL * 0.6, '60 % consumed', 60_000, 50);
  const closed = await closeVhostConnections(vh);
  t.diagnostic(`broker closed ${closed} connections of the vhost after ${sent} sent, ${seqCounts(files).size} consumed`);
  await sending;
  await waitFor(() => seqCounts(files).size === TOTAL, `all ${TOTAL} events consumed`, 90_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}; missing ${missingRanges(seqCounts(files), TOTAL)}`);
  });
  const seen = seqCounts(files);
  const shares = files.map((f) => readLines(f).length);
  t.diagnostic(`shares: consumer 0 = ${shares[0]}, consumer 1 (killed) = ${shares[1]}; duplicates ${duplicates(seen)}`);
  for (let i = 0; i < TOTAL; i++) assert.ok(seen.has(i), `seq ${i} consumed`);
  assert.ok(closed >= 2, 'connections of the edge and the surviving consumer were closed');
  assert.ok(consumers[0]!.stderr.some((l) => /reconnecting in/.test(l)), 'the surviving consumer saw the loss and reconnected');
  assert.ok(await edge.metrics.value('sluice_errors_total', { component: 'broker', error_type: 'connection_lost' }) >= 1, 'the edge counted the lost connection');
});
