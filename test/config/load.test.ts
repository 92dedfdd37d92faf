// Config loading: defaults, env secrets, and errors that name file:line:col and what was expected.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfigText } from '../../src/config/load.js';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../../src/config/default.js';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfigText(yaml, 'cfg.yaml', env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.message.split('\n');
  }
  assert.fail('expected the config to be refused');
}

const BASE = `sources:
  net:
    type: syslog
    listen: [tcp://127.0.0.1:0]
destinations:
  out: { type: file, path: /tmp/x.log }
log:
  - { from: net, to: out }
`;

describe('loadConfigText', () => {
  test('the embedded default is valid and has its contract', () => {
    const c = loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME, {});
    const net = c.sources.get('net')!.config as unknown as { listen: { text: string }[] };
    assert.deepEqual(net.listen.map((a) => a.text), ['udp://127.0.0.1:5140', 'tcp://127.0.0.1:5140']);
    assert.equal(c.dataDir, './data');
    assert.equal(c.api?.port, 8514);
    assert.equal(c.api?.host, '127.0.0.1');
  });

  test('defaults are filled in and the result is frozen', () => {
    const c = loadConfigText(BASE, 'cfg.yaml', {});
    const src = c.sources.get('net')!.config as unknown as Record<string, unknown>;
    assert.equal(src.max_message_bytes, 65536);
    assert.equal(src.format, 'auto');
    const dst = c.destinations.get('out')!.config;
    assert.deepEqual({ type: dst.buffer.type, when_full: dst.buffer.when_full }, { type: 'memory', when_full: 'block' });
    assert.ok(Object.isFrozen(c));
  });

  test('sizes and durations accept units', () => {
    const c = loadConfigText(BASE.replace('listen: [tcp://127.0.0.1:0]', 'listen: [tcp://127.0.0.1:0]\n    max_message_bytes: 8KiB\n    idle_timeout: 2m'), 'cfg.yaml', {});
    const src = c.sources.get('net')!.config as unknown as Record<string, unknown>;
    assert.equal(src.max_message_bytes, 8192);
    assert.equal(src.idle_timeout, 120_000);
  });

  test('${env.NAME} is substituted; an unset one is an error at its position', () => {
    const yaml = BASE.replace('/tmp/x.log', '"/tmp/${env.SLUICE_T}/x.log"');
    const c = loadConfigText(yaml, 'cfg.yaml', { SLUICE_T: 'secret' });
    assert.equal((c.destinations.get('out')!.config as unknown as { path: string }).path, '/tmp/secret/x.log');
    const [p] = problems(yaml);
    assert.match(p!, /^cfg\.yaml:6:28: environment variable SLUICE_T is not set/);
  });

  test('an unknown key is reported at the key, with a suggestion; the missing one is named', () => {
    const ps = problems(BASE.replace('    listen:', '    lisen:'));
    assert.ok(ps.some((p) => /^cfg\.yaml:4:5: unknown key "lisen" \(did you mean "listen"\?\)/.test(p)), ps.join('\n'));
    assert.ok(ps.some((p) => /^cfg\.yaml:3:5: missing required key "listen" \(addresses: udp:/.test(p)), ps.join('\n'));
  });

  test('an unknown component type suggests the closest known one', () => {
    const [p] = problems(BASE.replace('type: syslog', 'type: sylsog'));
    assert.match(p!, /^cfg\.yaml:3:11: unknown source type "sylsog" \(did you mean "syslog"\?\)/);
  });

  test('a bad listen address says what was expected', () => {
    const [p] = problems(BASE.replace('tcp://127.0.0.1:0', 'tcp://127.0.0.1:99999'));
    assert.match(p!, /^cfg\.yaml:4:14: port 99999 is out of range/);
    const [q] = problems(BASE.replace('tcp://127.0.0.1:0', 'http://127.0.0.1:1'));
    assert.match(q!, /expected udp:\/\/, tcp:\/\/, tls:\/\/, unix:\/\/ followed by an address/);
  });

  test('a wrong enum value lists the options', () => {
    const [p] = problems(BASE.replace('listen: [tcp://127.0.0.1:0]', 'listen: [tcp://127.0.0.1:0]\n    framing: newline'));
    assert.match(p!, /^cfg\.yaml:5:14: .*"auto"\|"lf"\|"octet"/);
  });

  test('a log path naming an undefined destination', () => {
    const [p] = problems(BASE.replace('to: out', 'to: ouy'));
    assert.match(p!, /^cfg\.yaml:8:22: unknown destination "ouy" \(did you mean "out"\?\)/);
  });

  test('filters: a syntax error names the column; inline expressions in log paths work', () => {
    const bad = BASE + 'filters:\n  f: facility(auth) and\n';
    assert.match(problems(bad)[0]!, /^cfg\.yaml:10:6: filter "f": /);
    const c = loadConfigText(BASE.replace('to: out }', 'to: out, filter: "level(err..emerg)" }'), 'cfg.yaml', {});
    assert.equal(typeof c.log[0]!.filter, 'function');
  });

  test('a template with an unknown macro', () => {
    const [p] = problems(BASE.replace('path: /tmp/x.log', 'path: "/tmp/${HOTS}.log"'));
    assert.match(p!, /^cfg\.yaml:6:28: template .*unknown macro \$\{HOTS\}/);
  });

  test('two listeners on one port clash; different protocols do not', () => {
    const clash = BASE.replace('listen: [tcp://127.0.0.1:0]', 'listen: [tcp://127.0.0.1:5999]') +
      '  # second\n'.replace('  # second\n', '') ;
    const yaml = clash.replace('destinations:', '  other:\n    type: syslog\n    listen: [tls://0.0.0.0:5999, udp://127.0.0.1:5999]\n    tls: { cert: c, key: k }\ndestinations:');
    const ps = problems(yaml);
    assert.equal(ps.length, 1, ps.join('\n'));
    assert.match(ps[0]!, /^cfg\.yaml:7:14: tls:\/\/0\.0\.0\.0:5999 clashes with source net/);
  });

  test('broken YAML is reported as YAML with its position', () => {
    const [p] = problems('sources:\n  net:\n    type: syslog\n   listen: [x]\n');
    assert.match(p!, /^cfg\.yaml:\d+:\d+: YAML: /);
  });

  test('several problems are all reported at once', () => {
    const ps = problems(BASE.replace('type: file', 'type: file, fsync: maybe').replace('to: out', 'to: nope'));
    assert.equal(ps.length, 2, ps.join('\n'));
  });
});
