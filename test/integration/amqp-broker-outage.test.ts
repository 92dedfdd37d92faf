// Must show (issue 14, 4) for RabbitMQ, on a node of its own: the broker down at start, then
// killed with kill -9 mid-run and started again: nothing acknowledged is lost (the edge's disk
// buffer holds it), the local file keeps flowing, the failures are counted.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { havePeer } from '../helpers/peers.js';
import { send } from '../../src/cli/send/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { RABBITMQ_SERVER, RabbitNode, runSeqCounts } from '../helpers/brokers.js';
import { endpoint, freePort, startPipeline } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const pipelines: Pipeline[] = [];
let node: RabbitNode | null = null;
after(async () => {
  for (const p of pipelines) await p.stop();
  await node?.kill();
});

test('RabbitMQ down at start and killed mid-run: the disk buffer holds everything, the local file keeps flowing', { timeout: 300_000 }, async (t) => {
  if (!havePeer(t, RABBITMQ_SERVER, fs.existsSync(RABBITMQ_SERVER))) return;
  const dir = tempDir('amqp-outage');
  node = new RabbitNode(path.join(dir, 'rabbit'), await freePort(), await freePort());
  const local = path.join(dir, 'local.log');
  const edge = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  local: { type: file, path: "${local}", template: "\${SDATA} \${MSG}\\n" }
  broker:
    type: amqp
    url: "${node.url}"
    queue: aggregators
    connect_timeout: 1s
    heartbeat: 2
    buffer: { type: disk, max_bytes: 256MiB }
    retry: { initial: 100ms, max: 1s }
log:
  - { from: net, to: [local, broker] }
`, dir);
  pipelines.push(edge);
  const tcp = endpoint(edge, 'net', 'tcp');
  const url = `tcp://${tcp.host}:${tcp.port}`;
  const N = 5000;
  await send(url, { count: N, rate: 0, size: 0, format: 'rfc5424', connections: 1, runId: 'a' });
  await waitFor(() => runSeqCounts([local]).size === N, 'the local file has the first run while the broker is down', 30_000, 50);
  const connectErrors = await edge.metrics.value('sluice_errors_total', { component: 'broker', stage: 'connecting' });
  assert.ok(connectErrors >= 1, `connection failures counted (${connectErrors})`);

  await node.start();
  const out = path.join(dir, 'out.log');
  const agg = await startPipeline(`
api: false
data_dir: ${dir}/agg
sources:
  bus: { type: amqp, url: "${node.url}", queue: aggregators, heartbeat: 2 }
destinations:
  out: { type: file, path: "${out}", template: "\${SDATA} \${MSG}\\n" }
log:
  - { from: bus, to: out }
`, dir);
  pipelines.push(agg);
  await waitFor(() => runSeqCounts([out]).size === N, 'the first run through the broker once it is up', 90_000, 100);

  let sent = 0;
  const second = send(url, { count: N, rate: 2500, size: 0, format: 'rfc5424', connections: 1, runId: 'b' }, (n) => { sent = n; });
  second.catch(() => {});
  await waitFor(() => sent >= N * 0.3, '30 % of the second run sent', 30_000, 20);
  await node.kill();
  t.diagnostic(`RabbitMQ node killed with kill -9 after ${sent} of the second run`);
  await second;
  await waitFor(() => runSeqCounts([local]).size === 2 * N, 'the local file keeps flowing during the outage', 30_000, 50);
  await node.start();
  await waitFor(() => runSeqCounts([out]).size === 2 * N, 'both runs through the broker after the restart', 120_000, 200).catch((e: Error) => {
    throw new Error(`${e.message}; ${runSeqCounts([out]).size} of ${2 * N}`);
  });
  const seen = runSeqCounts([out]);
  let dups = 0;
  for (const c of seen.values()) dups += c - 1;
  for (const run of ['a', 'b']) for (let i = 0; i < N; i++) assert.ok(seen.has(`${run}:${i}`), `run ${run} seq ${i} consumed`);
  const edgeErrors = await edge.metrics.value('sluice_errors_total', { component: 'broker' });
  const aggErrors = await agg.metrics.value('sluice_errors_total', { component: 'bus', stage: 'connecting' });
  t.diagnostic(`${2 * N} events consumed, ${dups} duplicates; errors counted: edge ${edgeErrors}, consumer ${aggErrors}`);
  assert.ok(edgeErrors > connectErrors, 'the edge counted the loss');
  assert.ok(aggErrors >= 1, 'the consumer counted the loss');
});
