// NATS JetStream in and out, in-process: round trip, consumer groups (round robin and fan-out),
// foreign publishers (syslog lines, other JSON), poison messages dead-lettered.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { headers } from 'nats';
import { send } from '../../src/cli/send/index.js';
import type { NatsSource } from '../../src/sources/nats/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { haveBroker, deleteStreams, duplicates, missingRanges, NATS_URL, natsClient, seqCounts, uniqueName } from '../helpers/brokers.js';
import { endpoint, startPipeline } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const streams: string[] = [];
const pipelines: Pipeline[] = [];
after(async () => {
  for (const p of pipelines) await p.stop();
  if (streams.length > 0) await deleteStreams(NATS_URL, streams).catch(() => {});
});

async function edge(dir: string, stream: string, extra = ''): Promise<Pipeline> {
  const p = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  broker:
    type: nats
    url: ${NATS_URL}
    stream: ${stream}
    subject: "t${stream.toLowerCase()}.\${HOST}.\${LEVEL}"
    ${extra}
log:
  - { from: net, to: broker }
`, dir);
  pipelines.push(p);
  return p;
}

async function aggregator(dir: string, name: string, stream: string, consumer: string, file: string, extra = '', outExtra = ''): Promise<Pipeline> {
  const p = await startPipeline(`
api: false
data_dir: ${dir}/${name}
sources:
  bus: { type: nats, url: ${NATS_URL}, stream: ${stream}, consumer: ${consumer} ${extra} }
destinations:
  out: { type: file, path: "${file}", template: "\${HOST} \${PROGRAM} \${SOURCEIP} \${MSG}\\n" ${outExtra} }
log:
  - { from: bus, to: out }
`, dir);
  pipelines.push(p);
  return p;
}

function natsSource(p: Pipeline): NatsSource {
  return (p as unknown as { sources: Map<string, NatsSource> }).sources.get('bus')!;
}

test('syslog → nats destination → JetStream → nats source → file: every event, fields intact', { timeout: 60_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const dir = tempDir('nats-rt');
  const stream = uniqueName('RT');
  streams.push(stream);
  const e = await edge(dir, stream);
  const out = path.join(dir, 'out.log');
  await aggregator(dir, 'agg', stream, 'agg', out);
  const N = 5000;
  const tcp = endpoint(e, 'net', 'tcp');
  await send(`tcp://${tcp.host}:${tcp.port}`, { count: N, rate: 0, size: 0, format: 'rfc5424', connections: 1, hostname: 'web.01', appname: 'app' });
  await waitFor(() => seqCounts([out]).size === N, `${N} events in the file`, 30_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}; missing ${missingRanges(seqCounts([out]), N)}`);
  });
  const lines = readLines(out);
  // The host name keeps its dot in the event; only the subject token was escaped.
  assert.match(lines[0]!, /^web\.01 app 127\.0\.0\.1 /);
  t.diagnostic(`${N} events, ${lines.length - N} duplicates`);
  // The stream the destination created: file storage, discard new, the documented limits.
  const nc = await natsClient();
  const info = await (await nc.jetstreamManager()).streams.info(stream);
  await nc.close();
  assert.equal(info.config.storage, 'file');
  assert.equal(info.config.discard, 'new');
  assert.equal(info.config.max_bytes, 1024 ** 3);
  assert.equal(info.config.num_replicas, 1);
  assert.deepEqual(info.config.subjects, [`t${stream.toLowerCase()}.>`]);
  // Several events per message: 5000 events in far fewer messages.
  assert.ok(info.state.messages < N / 10, `${info.state.messages} messages for ${N} events`);
});

test('one durable shared by two sources splits the messages; a second durable gets every one (fan-out)', { timeout: 60_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const dir = tempDir('nats-group');
  const stream = uniqueName('GRP');
  streams.push(stream);
  const e = await edge(dir, stream, 'events_per_message: 1');
  const [a, b, c] = [path.join(dir, 'a.log'), path.join(dir, 'b.log'), path.join(dir, 'c.log')];
  const pa = await aggregator(dir, 'a', stream, 'group', a, ', batch: 16');
  const pb = await aggregator(dir, 'b', stream, 'group', b, ', batch: 16');
  const pc = await aggregator(dir, 'c', stream, 'other', c);
  const N = 3000;
  const tcp = endpoint(e, 'net', 'tcp');
  await send(`tcp://${tcp.host}:${tcp.port}`, { count: N, rate: 5000, size: 0, format: 'rfc5424', connections: 1 });
  await waitFor(() => seqCounts([a, b]).size === N && seqCounts([c]).size === N, 'every event in the group and in the fan-out copy', 30_000, 100);
  const [sa, sb] = [natsSource(pa).counts.events, natsSource(pb).counts.events];
  t.diagnostic(`group shares: a=${sa} b=${sb}; fan-out durable: ${natsSource(pc).counts.events}; group duplicates ${duplicates(seqCounts([a, b]))}`);
  assert.ok(sa > 0 && sb > 0, `both members got a share (a=${sa}, b=${sb})`);
  assert.ok(sa < N && sb < N, 'neither member got everything');
});

