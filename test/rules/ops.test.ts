// The operations rule types: threshold, first_seen, rate_spike.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metrics } from '../../src/metrics/registry.js';
import { RULE_SETS, ruleSetKind } from '../../src/rules/index.js';
import type { RuleSet } from '../../src/rules/types.js';
import { syslog } from './helpers.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
function build(config: Record<string, unknown>): RuleSet {
  const kind = ruleSetKind(String(config.type))!;
  return kind.build(kind.compile(kind.schema.parse(config), '/').compiled, { name: 'ops', metrics: new Metrics() });
}

describe('operations rules', () => {
  test('every rule set type is registered with a description', () => {
    assert.deepEqual(RULE_SETS.map((k) => k.type), ['sigma', 'threshold', 'first_seen', 'rate_spike']);
    for (const k of RULE_SETS) assert.ok(k.description.length > 10);
  });

  test('threshold: N per key in a sliding window, once per key and window', () => {
    const rs = build({ type: 'threshold', title: 'disk errors', level: 'high', count: 3, window: '1m', key: '${HOST}', filter: 'message("I/O error")' });
    const ev = (s: number, host: string, msg = 'blk_update_request: I/O error, dev sda, sector 42') => syslog(`<3>1 ${at(s)} ${host} kernel - - - ${msg}`);
    const alerts = rs.process([ev(0, 'a'), ev(10, 'a'), ev(20, 'b'), ev(30, 'a'), ev(40, 'a'), ev(45, 'x', 'link up'), ev(50, 'b')]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.message, 'disk errors');
    assert.equal(alerts[0]!.hostname, 'a');
    assert.equal((alerts[0]!.fields as any).count, 3);
    assert.equal(rs.process([ev(100, 'a'), ev(110, 'a'), ev(120, 'a')]).length, 1);
  });

  test('first_seen: a new listening port per host after the learning period', () => {
    const rs = build({ type: 'first_seen', title: 'new listening port', key: '${HOST}', value: '${fields.port}', learning: '10m' });
    const ev = (s: number, host: string, port: string) => { const e = syslog(`<6>1 ${at(s)} ${host} ss - - - listening`); e.fields = { port }; return e; };
    assert.equal(rs.process([ev(0, 'web1', '22'), ev(60, 'web1', '443'), ev(120, 'db1', '5432')]).length, 0);
    const alerts = rs.process([ev(700, 'web1', '22'), ev(710, 'web1', '4444'), ev(720, 'db1', '22')]);
    assert.deepEqual(alerts.map((a) => `${a.hostname}:${(a.fields as any).value}`), ['web1:4444', 'db1:22']);
  });

  test('rate_spike: a bucket far above its EWMA baseline, only once the baseline has samples', () => {
    const rs = build({ type: 'rate_spike', title: 'login burst', bucket: '1m', factor: 3, min_samples: 3, min_count: 10 });
    const burst = (minute: number, n: number) => Array.from({ length: n }, (_, i) => syslog(`<38>1 ${at(minute * 60 + i % 60)} h sshd - - - Accepted password for x`));
    const quiet = [0, 1, 2, 3].flatMap((m) => burst(m, 5));
    assert.equal(rs.process(quiet).length, 0);
    assert.equal(rs.process(burst(4, 40)).length, 0); // decided when the bucket closes
    const alerts = rs.process(burst(5, 5));
    assert.equal(alerts.length, 1);
    assert.equal((alerts[0]!.fields as any).count, 40);
  });
});
