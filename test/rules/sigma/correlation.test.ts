// Sigma correlation rules on the stream: event_count, value_count, temporal, temporal_ordered, aliases, generate, bounds.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metrics } from '../../../src/metrics/registry.js';
import { ruleSet, syslog } from '../helpers.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const failed = (s: number, ip: string, user = 'root', host = 'web1') =>
  syslog(`<38>1 ${at(s)} ${host} sshd 812 - - Failed password for ${user} from ${ip} port ${40000 + s} ssh2`);
const accepted = (s: number, ip: string, user = 'root', host = 'web1') =>
  syslog(`<38>1 ${at(s)} ${host} sshd 812 - - Accepted password for ${user} from ${ip} port ${40000 + s} ssh2`);

const BASE = `title: SSH failed password
name: ssh_failed
id: 6a0c1f9e-1d7e-4d5e-9d0a-0b6a3c2f0001
author: sluice tests
logsource:
  product: linux
  service: sshd
detection:
  sel:
    message|contains: 'Failed password for'
  condition: sel
---
title: SSH accepted password
name: ssh_accepted
logsource:
  service: sshd
detection:
  sel:
    message|contains: 'Accepted password for'
  condition: sel
`;
// src_ip and user come from a parse_regex transform in a pipeline; here the mapping reads them from the message.
const MAPPING = { field_mapping: {} };

function withFields(evs: ReturnType<typeof failed>[]) {
  for (const e of evs) {
    const m = /for (?:invalid user )?(\S+) from (\S+)/.exec(e.message ?? '');
    e.fields = { user: m?.[1], src_ip: m?.[2] };
  }
  return evs;
}

