// RabbitMQ in and out, in-process, each test on a vhost of its own (deleted after): round robin on a
// quorum queue, fan-out through the exchange, an unroutable message, an oversize event, a poison
// message, and a message that keeps failing dead-lettered after the delivery limit.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { send } from '../../src/cli/send/index.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import type { AmqpSource } from '../../src/sources/amqp/index.js';
import { haveBroker, createVhost, deleteVhost, missingRanges, seqCounts, uniqueName } from '../helpers/brokers.js';
import { endpoint, startPipeline } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const vhosts: string[] = [];
const pipelines: Pipeline[] = [];
after(async () => {
  for (const p of pipelines) await p.stop();
  for (const v of vhosts) await deleteVhost(v);
});

async function vhost(prefix: string): Promise<{ name: string; url: string }> {
  const name = uniqueName(prefix).toLowerCase();
  vhosts.push(name);
  return { name, url: await createVhost(name) };
}

async function edge(dir: string, url: string, extra = ''): Promise<Pipeline> {
  const p = await startPipeline(`
api: false
data_dir: ${dir}/edge
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }
destinations:
  broker: { type: amqp, url: "${url}" ${extra} }
log:
  - { from: net, to: broker }
`, dir);
  pipelines.push(p);
  return p;
}

async function consumer(dir: string, name: string, url: string, queue: string, file: string, extra = '', outExtra = ''): Promise<Pipeline> {
  const p = await startPipeline(`
api: false
data_dir: ${dir}/${name}
sources:
  bus: { type: amqp, url: "${url}", queue: ${queue} ${extra} }
destinations:
  out: { type: file, path: "${file}", template: "\${HOST} \${PROGRAM} \${MSG}\\n" ${outExtra} }
log:
  - { from: bus, to: out }
`, dir);
  pipelines.push(p);
  return p;
}

function amqpSource(p: Pipeline): AmqpSource {
  return (p as unknown as { sources: Map<string, AmqpSource> }).sources.get('bus')!;
}

async function queues(vh: string): Promise<Map<string, { type: string; messages: number }>> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', '-p', vh, 'name', 'type', 'messages']);
  const m = new Map<string, { type: string; messages: number }>();
  for (const line of stdout.split('\n')) {
    const [name, type, messages] = line.trim().split(/\s+/);
    if (name) m.set(name, { type: type!, messages: Number(messages) });
  }
  return m;
}

test('round robin on a quorum queue shared by two sources; fan-out to a second queue through the exchange', { timeout: 90_000 }, async (t) => {
  if (!(await haveBroker(t, 'amqp'))) return;
  const dir = tempDir('amqp-group');
  const { name: vh, url } = await vhost('grp');
  const [a, b, c] = ['a', 'b', 'c'].map((x) => path.join(dir, `${x}.log`)) as [string, string, string];
  // Consumers first: they declare the queues and bindings the edge's messages are routed to.
  const pa = await consumer(dir, 'a', url, 'group', a, ', batch: 16, prefetch: 32');
  const pb = await consumer(dir, 'b', url, 'group', b, ', batch: 16, prefetch: 32');
  const pc = await consumer(dir, 'c', url, 'archive', c);
  await waitFor(async () => (await queues(vh)).has('archive') && (await queues(vh)).has('group'), 'queues declared', 20_000, 200);
  const e = await edge(dir, url, ', events_per_message: 5');
  const N = 5000;
  const tcp = endpoint(e, 'net', 'tcp');
  await send(`tcp://${tcp.host}:${tcp.port}`, { count: N, rate: 5000, size: 0, format: 'rfc5424', connections: 1, hostname: 'web.01' });
  await waitFor(() => seqCounts([a, b]).size === N && seqCounts([c]).size === N, 'every event in the group and in the archive', 60_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}; group missing ${missingRanges(seqCounts([a, b]), N)}; archive missing ${missingRanges(seqCounts([c]), N)}`);
  });
  const [sa, sb] = [amqpSource(pa).counts.events, amqpSource(pb).counts.events];
  t.diagnostic(`group shares a=${sa} b=${sb}; archive ${amqpSource(pc).counts.events}`);
  assert.ok(sa > 0 && sb > 0 && sa < N && sb < N, `both members got part (a=${sa}, b=${sb})`);
  assert.match(readLines(c)[0]!, /^web\.01 /);
  const q = await queues(vh);
  assert.equal(q.get('group')!.type, 'quorum');
  assert.equal(q.get('archive')!.type, 'quorum');
  assert.ok(q.has('group.dead-letter'), 'dead-letter queue declared');
});

test('an unroutable message and an oversize event go to the dead-letter file, counted; the rest is delivered', { timeout: 60_000 }, async (t) => {
  if (!(await haveBroker(t, 'amqp'))) return;
  const dir = tempDir('amqp-unroutable');
  const { url } = await vhost('unr');
  const out = path.join(dir, 'out.log');
  await consumer(dir, 'c', url, 'web', out, ', routing_key: "logs.web.#"');
  await waitFor(async () => (await queues(vhosts.at(-1)!)).has('web'), 'queue declared', 20_000, 200);
  const e = await edge(dir, url, ', routing_key: "logs.${HOST}", max_message_bytes: 3000, events_per_message: 1');
  const tcp = endpoint(e, 'net', 'tcp');
  await send(`tcp://${tcp.host}:${tcp.port}`, { count: 10, rate: 0, size: 0, format: 'rfc5424', connections: 1, hostname: 'web' });
  await send(`tcp://${tcp.host}:${tcp.port}`, { count: 3, rate: 0, size: 0, format: 'rfc5424', connections: 1, hostname: 'db' });
  await send(`tcp://${tcp.host}:${tcp.port}`, { count: 1, rate: 0, size: 5000, format: 'rfc5424', connections: 1, hostname: 'web' });
  const dlq = path.join(dir, 'edge', 'dead-letter', 'broker.ndjson');
  await waitFor(() => readLines(dlq).length === 4, 'three unroutable and one oversize event dead-lettered', 20_000, 50);
  await waitFor(() => readLines(out).length === 10, 'the ten routable events delivered', 20_000, 50);
  const dead = readLines(dlq).map((l) => JSON.parse(l) as { reason: string; event: { hostname: string } });
  assert.equal(dead.filter((d) => d.event.hostname === 'db' && /unroutable/.test(d.reason)).length, 3);
  assert.equal(dead.filter((d) => d.event.hostname === 'web' && /max_message_bytes/.test(d.reason)).length, 1);
  assert.equal(await e.metrics.value('sluice_errors_total', { component: 'broker', error_type: 'unroutable' }), 3);
});