test('foreign publishers: syslog lines and other JSON are read; a poison message goes to the dead-letter file and is terminated', { timeout: 60_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const dir = tempDir('nats-foreign');
  const stream = uniqueName('FOREIGN');
  streams.push(stream);
  const subject = `f${stream.toLowerCase()}`;
  const nc = await natsClient();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
  const js = nc.jetstream();
  await js.publish(`${subject}.a`, Buffer.from('<34>1 2026-01-02T03:04:05Z host1 su 77 ID47 - first line seq=0\n<13>Jan  2 03:04:05 host2 cron[9]: second seq=1'));
  await js.publish(`${subject}.b`, Buffer.from(JSON.stringify({ host: 'host3', app: 'svc', msg: 'from json seq=2', level: 'x' })));
  const h = headers();
  h.set('Content-Type', 'application/json');
  await js.publish(`${subject}.c`, Buffer.from('{"message": "not closed'), { headers: h });
  await js.publish(`${subject}.d`, Buffer.from(JSON.stringify({ hostname: 'host4', message: 'after the poison seq=3' })));
  await nc.close();

  const out = path.join(dir, 'out.log');
  const p = await aggregator(dir, 'agg', stream, 'agg', out, `, max_deliver: 3, dead_letter_subject: "${subject}.dead"`);
  await waitFor(() => seqCounts([out]).size === 4, 'the four good events', 20_000, 50);
  const lines = readLines(out);
  assert.ok(lines.some((l) => l.startsWith('host1 su ') && l.endsWith('first line seq=0')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('host2 cron ') && l.endsWith('second seq=1')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('host3 svc ') && l.endsWith('from json seq=2')), lines.join('\n'));
  const dlq = path.join(dir, 'agg', 'dead-letter', 'bus.ndjson');
  await waitFor(() => readLines(dlq).length >= 1, 'one dead letter', 10_000, 50);
  const dead = JSON.parse(readLines(dlq)[0]!) as { reason: string; payload: string; subject: string };
  assert.equal(dead.payload, '{"message": "not closed');
  assert.equal(dead.subject, `${subject}.c`);
  assert.match(dead.reason, /malformed JSON/);
  // Also published to dead_letter_subject, with the reason; read back by the same consumer
  // (the stream captures it), it is dead-lettered once more but not published round again.
  const nc3 = await natsClient();
  const dl = await (await nc3.jetstreamManager()).streams.getMessage(stream, { last_by_subj: `${subject}.dead` });
  assert.equal(Buffer.from(dl.data).toString(), '{"message": "not closed');
  assert.match(dl.header.get('Sluice-Reason'), /malformed JSON/);
  assert.equal(dl.header.get('Sluice-Original-Subject'), `${subject}.c`);
  await nc3.close();
  await waitFor(() => readLines(dlq).length === 2, 'the dead letter read back, dead-lettered to the file', 10_000, 50);
  assert.equal(await p.metrics.value('sluice_errors_total', { component: 'bus', error_type: 'poison_message' }), 2);
  // Terminated, not redelivered: after everything else is acked, nothing stays pending.
  const nc2 = await natsClient();
  let last = '';
  await waitFor(async () => {
    const ci = await (await nc2.jetstreamManager()).consumers.info(stream, 'agg');
    last = `ack_pending ${ci.num_ack_pending}, pending ${ci.num_pending}, redelivered ${ci.num_redelivered}`;
    return ci.num_ack_pending === 0 && ci.num_pending === 0;
  }, 'consumer with nothing pending', 10_000, 100).catch((e: Error) => { throw new Error(`${e.message}: ${last}`); });
  await nc2.close();
  assert.equal(readLines(dlq).length, 2);
  assert.ok(fs.existsSync(out));
});

test('working() keeps a message held by a slow destination from being redelivered; a deleted durable is recreated', { timeout: 60_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const dir = tempDir('nats-working');
  const stream = uniqueName('WORKING');
  streams.push(stream);
  const subject = `w${stream.toLowerCase()}`;
  const nc = await natsClient();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
  const js = nc.jetstream();
  for (let i = 0; i < 5; i++) await js.publish(`${subject}.a`, Buffer.from(`<13>1 - h app - - - held seq=${i}`));
  // The file's directory is missing: the destination retries, holding the events well past ack_wait.
  const out = path.join(dir, 'later', 'out.log');
  await aggregator(dir, 'agg', stream, 'agg', out, ', ack_wait: 2s', ', create_dirs: false');
  await waitFor(async () => (await jsm.consumers.info(stream, 'agg').catch(() => null))?.num_ack_pending === 5, 'five messages delivered, unacked', 10_000, 100);
  await new Promise((r) => setTimeout(r, 5000));
  const held = await jsm.consumers.info(stream, 'agg');
  assert.equal(held.num_redelivered, 0, 'nothing redelivered while working() was sent');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await waitFor(() => seqCounts([out]).size === 5, 'the held events written once the directory exists', 20_000, 100);
  await waitFor(async () => (await jsm.consumers.info(stream, 'agg')).num_ack_pending === 0, 'all acked', 10_000, 100);

  // The durable is deleted under the running source: it is created again and consumption goes on.
  await jsm.consumers.delete(stream, 'agg');
  await js.publish(`${subject}.a`, Buffer.from('<13>1 - h app - - - after recreate seq=5'));
  await waitFor(() => seqCounts([out]).has(5), 'an event published after the durable was deleted', 30_000, 100);
  assert.ok((await jsm.consumers.info(stream, 'agg')).config.durable_name === 'agg');
  await nc.close();
});