describe('Sigma correlations', () => {
  test('event_count: once per group and window, as soon as the condition holds; the window slides on event time', () => {
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': `title: SSH brute force
id: bf-1
level: high
correlation:
  type: event_count
  rules: [ssh_failed]
  group-by: [src_ip]
  timespan: 1m
  condition: { gte: 5 }
` }, MAPPING);
    // 5 failures within 40 s: alert at the fifth; 3 more inside the same window: no second alert.
    const first = rs.process(withFields([0, 10, 20, 30, 40, 45, 50, 55].map((s) => failed(s, '198.51.100.7'))));
    assert.equal(first.length, 1);
    const a = first[0]!;
    assert.equal(a.message, 'SSH brute force');
    assert.equal(a.severity, 3);
    const f = a.fields as Record<string, any>;
    assert.equal(f.src_ip, '198.51.100.7');
    assert.deepEqual(f.group, { src_ip: '198.51.100.7' });
    assert.equal(f.count, 5);
    assert.equal(f.first, at(0));
    assert.equal(f.last, at(40));
    assert.equal(f.rule.id, 'bf-1');
    // Failures spread thinner than 5 a minute never alert (the window slides).
    assert.equal(rs.process(withFields([0, 20, 40, 60, 80, 100, 120].map((s) => failed(200 + s, '192.0.2.44')))).length, 0);
    // A later burst from the first address is a new window.
    assert.equal(rs.process(withFields([300, 301, 302, 303, 304].map((s) => failed(s, '198.51.100.7')))).length, 1);
  });

  test('event_count with an upper bound decides when the window closes', () => {
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': 'title: few\ncorrelation:\n  type: event_count\n  rules: [ssh_failed]\n  group-by: [src_ip]\n  timespan: 1m\n  condition: { gte: 2, lte: 3 }\n' });
    assert.equal(rs.process(withFields([failed(0, '192.0.2.1'), failed(1, '192.0.2.1'), failed(0, '192.0.2.2'), failed(1, '192.0.2.2'), failed(2, '192.0.2.2'), failed(3, '192.0.2.2')])).length, 0);
    const closed = rs.process(withFields([failed(120, '192.0.2.9')]));
    assert.deepEqual(closed.map((a) => (a.fields as any).src_ip), ['192.0.2.1']);
  });

  test('value_count: distinct users per source address (password spraying)', () => {
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': 'title: spraying\ncorrelation:\n  type: value_count\n  rules: [ssh_failed]\n  group-by: [src_ip]\n  timespan: 10m\n  condition:\n    field: user\n    gte: 4\n' });
    const same = withFields([0, 1, 2, 3, 4, 5].map((s) => failed(s, '203.0.113.5', 'root')));
    assert.equal(rs.process(same).length, 0);
    const spray = withFields(['alice', 'bob', 'carol', 'bob', 'dave'].map((u, i) => failed(10 + i, '203.0.113.6', u)));
    const alerts = rs.process(spray);
    assert.equal(alerts.length, 1);
    assert.equal((alerts[0]!.fields as any).count, 4);
    assert.deepEqual([...(alerts[0]!.fields as any).values].sort(), ['alice', 'bob', 'carol', 'dave']);
  });

  test('temporal: all rules within the timespan, any order, per group', () => {
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': 'title: fail and success\ncorrelation:\n  type: temporal\n  rules: [ssh_failed, ssh_accepted]\n  group-by: [src_ip]\n  timespan: 5m\n' });
    assert.equal(rs.process(withFields([accepted(0, '192.0.2.7'), failed(30, '192.0.2.7')])).length, 1);
    assert.equal(rs.process(withFields([accepted(0, '192.0.2.8'), failed(400, '192.0.2.8')])).length, 0);
    assert.equal(rs.process(withFields([accepted(1000, '192.0.2.9'), failed(1010, '192.0.2.10')])).length, 0);
  });

  test('temporal_ordered chained on event_count: many failures, then a success (the specification\'s example)', () => {
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': `title: many failures
name: many_failed
correlation:
  type: event_count
  rules: [ssh_failed]
  group-by: [user]
  timespan: 10m
  condition: { gte: 3 }
---
title: Successful login after brute force
level: critical
correlation:
  type: temporal_ordered
  rules: [many_failed, ssh_accepted]
  group-by: [user]
  timespan: 1h
` });
    // The success first, then failures: wrong order, no alert.
    assert.equal(rs.process(withFields([accepted(0, '192.0.2.1', 'alice'), failed(1, '192.0.2.1', 'alice'), failed(2, '192.0.2.1', 'alice'), failed(3, '192.0.2.1', 'alice')])).length, 0);
    const alerts = rs.process(withFields([accepted(100, '192.0.2.1', 'alice')]));
    assert.deepEqual(alerts.map((a) => a.message), ['Successful login after brute force']);
    assert.equal(alerts[0]!.severity, 2);
    // Not generated on its own: only the outer correlation alerts.
    assert.equal(rs.process(withFields([failed(200, '192.0.2.1', 'bob'), failed(201, '192.0.2.1', 'bob'), failed(202, '192.0.2.1', 'bob')])).length, 0);
  });

  test('aliases: group by one name mapped to different fields per rule', () => {
    const rs = ruleSet({ 'r.yml': `title: login
name: login
detection:
  s:
    kind: login
  condition: s
---
title: download
name: download
detection:
  s:
    kind: download
  condition: s
---
title: login then download from the same address
correlation:
  type: temporal_ordered
  rules: [login, download]
  group-by: [addr]
  timespan: 5m
  aliases:
    addr:
      login: client_ip
      download: remote_addr
` });
    const ev = (s: number, f: Record<string, unknown>) => { const e = syslog(`<38>1 ${at(s)} h app - - - x`); e.fields = f; return e; };
    assert.equal(rs.process([ev(0, { kind: 'login', client_ip: '10.1.1.1' }), ev(5, { kind: 'download', remote_addr: '10.9.9.9' })]).length, 0);
    const a = rs.process([ev(10, { kind: 'download', remote_addr: '10.1.1.1' })]);
    assert.equal(a.length, 1);
    assert.deepEqual((a[0]!.fields as any).group, { addr: '10.1.1.1' });
  });

  test('generate: true lets the referenced rules alert on their own too', () => {
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': 'title: bf\ncorrelation:\n  type: event_count\n  rules: [ssh_failed]\n  group-by: [src_ip]\n  timespan: 1m\n  condition: { gte: 2 }\n  generate: true\n' });
    const titles = rs.process(withFields([failed(0, '192.0.2.3'), failed(1, '192.0.2.3')])).map((a) => a.message);
    assert.deepEqual(titles, ['SSH failed password', 'SSH failed password', 'bf']);
  });

  test('state is bounded: groups beyond max_groups are forgotten and counted', async () => {
    const metrics = new Metrics();
    const rs = ruleSet({ 'a.yml': BASE, 'b.yml': 'title: bf\ncorrelation:\n  type: event_count\n  rules: [ssh_failed]\n  group-by: [src_ip]\n  timespan: 1h\n  condition: { gte: 100 }\n' }, { max_groups: 50 }, metrics);
    const evs = withFields(Array.from({ length: 200 }, (_, i) => failed(i, `10.0.${i >> 8}.${i & 255}`)));
    rs.process(evs);
    assert.equal(rs.groupCount, 50);
    assert.equal(await metrics.value('sluice_rule_state_evictions_total', { component: 'detect' }), 150);
  });

  test('logsource service selects by app: a sshd rule never sees sudo events', async () => {
    const metrics = new Metrics();
    const rs = ruleSet(BASE.split('---')[0]!.replace('Failed password for', 'password'), {}, metrics);
    rs.process([syslog('<85>Mar  1 12:00:00 web1 sudo: alice : password check failed ; TTY=pts/0'), failed(0, '192.0.2.1')]);
    assert.equal(await metrics.value('sluice_rule_matches_total', { component: 'detect' }), 1);
  });
});
