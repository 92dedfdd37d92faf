// The NATS destination on its own: deduplication of resent messages, a full stream as a retried error.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { natsDestinationSchema, NatsDestination } from '../../src/destinations/nats/index.js';
import type { SendResult } from '../../src/destinations/types.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Metrics } from '../../src/metrics/registry.js';
import { haveBroker, deleteStreams, NATS_URL, natsClient, uniqueName } from '../helpers/brokers.js';
import { tempDir } from '../helpers/wait.js';

const streams: string[] = [];
after(async () => { if (streams.length > 0) await deleteStreams(NATS_URL, streams).catch(() => {}); });

const SRC: EventSource = { name: 'test', transport: 'tcp', address: '127.0.0.1', port: 1, tlsPeer: null };

function events(n: number, from = 0, size = 0): LogEvent[] {
  const pad = size > 0 ? ' ' + 'x'.repeat(size) : '';
  return Array.from({ length: n }, (_, i) => LogEvent.fromValues(SRC, 1_700_000_000_000 + from + i, { hostname: 'h', appname: 'a', severity: 6, facility: 1, message: `m seq=${from + i}${pad}` }));
}

function sendOnce(d: NatsDestination, evs: LogEvent[]): Promise<SendResult> {
  return new Promise((resolve) => d.send(evs, resolve));
}

async function streamMessages(stream: string): Promise<number> {
  const nc = await natsClient();
  try {
    return (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

test('the same events sent again (a new batch after a crash) carry the same Nats-Msg-Id and are stored once', { timeout: 30_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const stream = uniqueName('DEDUP');
  streams.push(stream);
  const cfg = natsDestinationSchema.parse({ type: 'nats', url: NATS_URL, stream, subject: `d${stream.toLowerCase()}.\${HOST}`, events_per_message: 10 });
  const metrics = new Metrics();
  const d = new NatsDestination(cfg, { name: 'bus', metrics, dataDir: tempDir('nats-dedup'), baseDir: '.' });
  await d.start();
  assert.deepEqual(await sendOnce(d, events(1000)), { status: 'ok' });
  assert.equal(await streamMessages(stream), 100);
  // A fresh array of equal events: what a disk buffer replays after kill -9.
  assert.deepEqual(await sendOnce(d, events(1000)), { status: 'ok' });
  assert.equal(await streamMessages(stream), 100, 'the resent messages were dropped as duplicates');
  assert.equal(d.duplicates, 100);
  await d.stop();
});

test('a full stream (discard: new) is a counted publish error, retried until there is room; nothing is dropped', { timeout: 30_000 }, async (t) => {
  if (!(await haveBroker(t, 'nats'))) return;
  const stream = uniqueName('FULL');
  streams.push(stream);
  const cfg = natsDestinationSchema.parse({
    type: 'nats', url: NATS_URL, stream, subject: `f${stream.toLowerCase()}.x`, events_per_message: 1, max_in_flight: 1,
    create_stream: { max_bytes: 64 * 1024 },
  });
  const metrics = new Metrics();
  const d = new NatsDestination(cfg, { name: 'bus', metrics, dataDir: tempDir('nats-full'), baseDir: '.' });
  await d.start();
  const batch = events(200, 0, 1000);
  const r = await sendOnce(d, batch);
  assert.equal(r.status, 'retry', JSON.stringify(r));
  assert.match((r as { error: string }).error, /stream_full/);
  assert.ok(await metrics.value('sluice_errors_total', { component: 'bus', error_type: 'stream_full' }) >= 1);
  const stored = await streamMessages(stream);
  assert.ok(stored > 0 && stored < 200, `${stored} stored before the stream filled up`);
  // Room again: the runner's retry of the same batch publishes only what was not acknowledged.
  const nc = await natsClient();
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  await jsm.streams.update(stream, { ...info.config, max_bytes: 10 * 1024 * 1024 });
  await nc.close();
  assert.deepEqual(await sendOnce(d, batch), { status: 'ok' });
  assert.equal(await streamMessages(stream), 200, 'every event stored exactly once');
  await d.stop();
});
