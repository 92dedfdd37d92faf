// `sluice parse`: the JSON event contract of DESIGN.md, from the real command line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { SLUICE_BIN } from '../helpers/daemon.js';

function run(args: string[], input: string | Buffer): { status: number | null; lines: Record<string, unknown>[]; stderr: string } {
  const r = spawnSync(process.execPath, [SLUICE_BIN, 'parse', ...args], { input });
  const out = r.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, lines: out, stderr: r.stderr.toString() };
}

describe('sluice parse', () => {
  test('--framing none: one message from stdin gives the whole JSON event', () => {
    const r = run(['--framing', 'none'], '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.lines.length, 1);
    const ev = r.lines[0]!;
    assert.deepEqual(Object.keys(ev).sort(), ['appname', 'facility', 'fields', 'hostname', 'message', 'msgid', 'procid', 'received_at', 'severity', 'source', 'structured_data', 'timestamp', 'version'].sort());
    assert.deepEqual({ ...ev, received_at: undefined }, {
      timestamp: '2003-10-11T22:14:15.003Z', received_at: undefined, facility: 20, severity: 5, version: 1,
      hostname: 'mymachine.example.com', appname: 'evntslog', procid: '77', msgid: 'ID47',
      structured_data: { 'exampleSDID@32473': { iut: '3', eventSource: 'Application' } },
      message: 'An application event',
      source: { name: 'stdin', transport: 'stdin', address: null, port: null, tls_peer: null },
      fields: {},
    });
    assert.match(String(ev.received_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('--framing none keeps embedded newlines in the one message', () => {
    const r = run(['--framing', 'none'], '<13>1 - h a - - - line one\nline two\n');
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0]!.message, 'line one\nline two');
  });

  test('RFC 3164: TAG is appname and [pid] is procid; absent values are null', () => {
    const r = run(['--framing', 'none', '--format', 'rfc3164'], '<38>Nov 23 18:28:41 web-01 sshd[4242]: Accepted publickey');
    const ev = r.lines[0]!;
    assert.equal(ev.appname, 'sshd');
    assert.equal(ev.procid, '4242');
    assert.equal(ev.msgid, null);
    assert.equal(ev.version, null);
    assert.equal(ev.structured_data, null);
  });

  test('lf and octet framing: one event per message', () => {
    const lf = run(['--framing', 'lf'], '<13>1 - h a - - - one\n<13>1 - h a - - - two\n');
    assert.deepEqual(lf.lines.map((l) => l.message), ['one', 'two']);
    const oc = run(['--framing', 'octet'], '21 <13>1 - h a - - - one21 <13>1 - h a - - - two');
    assert.deepEqual(oc.lines.map((l) => l.message), ['one', 'two']);
  });

  test('a strict --format failure gives {"error"} for that message and a non-zero exit', () => {
    const r = run(['--framing', 'lf', '--format', 'rfc5424'], '<13>1 - h a - - - good\nnot syslog at all\n<13>1 - h a - - - also good\n');
    assert.equal(r.status, 1);
    assert.equal(r.lines.length, 3);
    assert.equal(r.lines[0]!.message, 'good');
    assert.match(String(r.lines[1]!.error), /not rfc5424: no PRI/);
    assert.equal(r.lines[2]!.message, 'also good');
  });

  test('invalid UTF-8 shows as U+FFFD, the rest of the event intact', () => {
    const r = run(['--framing', 'none'], Buffer.concat([Buffer.from('<13>1 - h a - - - bad '), Buffer.from([0xc3, 0x28]), Buffer.from(' end')]));
    assert.equal(r.status, 0);
    assert.equal(r.lines[0]!.message, 'bad \ufffd( end');
    assert.deepEqual(r.lines[0]!.fields, { invalid_utf8: true }, 'the JSON says the bytes were not UTF-8');
  });

  test('usage errors are clear', () => {
    const r = run(['--format', 'xml'], '');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--format must be auto, rfc5424, rfc3164 or none/);
  });
});
