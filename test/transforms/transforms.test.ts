// Transforms: each kind on real message shapes, and copy on write across log paths.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBuffer } from '../../src/buffer/memory.js';
import { Metrics } from '../../src/metrics/registry.js';
import { DeadLetterFile } from '../../src/pipeline/dead-letter.js';
import { DestinationRunner } from '../../src/pipeline/destination-runner.js';
import { Router } from '../../src/pipeline/router.js';
import { TransformChain } from '../../src/transforms/chain.js';
import { TRANSFORMS, transformKind, type Transform } from '../../src/transforms/index.js';
import { RecordingDestination } from '../helpers/test-destination.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import { syslog } from '../rules/helpers.js';

function build(config: Record<string, unknown>, metrics = new Metrics()): Transform {
  const kind = transformKind(String(config.type))!;
  return kind.build(kind.schema.parse(config), { name: 't', metrics });
}
const run = (t: Transform, line: string) => new TransformChain([t]).run(syslog(line));

describe('transforms', () => {
  test('every registered transform has a description and a schema that refuses unknown keys', () => {
    for (const k of TRANSFORMS) {
      assert.ok(k.description.length > 10, k.type);
      assert.equal(k.schema.safeParse({ type: k.type, no_such_key: 1 }).success, false, k.type);
    }
  });

  test('parse_kv: auditd records, quoted values, custom separators', () => {
    const ev = run(build({ type: 'parse_kv' }),
      '<14>Mar  1 12:00:00 web1 audit: type=SYSCALL msg=audit(1740830400.120:4242): arch=c000003e syscall=59 success=yes exit=0 ppid=1201 pid=1302 uid=33 comm="bash" exe="/usr/bin/bash" key="web shell"')!;
    assert.equal(ev.fields!.type, 'SYSCALL');
    assert.equal(ev.fields!.syscall, '59');
    assert.equal(ev.fields!.exe, '/usr/bin/bash');
    assert.equal(ev.fields!.key, 'web shell');
    assert.equal(ev.fields!.msg, 'audit(1740830400.120:4242):');
    const semi = run(build({ type: 'parse_kv', field_split: ';', value_split: ':', prefix: 'kv.' }), '<14>Mar  1 12:00:00 h app: a:1;b: two;c:"x;y"')!;
    assert.deepEqual(semi.fields, { 'kv.a': '1', 'kv.b': ' two', 'kv.c': 'x;y' });
  });

  test('parse_json: a JSON message (with a prefix such as @cee:) becomes fields; a bad one is counted', async () => {
    const metrics = new Metrics();
    const t = build({ type: 'parse_json' }, metrics);
    assert.deepEqual(run(t, '<14>Mar  1 12:00:00 h app: @cee: {"user":"x","n":3}')!.fields, { user: 'x', n: 3 });
    assert.deepEqual(run(build({ type: 'parse_json', target: 'j' }), '<14>Mar  1 12:00:00 h app: {"a":{"b":1}}')!.fields, { j: { a: { b: 1 } } });
    assert.equal(run(t, '<14>Mar  1 12:00:00 h app: {broken')!.fields, null);
    assert.equal(await metrics.value('sluice_errors_total', { component: 't', stage: 'transform' }), 1);
  });

  test('parse_regex: named groups become fields', () => {
    const t = build({ type: 'parse_regex', pattern: 'for (?:invalid user )?(?<user>\\S+) from (?<src_ip>\\S+) port (?<port>\\d+)' });
    const ev = run(t, '<38>Mar  1 12:00:00 web1 sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2')!;
    assert.deepEqual(ev.fields, { user: 'admin', src_ip: '203.0.113.9', port: '50022' });
    assert.equal(run(t, '<38>Mar  1 12:00:00 web1 sshd[812]: Server listening on 0.0.0.0 port 22.')!.fields, null);
    assert.equal(transformKind('parse_regex')!.schema.safeParse({ type: 'parse_regex', pattern: '(\\d+)' }).success, false);
  });

  test('set (templates), rename, remove', () => {
    const chain = new TransformChain([
      build({ type: 'parse_regex', pattern: 'from (?<src>\\S+)' }),
      build({ type: 'set', fields: { where: '${HOST}/${PROGRAM}', 'fields.tag': 'ssh', message: 'seen ${fields.src}' } }),
      build({ type: 'rename', fields: { src: 'src_ip' } }),
      build({ type: 'remove', fields: ['tag'] }),
    ]);
    const ev = chain.run(syslog('<38>Mar  1 12:00:00 web1 sshd[812]: Accepted publickey for alice from 10.0.0.5 port 1 ssh2'))!;
    assert.deepEqual(ev.fields, { where: 'web1/sshd', src_ip: '10.0.0.5' });
    assert.equal(ev.message, 'seen 10.0.0.5');
  });

  test('throttle: N per window per key, drops counted; sample keeps 1 in N', async () => {
    const metrics = new Metrics();
    const t = build({ type: 'throttle', limit: 3, window: '1m', key: '${HOST}' }, metrics);
    const chain = new TransformChain([t]);
    const hosts = ['a', 'a', 'a', 'a', 'a', 'b', 'b'];
    const kept = hosts.map((h) => chain.run(syslog(`<14>Mar  1 12:00:00 ${h} app: x`))).filter(Boolean).length;
    assert.equal(kept, 5);
    assert.equal(await metrics.value('sluice_events_dropped_total', { component: 't', reason: 'throttled' }), 2);
    const s = new TransformChain([build({ type: 'sample', rate: 4 }, metrics)]);
    assert.equal(Array.from({ length: 100 }, () => s.run(syslog('<14>Mar  1 12:00:00 h app: x'))).filter(Boolean).length, 25);
  });

  test('copy on write: a transform in one path never changes what another path delivers', async () => {
    const metrics = new Metrics();
    const dest = (name: string) => {
      const rec = new RecordingDestination();
      const runner = new DestinationRunner(name, rec, new MemoryBuffer(1 << 20, 'block'), metrics, { initialMs: 5, maxMs: 20 }, new DeadLetterFile(`${tempDir('dl')}/${name}.ndjson`, name));
      runner.start();
      return { rec, runner };
    };
    const a = dest('a'), b = dest('b'), c = dest('c');
    const redact = build({ type: 'redact' });
    const kv = build({ type: 'parse_kv' });
    const router = new Router([
      { from: ['net'], filter: null, final: false, fallback: false, to: [a.runner], transform: new TransformChain([kv, redact]) },
      { from: ['net'], filter: null, final: false, fallback: false, to: [b.runner] },
      { from: ['net'], filter: null, final: false, fallback: false, to: [c.runner], transform: new TransformChain([build({ type: 'throttle', limit: 1 })]) },
    ], ['net'], [a.runner, b.runner, c.runner]);
    const evs = [syslog('<38>Mar  1 12:00:00 web1 app: login user=alice from 192.0.2.1'), syslog('<38>Mar  1 12:00:00 web1 app: login user=bob from 192.0.2.2')];
    router.dispatch('net', evs, null, true);
    await waitFor(() => a.rec.received.length === 2 && b.rec.received.length === 2 && c.rec.received.length === 1, 'deliveries');
    assert.deepEqual(a.rec.received.map((e) => e.message), ['login user=[REDACTED] from [REDACTED]', 'login user=[REDACTED] from [REDACTED]']);
    assert.deepEqual(a.rec.received[0]!.fields, { user: '[REDACTED]' });
    assert.deepEqual(b.rec.received.map((e) => e.message), ['login user=alice from 192.0.2.1', 'login user=bob from 192.0.2.2']);
    assert.equal(b.rec.received[0]!.fields, null);
    // A transform that only selects (throttle) passes the same object on: no copy was needed.
    assert.equal(c.rec.received[0], evs[0]);
  });
});
