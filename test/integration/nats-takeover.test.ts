// Must show (issue 14, 2): three sluice consumers share one durable; one is killed with kill -9
// half way; every event reaches the file destinations at least once; shares and duplicates printed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { haveBroker, deleteStreams, duplicates, missingRanges, NATS_URL, seqCounts, uniqueName } from '../helpers/brokers.js';
import { endpoint, spawnSluice, startPipeline, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const TOTAL = 30_000;
const streams: string[] = [];
const consumers: SluiceProcess[] = [];
let edge: Pipeline | null = null;
after(async () => {
  for (const c of consumers) await c.stop();
  await edge?.stop();
  if (streams.length > 0) await deleteStreams(NATS_URL, streams).catch(() => {});
});

test('three consumers on one durable, one killed with kill -9 half way: every event at least once', { timeout: 180_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const dir = tempDir('nats-takeover');
  const stream = uniqueName('TAKEOVER');
  streams.push(stream);
  edge = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  broker: { type: nats, url: ${NATS_URL}, stream: ${stream}, subject: "k${stream.toLowerCase()}.\${HOST}", events_per_message: 10 }
log:
  - { from: net, to: broker }
`, dir);
  const files = [0, 1, 2].map((i) => path.join(dir, `c${i}.log`));
  for (let i = 0; i < 3; i++) {
    const cfg = writeConfig(dir, `
api: false
data_dir: ${dir}/c${i}
sources:
  bus: { type: nats, url: ${NATS_URL}, stream: ${stream}, consumer: shared, batch: 20, ack_wait: 3s }
destinations:
  out: { type: file, path: "${files[i]}", template: "\${MSG}\\n" }
log:
  - { from: bus, to: out }
`, `c${i}.yaml`);
    consumers.push(await spawnSluice(['run', '-c', cfg], { cwd: dir }));
  }
  const tcp = endpoint(edge, 'net', 'tcp');
  const sending = send(`tcp://${tcp.host}:${tcp.port}`, { count: TOTAL, rate: 6000, size: 0, format: 'rfc5424', connections: 1 });
  sending.catch(() => {});
  await waitFor(() => seqCounts(files).size >= TOTAL / 2, 'half of the events consumed', 60_000, 50);
  const victim = consumers[1]!;
  const before = readLines(files[1]!).length;
  await victim.kill9();
  t.diagnostic(`kill -9 of consumer 1 after it wrote ${before} events (${seqCounts(files).size} unique so far)`);
  await sending;
  await waitFor(() => seqCounts(files).size === TOTAL, `all ${TOTAL} events in the files`, 60_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}; missing ${missingRanges(seqCounts(files), TOTAL)}`);
  });
  const seen = seqCounts(files);
  const shares = files.map((f) => readLines(f).length);
  t.diagnostic(`shares: consumer 0 = ${shares[0]}, consumer 1 (killed) = ${shares[1]}, consumer 2 = ${shares[2]}; duplicates ${duplicates(seen)}`);
  for (let i = 0; i < TOTAL; i++) assert.ok(seen.has(i), `seq ${i} consumed`);
  assert.ok(shares[0]! > 0 && shares[2]! > 0 && shares[1]! > 0, 'each consumer took a share');
});
