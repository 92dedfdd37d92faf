// The parser corpus: RFC 5424 / RFC 3164 examples and real-world variants, field by field.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSyslog, type ParseMode } from '../../src/codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventJson } from '../../src/event/log-event.js';
import { localIso, NOW, parse, SRC } from '../helpers/parse.js';

type Expect = Partial<Omit<EventJson, 'source' | 'received_at' | 'fields'>> & { fields?: Record<string, unknown> };

function check(text: string | Buffer, want: Expect, mode: ParseMode = 'auto'): EventJson {
  const { json, problem } = parse(text, mode);
  assert.equal(problem, null, `no parse problem for ${JSON.stringify(String(text))}`);
  for (const [k, v] of Object.entries(want)) {
    assert.deepEqual((json as unknown as Record<string, unknown>)[k], v, `${k} of ${JSON.stringify(String(text))}`);
  }
  return json;
}

describe('RFC 5424 examples (section 6.5)', () => {
  test('example 1: BOM, no structured data', () => {
    check(Buffer.concat([Buffer.from("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("'su root' failed for lonvick on /dev/pts/8")]), {
      facility: 4, severity: 2, version: 1, timestamp: '2003-10-11T22:14:15.003Z', hostname: 'mymachine.example.com',
      appname: 'su', procid: null, msgid: 'ID47', structured_data: null, message: "'su root' failed for lonvick on /dev/pts/8",
    }, 'rfc5424');
  });

  test('example 2: microseconds and an offset, IP hostname', () => {
    check("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", {
      facility: 20, severity: 5, timestamp: '2003-08-24T05:14:15.000003-07:00', hostname: '192.0.2.1', appname: 'myproc',
      procid: '8710', msgid: null, structured_data: null, message: "%% It's time to make the do-nuts.",
    }, 'rfc5424');
  });

  test('example 3: structured data and a message', () => {
    check('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...', {
      appname: 'evntslog', msgid: 'ID47',
      structured_data: { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } },
      message: 'An application event log entry...',
    }, 'rfc5424');
  });

  test('example 4: two SD elements and no message', () => {
    check('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]', {
      structured_data: { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' }, 'examplePriority@32473': { class: 'high' } },
      message: null,
    }, 'rfc5424');
  });
});

describe('RFC 5424 details', () => {
  test('escapes in PARAM-VALUE: \\" \\] \\\\ and a backslash before other characters stays', () => {
    check('<13>1 - host app - - [x@1 a="say \\"hi\\"" b="[x\\]" c="back\\\\slash" d="C:\\dir"] m', {
      structured_data: { 'x@1': { a: 'say "hi"', b: '[x]', c: 'back\\slash', d: 'C:\\dir' } }, message: 'm',
    }, 'rfc5424');
  });

  test('NILVALUE in every header field', () => {
    check('<14>1 - - - - - -', { facility: 1, severity: 6, timestamp: null, hostname: null, appname: null, procid: null, msgid: null, structured_data: null, message: null }, 'rfc5424');
  });

  test('a repeated PARAM-NAME keeps every value', () => {
    check('<14>1 - h a - - [origin ip="10.0.0.1" ip="10.0.0.2"] x', { structured_data: { origin: { ip: ['10.0.0.1', '10.0.0.2'] } } });
  });

  test('UTF-8 message text and a space-only message', () => {
    check('<14>1 2026-11-23T10:00:00+01:00 h a 1 - - grüße ☃', { message: 'grüße ☃', timestamp: '2026-11-23T10:00:00+01:00' });
    check('<14>1 2026-11-23T10:00:00Z h a 1 - -  ', { message: ' ' });
  });

  test('PRI 0 and 191 are the bounds', () => {
    check('<0>1 - h a - - - x', { facility: 0, severity: 0 });
    check('<191>1 - h a - - - x', { facility: 23, severity: 7 });
  });

  const strictFailures: [string, RegExp][] = [
    ['<13>1 2003-13-11T22:14:15Z h a - - - m', /TIMESTAMP/],
    ['<13>1 2003-10-11 22:14:15Z h a - - - m', /STRUCTURED-DATA|header|TIMESTAMP/],
    ['<13>1 - h a - - [bad m', /STRUCTURED-DATA/],
    ['<13>1 - h a - - [x@1 k=v] m', /STRUCTURED-DATA/],
    ['<13>1 - h a - - x m', /STRUCTURED-DATA/],
    ['<13>1 - h', /header ends/],
    ['<13>Oct 11 22:14:15 host app: m', /VERSION/],
    ['no pri at all', /PRI/],
    ['<13>1 - ' + 'h'.repeat(256) + ' a - - - m', /HOSTNAME/],
    ['<13>1 - h ' + 'a'.repeat(49) + ' - - - m', /APP-NAME/],
  ];
  for (const [text, why] of strictFailures) {
    test(`strict rfc5424 refuses ${JSON.stringify(text.slice(0, 40))}`, () => {
      const { ev, problem } = parse(text, 'rfc5424');
      assert.match(problem ?? '', why);
      // Nothing is lost: the whole text is the message.
      assert.equal(ev.message, text);
      assert.ok(ev.flags & EventFlag.UNPARSED);
    });
  }

  test('auto mode falls back to RFC 3164 when RFC 5424 does not fit', () => {
    const j = check('<13>1 is not a version here', { facility: 1, severity: 5 });
    assert.equal(j.version, null);
    assert.equal(j.message, '1 is not a version here');
  });
});

describe('RFC 3164 examples (section 5.4)', () => {
  test('example 1', () => {
    check("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", {
      facility: 4, severity: 2, timestamp: localIso(2026, 10, 11, 22, 14, 15), hostname: 'mymachine', appname: 'su', procid: null,
      message: "'su root' failed for lonvick on /dev/pts/8", version: null,
    }, 'rfc3164');
  });

  test('example 2: no TAG, the rest is the message', () => {
    check('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!', {
      facility: 1, severity: 5, timestamp: localIso(2026, 2, 5, 17, 32, 18), hostname: '10.0.0.99', appname: null, message: 'Use the BFG!',
    }, 'rfc3164');
  });

  test('example 3: a stamp followed by a zone and year is read up to the seconds', () => {
    // "Aug 24 05:34:00 CST 1987": the stamp is the first 15 characters; what follows is not a
    // hostname/TAG pair in the usual sense, so nothing of it is lost: "CST" is read as HOST.
    const j = check("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.", {
      facility: 20, severity: 5, hostname: 'CST',
    }, 'rfc3164');
    assert.equal(j.message, "1987 mymachine myproc[10]: %% It's time to make the do-nuts.");
  });
});

describe('real-world RFC 3164 variants', () => {
  test('logger without hostname: "TAG: msg" right after the stamp', () => {
    check('<13>Nov 23 18:28:41 root: hello world', { hostname: null, appname: 'root', message: 'hello world' });
  });

  test('TAG[pid]: with hostname', () => {
    check('<38>Nov 23 18:28:41 web-01 sshd[1234]: Accepted publickey for alice', {
      facility: 4, severity: 6, hostname: 'web-01', appname: 'sshd', procid: '1234', message: 'Accepted publickey for alice',
    });
  });

  test('TAG[pid] without the colon', () => {
    check('<13>Nov 23 18:28:41 h app[7] no colon', { appname: 'app', procid: '7', message: 'no colon' });
  });

  test('program with slash (postfix/smtpd)', () => {
    check('<22>Nov 23 18:28:41 mx postfix/smtpd[99]: connect from unknown[192.0.2.7]', {
      appname: 'postfix/smtpd', procid: '99', message: 'connect from unknown[192.0.2.7]',
    });
  });

  test('single-digit day padded with a space, and without', () => {
    check('<13>Nov  3 08:09:10 h a: x', { timestamp: localIso(2026, 11, 3, 8, 9, 10) });
    check('<13>Nov 3 08:09:10 h a: x', { timestamp: localIso(2026, 11, 3, 8, 9, 10), hostname: 'h' });
  });

  test('fractional seconds and an explicit year', () => {
    check('<13>Nov 23 18:28:41.123 h a: x', { timestamp: localIso(2026, 11, 23, 18, 28, 41, '.123'), hostname: 'h' });
    check('<13>Nov 23 2024 18:28:41 h a: x', { timestamp: localIso(2024, 11, 23, 18, 28, 41), hostname: 'h' });
  });

  test('a December stamp received in January belongs to the previous year', () => {
    const buf = Buffer.from('<13>Dec 31 23:59:59 h a: x');
    const ev = new LogEvent(SRC, new Date(2027, 0, 1, 0, 0, 5).getTime());
    parseSyslog(ev, buf, 0, buf.length, 'auto');
    assert.equal(ev.timestamp, localIso(2026, 12, 31, 23, 59, 59));
  });

  test('ISO 8601 stamp in RFC 3164 layout (rsyslog forward format)', () => {
    check('<34>2026-11-23T18:28:41.123+01:00 host app[12]: msg', {
      timestamp: '2026-11-23T18:28:41.123+01:00', hostname: 'host', appname: 'app', procid: '12', message: 'msg', version: null,
    });
  });

  test('Cisco IOS: sequence number, "*" unsynchronised stamp with a colon, %MNEMONIC', () => {
    const j = check('<189>52: *Mar  1 00:01:23.456: %SYS-5-CONFIG_I: Configured from console by vty0', {
      facility: 23, severity: 5, timestamp: localIso(2026, 3, 1, 0, 1, 23, '.456'), hostname: null,
      appname: '%SYS-5-CONFIG_I', message: 'Configured from console by vty0',
    });
    assert.equal(j.fields.sequence, 52);
  });

  test('Cisco with a synchronised "." stamp', () => {
    check('<187>1234: .Nov 23 10:00:00.001: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down', {
      severity: 3, appname: '%LINK-3-UPDOWN', message: 'Interface Gi0/1, changed state to down',
    });
  });

  test('missing PRI: user.notice (RFC 3164 section 4.3.3), header still parsed', () => {
    check('Nov 23 18:28:41 host app[1]: no pri', { facility: 1, severity: 5, hostname: 'host', appname: 'app', procid: '1', message: 'no pri' });
  });

  test('plain text without PRI or stamp is all message', () => {
    check('just some text: with a colon', { facility: 1, severity: 5, timestamp: null, hostname: null, appname: null, message: 'just some text: with a colon' });
  });

  test('a kernel line with brackets in the text', () => {
    check('<4>Nov 23 18:28:41 h kernel: [12345.678] eth0: link up', { facility: 0, severity: 4, appname: 'kernel', message: '[12345.678] eth0: link up' });
  });

  test('an invalid PRI is text, not a priority', () => {
    const j = check('<999>Nov 23 18:28:41 h a: x', { facility: 1, severity: 5 });
    assert.equal(j.message, '<999>Nov 23 18:28:41 h a: x');
  });

  test('strict rfc3164 requires PRI and a stamp', () => {
    assert.match(parse('Nov 23 18:28:41 h a: x', 'rfc3164').problem ?? '', /PRI/);
    assert.match(parse('<13>hello', 'rfc3164').problem ?? '', /timestamp/);
  });

  test('format none keeps everything as the message', () => {
    const { ev } = parse('<13>Nov 23 18:28:41 h a: x', 'none');
    assert.equal(ev.message, '<13>Nov 23 18:28:41 h a: x');
    assert.equal(ev.hostname, null);
  });
});

describe('parse works on a range of a larger buffer', () => {
  test('offsets are absolute, neighbours untouched', () => {
    const buf = Buffer.from('XXXX<14>1 - host app 42 - - inner messageYYYY');
    const ev = new LogEvent(SRC, NOW);
    assert.equal(parseSyslog(ev, buf, 4, buf.length - 4, 'rfc5424'), null);
    assert.equal(ev.hostname, 'host');
    assert.equal(ev.procid, '42');
    assert.equal(ev.message, 'inner message');
  });
});
