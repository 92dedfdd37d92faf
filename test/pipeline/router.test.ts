// Log paths: fan-out, final, fallback, one delivery per destination, back-pressure, acks.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import { LogEvent } from '../../src/event/log-event.js';
import { compileFilter } from '../../src/filter/compile.js';
import { Metrics } from '../../src/metrics/registry.js';
import { BatchAck, type AckOutcome } from '../../src/pipeline/acknowledgement.js';
import { DeadLetterFile } from '../../src/pipeline/dead-letter.js';
import { DestinationRunner } from '../../src/pipeline/destination-runner.js';
import { Router, type LogPath } from '../../src/pipeline/router.js';
import { RecordingDestination } from '../helpers/test-destination.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const SRC = { name: 'net', transport: 'udp' as const, address: '10.0.0.1', port: 514, tlsPeer: null };

function ev(facility: number, severity: number, message = 'm'): LogEvent {
  return LogEvent.fromValues(SRC, Date.now(), { facility, severity, hostname: 'h', appname: 'a', message });
}

interface Dest { runner: DestinationRunner; rec: RecordingDestination }

function dest(name: string, metrics: Metrics, maxBytes = 1 << 20, whenFull: 'block' | 'drop_newest' = 'block'): Dest {
  const rec = new RecordingDestination();
  const runner = new DestinationRunner(name, rec, new MemoryBuffer(maxBytes, whenFull), metrics, { initialMs: 5, maxMs: 20 },
    new DeadLetterFile(`${tempDir('dl')}/${name}.ndjson`, name));
  runner.start();
  return { runner, rec };
}

function path(p: Partial<LogPath> & { to: DestinationRunner[] }): LogPath {
  return { from: ['net'], filter: null, final: false, fallback: false, ...p };
}

const messagesOf = (d: Dest) => d.rec.received.map((e) => e.message);

describe('Router', () => {
  test('fan-out: one event to every matching path, once per destination', async () => {
    const m = new Metrics();
    const a = dest('a', m), b = dest('b', m);
    const r = new Router([
      path({ filter: compileFilter('level(err..emerg)'), to: [a.runner, b.runner] }),
      path({ to: [a.runner] }), // a again: must not receive errors twice
    ], ['net'], [a.runner, b.runner]);
    r.dispatch('net', [ev(1, 3, 'error'), ev(1, 6, 'info')], null, true);
    await waitFor(() => a.rec.received.length === 2 && b.rec.received.length === 1, 'deliveries');
    assert.deepEqual(messagesOf(a), ['error', 'info']);
    assert.deepEqual(messagesOf(b), ['error']);
  });

  test('final stops later paths for the events it took', async () => {
    const m = new Metrics();
    const a = dest('a', m), b = dest('b', m);
    const r = new Router([
      path({ filter: compileFilter('facility(auth)'), to: [a.runner], final: true }),
      path({ to: [b.runner] }),
    ], ['net'], [a.runner, b.runner]);
    r.dispatch('net', [ev(4, 6, 'auth'), ev(1, 6, 'user')], null, true);
    await waitFor(() => a.rec.received.length === 1 && b.rec.received.length === 1, 'deliveries');
    assert.deepEqual(messagesOf(a), ['auth']);
    assert.deepEqual(messagesOf(b), ['user']);
  });

  test('fallback takes only what no other path took, wherever it is listed', async () => {
    const m = new Metrics();
    const a = dest('a', m), rest = dest('rest', m);
    const r = new Router([
      path({ to: [rest.runner], fallback: true }),
      path({ filter: compileFilter('program(sshd)'), to: [a.runner] }),
    ], ['net'], [a.runner, rest.runner]);
    const sshd = LogEvent.fromValues(SRC, 0, { appname: 'sshd', message: 'login' });
    r.dispatch('net', [sshd, ev(1, 6, 'other')], null, true);
    await waitFor(() => a.rec.received.length === 1 && rest.rec.received.length === 1, 'deliveries');
    assert.deepEqual(messagesOf(a), ['login']);
    assert.deepEqual(messagesOf(rest), ['other']);
  });

  test('events no path takes are counted as unrouted', () => {
    const m = new Metrics();
    const a = dest('a', m);
    const r = new Router([path({ filter: compileFilter('facility(kern)'), to: [a.runner] })], ['net'], [a.runner]);
    r.dispatch('net', [ev(1, 6), ev(1, 6)], null, true);
    assert.equal(r.unroutedCount('net'), 2);
  });

  test('a full block-policy buffer says wait; whenReady fires once it drains', async () => {
    const m = new Metrics();
    const a = dest('a', m, 2000);
    a.rec.holding = true;
    const r = new Router([path({ to: [a.runner] })], ['net'], [a.runner]);
    const batch = Array.from({ length: 20 }, () => ev(1, 6, 'x'.repeat(200)));
    assert.equal(r.dispatch('net', batch, null, true), false, 'over the limit: the source must wait');
    let ready = false;
    r.whenReady('net', () => { ready = true; });
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(ready, false, 'not ready while the destination holds the batch');
    a.rec.holding = false;
    a.rec.release();
    await waitFor(() => ready, 'whenReady after drain');
  });

  test('a source that cannot wait (UDP) loses events to a full buffer, counted', async () => {
    const m = new Metrics();
    const a = dest('a', m, 2000);
    a.rec.holding = true;
    const r = new Router([path({ to: [a.runner] })], ['net'], [a.runner]);
    const big = () => Array.from({ length: 20 }, () => ev(1, 6, 'x'.repeat(200)));
    r.dispatch('net', big(), null, false);
    r.dispatch('net', big(), null, false);
    assert.equal(await m.value('sluice_events_dropped_total', { component: 'a', reason: 'buffer_full' }), 20);
  });

  test('drop_newest refuses when full and the ack says rejected', async () => {
    const m = new Metrics();
    const a = dest('a', m, 2000, 'drop_newest');
    a.rec.holding = true;
    const r = new Router([path({ to: [a.runner] })], ['net'], [a.runner]);
    const outcomes: AckOutcome[] = [];
    const big = () => Array.from({ length: 20 }, () => ev(1, 6, 'x'.repeat(200)));
    r.dispatch('net', big(), new BatchAck((o) => outcomes.push(o)), true);
    r.dispatch('net', big(), new BatchAck((o) => outcomes.push(o)), true);
    assert.deepEqual(outcomes, ['delivered', 'rejected']);
  });

  test('an ack waits for every destination the batch reached', () => {
    const m = new Metrics();
    const a = dest('a', m), b = dest('b', m);
    const r = new Router([path({ to: [a.runner, b.runner] })], ['net'], [a.runner, b.runner]);
    const outcomes: AckOutcome[] = [];
    r.dispatch('net', [ev(1, 6)], new BatchAck((o) => outcomes.push(o)), true);
    assert.deepEqual(outcomes, ['delivered']);
  });

  test('retry: the same batch is sent again until it is accepted', async () => {
    const m = new Metrics();
    const a = dest('a', m);
    let calls = 0;
    a.rec.next = () => (++calls < 3 ? { status: 'retry', error: 'temporarily down' } : { status: 'ok' });
    const r = new Router([path({ to: [a.runner] })], ['net'], [a.runner]);
    r.dispatch('net', [ev(1, 6, 'once')], null, true);
    await waitFor(() => a.rec.received.length === 1, 'delivery after retries');
    assert.equal(calls, 3);
    assert.equal(await m.value('sluice_retries_total', { component: 'a' }), 2);
  });
});
