// Must show (issue 14, 4): the broker down at start, and lost mid-run then back: nothing
// acknowledged is lost (the edge's disk buffer holds it), other destinations keep flowing,
// and the failures are counted.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { NatsServer, runSeqCounts } from '../helpers/brokers.js';
import { endpoint, freePort, startPipeline } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const pipelines: Pipeline[] = [];
let server: NatsServer | null = null;
after(async () => {
  for (const p of pipelines) await p.stop();
  await server?.kill();
});

test('NATS down at start and lost mid-run: the disk buffer holds everything, the local file keeps flowing', { timeout: 180_000 }, async (t) => {
  const dir = tempDir('broker-outage');
  server = new NatsServer('solo', await freePort(), path.join(dir, 'nats'), null, []);
  const local = path.join(dir, 'local.log');
  const edge = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  local: { type: file, path: "${local}", template: "\${SDATA} \${MSG}\\n" }
  broker:
    type: nats
    url: ${server.url}
    connect_timeout: 1s
    ack_timeout: 2s
    buffer: { type: disk, max_bytes: 256MiB }
    retry: { initial: 100ms, max: 1s }
log:
  - { from: net, to: [local, broker] }
`, dir);
  pipelines.push(edge);
  const tcp = endpoint(edge, 'net', 'tcp');
  const url = `tcp://${tcp.host}:${tcp.port}`;
  const N = 10_000;
  await send(url, { count: N, rate: 0, size: 0, format: 'rfc5424', connections: 1, runId: 'a' });
  await waitFor(() => runSeqCounts([local]).size === N, 'the local file has the first run while the broker is down', 30_000, 50);
  const connectErrors = await edge.metrics.value('sluice_errors_total', { component: 'broker', stage: 'connecting' });
  assert.ok(connectErrors >= 1, `connection failures counted (${connectErrors})`);

  await server.start();
  const out = path.join(dir, 'out.log');
  const agg = await startPipeline(`
api: false
data_dir: ${dir}/agg
sources:
  bus: { type: nats, url: ${server.url}, consumer: agg, ack_wait: 3s }
destinations:
  out: { type: file, path: "${out}", template: "\${SDATA} \${MSG}\\n" }
log:
  - { from: bus, to: out }
`, dir);
  pipelines.push(agg);
  await waitFor(() => runSeqCounts([out]).size === N, 'the first run through the broker once it is up', 60_000, 100);

  // Lost mid-run: the server dies while the second run is being sent, and comes back.
  let sent = 0;
  const second = send(url, { count: N, rate: 5000, size: 0, format: 'rfc5424', connections: 1, runId: 'b' }, (n) => { sent = n; });
  second.catch(() => {});
  await waitFor(() => sent >= N * 0.3, '30 % of the second run sent', 30_000, 20);
  await server.kill();
  t.diagnostic(`NATS killed after ${sent} of the second run`);
  await second;
  await waitFor(() => runSeqCounts([local]).size === 2 * N, 'the local file keeps flowing during the outage', 30_000, 50);
  const publishErrors = await edge.metrics.value('sluice_errors_total', { component: 'broker' });
  await server.start();
  await waitFor(() => runSeqCounts([out]).size === 2 * N, 'both runs through the broker', 90_000, 200).catch((e: Error) => {
    throw new Error(`${e.message}; ${runSeqCounts([out]).size} of ${2 * N}`);
  });
  const seen = runSeqCounts([out]);
  let dups = 0;
  for (const c of seen.values()) dups += c - 1;
  for (const run of ['a', 'b']) for (let i = 0; i < N; i++) assert.ok(seen.has(`${run}:${i}`), `run ${run} seq ${i} consumed`);
  t.diagnostic(`${2 * N} events consumed, ${dups} duplicates; ${publishErrors} broker errors counted at the edge`);
  assert.ok(publishErrors > connectErrors, 'the mid-run loss was counted');
});