test('a poison message is dead-lettered at once; one the destinations keep refusing goes to the DLX after the delivery limit', { timeout: 60_000 }, async (t) => {
  if (!(await haveBroker(t, 'amqp'))) return;
  const dir = tempDir('amqp-poison');
  const { name: vh, url } = await vhost('poison');
  // The destination's directory is missing (create_dirs: false): its send is retried for ever,
  // so the first message sits in its tiny buffer, which is then full; with drop_newest every
  // later batch is refused, the source nacks it back to the queue, and RabbitMQ's delivery
  // limit ends the loop.
  const out = path.join(dir, 'missing', 'out.log');
  const p = await consumer(dir, 'c', url, 'work', out, ', format: json, delivery_limit: 3', ', create_dirs: false, buffer: { max_bytes: 10, when_full: drop_newest }');
  await waitFor(async () => (await queues(vh)).has('work'), 'queue declared', 20_000, 200);
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  ch.publish('sluice', 'logs.x', Buffer.from(JSON.stringify({ hostname: 'h', message: 'stuck in the buffer seq=0' })), { persistent: true, messageId: 'filler' });
  await ch.waitForConfirms();
  await waitFor(() => amqpSource(p).counts.events === 1, 'the first message taken into the buffer', 20_000, 50);
  ch.publish('sluice', 'logs.x', Buffer.from('{"message": "broken'), { persistent: true, messageId: 'poison-1' });
  ch.publish('sluice', 'logs.x', Buffer.from(JSON.stringify({ hostname: 'h', message: 'refused every time seq=1' })), { persistent: true, messageId: 'refused-1' });
  await ch.waitForConfirms();
  await conn.close();
  const dlq = path.join(dir, 'c', 'dead-letter', 'bus.ndjson');
  await waitFor(() => readLines(dlq).length === 1, 'the poison message in the dead-letter file', 20_000, 50);
  const dead = JSON.parse(readLines(dlq)[0]!) as { payload: string; message_id: string; reason: string };
  assert.equal(dead.payload, '{"message": "broken');
  assert.equal(dead.message_id, 'poison-1');
  assert.match(dead.reason, /malformed JSON/);
  await waitFor(async () => (await queues(vh)).get('work.dead-letter')?.messages === 2, 'both messages in the dead-letter queue', 30_000, 200);
  // Only the first message is left, unacknowledged: it is still waiting for its destination.
  assert.equal((await queues(vh)).get('work')!.messages, 1);
  const s = amqpSource(p).counts;
  t.diagnostic(`refused message delivered ${s.retried} times before RabbitMQ dead-lettered it`);
  assert.ok(s.retried >= 3, `nacked at each of the delivery limit's attempts (${s.retried})`);
  assert.equal(await p.metrics.value('sluice_errors_total', { component: 'bus', error_type: 'poison_message' }), 1);
});
