// Must show (issue 14, 1): three nats-server processes form a JetStream cluster with an R3 stream;
// 100,000 events go through a sluice edge while the stream leader is killed and restarted;
// every event is consumed at least once; duplicates are counted and printed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { havePeer } from '../helpers/peers.js';
import { connect } from 'nats';
import { send } from '../../src/cli/send/index.js';
import type { NatsDestination } from '../../src/destinations/nats/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { duplicates, missingRanges, NATS_SERVER, seqCounts, startNatsCluster, type NatsServer } from '../helpers/brokers.js';
import { endpoint, startPipeline } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const TOTAL = 100_000;
let servers: NatsServer[] = [];
const pipelines: Pipeline[] = [];
after(async () => {
  for (const p of pipelines) await p.stop();
  for (const s of servers) await s.kill();
});

async function streamLeader(urls: string, stream: string): Promise<string | null> {
  const nc = await connect({ servers: urls.split(','), timeout: 2000 }).catch(() => null);
  if (!nc) return null;
  try {
    const info = await (await nc.jetstreamManager({ timeout: 2000 })).streams.info(stream);
    return info.cluster?.leader ?? null;
  } catch {
    return null;
  } finally {
    await nc.close();
  }
}

test('R3 stream on a three-node cluster: the stream leader killed and restarted under 100,000 events, none lost', { timeout: 300_000 }, async (t) => {
  if (!havePeer(t, NATS_SERVER, fs.existsSync(NATS_SERVER))) return;
  const dir = tempDir('nats-cluster');
  servers = await startNatsCluster(path.join(dir, 'nats'));
  const urls = servers.map((s) => s.url).join(',');
  const edge = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  broker:
    type: nats
    url: "${urls}"
    stream: LOGS
    subject: "logs.\${HOST}"
    events_per_message: 100
    ack_timeout: 3s
    create_stream: { replicas: 3 }
    retry: { initial: 100ms, max: 1s }
log:
  - { from: net, to: broker }
`, dir);
  pipelines.push(edge);
  const out = path.join(dir, 'out.log');
  const agg = await startPipeline(`
api: false
data_dir: ${dir}/agg
sources:
  bus: { type: nats, url: "${urls}", stream: LOGS, consumer: aggregators, batch: 64, ack_wait: 5s }
destinations:
  out: { type: file, path: "${out}", template: "\${MSG}\\n" }
log:
  - { from: bus, to: out }
`, dir);
  pipelines.push(agg);
  const tcp = endpoint(edge, 'net', 'tcp');
  let sent = 0;
  const sending = send(`tcp://${tcp.host}:${tcp.port}`, { count: TOTAL, rate: 10_000, size: 0, format: 'rfc5424', connections: 1 }, (n) => { sent = n; });
  sending.catch(() => {});
  await waitFor(() => sent >= TOTAL * 0.3, '30 % sent', 60_000, 50);
  let leader: string | null = null;
  await waitFor(async () => (leader = await streamLeader(urls, 'LOGS')) !== null, 'the stream leader', 20_000, 200);
  const victim = servers.find((s) => s.name === leader)!;
  await victim.kill();
  t.diagnostic(`killed stream leader ${leader} after ${sent} events sent`);
  await waitFor(() => sent >= TOTAL * 0.6, '60 % sent', 90_000, 50);
  await victim.start();
  let newLeader: string | null = null;
  await waitFor(async () => (newLeader = await streamLeader(urls, 'LOGS')) !== null, 'a stream leader after the restart', 30_000, 250);
  t.diagnostic(`restarted ${victim.name} after ${sent} events sent; leader now ${newLeader}`);
  await sending;
  await waitFor(() => seqCounts([out]).size === TOTAL, `all ${TOTAL} events consumed`, 120_000, 250).catch((e: Error) => {
    throw new Error(`${e.message}; missing ${missingRanges(seqCounts([out]), TOTAL)}`);
  });
  const seen = seqCounts([out]);
  const dest = (edge as unknown as { runners: Map<string, { destination: NatsDestination }> }).runners.get('broker')!.destination;
  const retries = await edge.metrics.value('sluice_retries_total', { component: 'broker' });
  t.diagnostic(`${TOTAL} events consumed; ${duplicates(seen)} duplicates at the consumer; ${dest.duplicates} resent messages dropped by the server's duplicate window; ${retries} batch retries at the edge`);
  for (let i = 0; i < TOTAL; i++) assert.ok(seen.has(i), `seq ${i} consumed`);
});
