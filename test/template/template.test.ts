// Templates: macros over raw bytes and over values render the same, paths cannot escape.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { LogEvent } from '../../src/event/log-event.js';
import { DEFAULT_LINE_TEMPLATE, pathSafe, Template } from '../../src/template/template.js';

const SRC = { name: 'net', transport: 'tcp' as const, address: '192.0.2.9', port: 514, tlsPeer: 'CN=web-01' };

function raw(text: string): LogEvent {
  const buf = Buffer.from(text);
  const ev = new LogEvent(SRC, Date.UTC(2026, 10, 23, 12, 0, 0));
  parseSyslog(ev, buf, 0, buf.length, 'auto');
  return ev;
}

function bytes(t: Template, ev: LogEvent): string {
  const w = new ByteWriter(16);
  t.renderInto(ev, w);
  return w.view().toString('utf8');
}

describe('Template', () => {
  test('the default line: ISO date, host, PROGRAM[PID]: and message', () => {
    const t = Template.compile(DEFAULT_LINE_TEMPLATE);
    const ev = raw('<38>1 2026-11-23T10:00:00.5+01:00 web-01 sshd 42 - - Accepted key');
    assert.equal(bytes(t, ev), '2026-11-23T10:00:00.5+01:00 web-01 sshd[42]: Accepted key\n');
    assert.equal(t.render(ev), bytes(t, ev), 'string and byte rendering agree');
  });

  test('no PID: no brackets; no program: no header', () => {
    const t = Template.compile('${MSGHDR}${MSG}');
    assert.equal(bytes(t, raw('<13>1 - h app - - - x')), 'app: x');
    assert.equal(bytes(t, raw('<13>1 - h - - - - x')), 'x');
  });

  test('HOST falls back to the peer address; SOURCEIP, TLS_PEER, SOURCE, TRANSPORT', () => {
    const t = Template.compile('${HOST}|${SOURCEIP}|${TLS_PEER}|${SOURCE}|${TRANSPORT}');
    assert.equal(bytes(t, raw('<13>1 - - app - - - x')), '192.0.2.9|192.0.2.9|CN=web-01|net|tcp');
  });

  test('facility, level, numbers, PRI and structured data', () => {
    const t = Template.compile('$FACILITY.$LEVEL ${FACILITY_NUM}/${LEVEL_NUM} <${PRI}> ${MSGID} ${SDATA}');
    const ev = raw('<165>1 - h a - ID47 [x@1 k="v\\"q"] m');
    assert.equal(bytes(t, ev), 'local4.notice 20/5 <165> ID47 [x@1 k="v\\"q"]');
  });

  test('date macros come from the message stamp, R_ macros from the receive time', () => {
    const t = Template.compile('${YEAR}-${MONTH}-${DAY} ${HOUR}:${MIN}:${SEC} ${R_YEAR}');
    assert.equal(bytes(t, raw('<13>1 2024-02-29T23:59:58Z h a - - - x')), '2024-02-29 23:59:58 2026');
  });

  test('values set by a transform override the raw bytes', () => {
    const t = Template.compile('${HOST} ${PROGRAM} ${MSG}');
    const ev = raw('<13>1 - h a - - - original');
    ev.hostname = 'renamed';
    ev.message = 'redacted';
    assert.equal(bytes(t, ev), 'renamed a redacted');
  });

  test('events built from values render like parsed ones', () => {
    const t = Template.compile(DEFAULT_LINE_TEMPLATE);
    const ev = LogEvent.fromValues(SRC, 0, { timestamp: '2026-11-23T10:00:00Z', hostname: 'h', appname: 'a', procid: '1', message: 'm', facility: 1, severity: 5 });
    assert.equal(bytes(t, ev), '2026-11-23T10:00:00Z h a[1]: m\n');
  });

  test('${fields.NAME}, $$ and unknown macros', () => {
    const ev = raw('<13>1 - h a - - - x');
    ev.fields = { user: 'alice', n: 3 };
    assert.equal(bytes(Template.compile('${fields.user} ${fields.n} ${fields.none} $$5'), ev), 'alice 3  $5');
    assert.throws(() => Template.compile('a ${NOPE} b'), /column 3: unknown macro \$\{NOPE\}/);
    assert.throws(() => Template.compile('a ${HOST'), /unclosed/);
  });

  test('path rendering keeps macro values inside their directory', () => {
    const t = Template.compile('/var/log/${HOST}/${PROGRAM}.log');
    const ev = LogEvent.fromValues(SRC, 0, { hostname: '../../etc', appname: 'a/b\0c', message: 'x' });
    assert.equal(t.render(ev, pathSafe), '/var/log/.._.._etc/a_b_c.log');
    const dots = LogEvent.fromValues(SRC, 0, { hostname: '..', appname: '.', message: 'x' });
    assert.equal(t.render(dots, pathSafe), '/var/log/_/_.log');
  });

  test('multi-byte text is written as UTF-8 across writer growth', () => {
    const t = Template.compile('${MSG}');
    const ev = LogEvent.fromValues(SRC, 0, { message: '☃'.repeat(1000) });
    assert.equal(bytes(t, ev), '☃'.repeat(1000));
  });
});
