// RFC 5424 and RFC 3164 output, byte for byte: pass-through, overrides, NILVALUEs, SD escaping, sanitising, UTF-8.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rfc3164TimestampToIso } from '../../../src/codec/timestamp.js';
import { encode, encodeText, fromValues, localStamp, NOW, NOW_ISO, parsed, SRC } from './helpers.js';

const EX1 = Buffer.concat([
  Buffer.from('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - '),
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from("'su root' failed for lonvick on /dev/pts/8"),
]);
const EX2 = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.";
const EX3 = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...';
const EX4 = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]';
const BSD = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
const BSD_PID = '<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: user=bob action=login';

describe('rfc5424 encoder', () => {
  test('RFC 5424 input goes out byte for byte (examples 1-4, BOM kept)', () => {
    for (const m of [EX1, EX2, EX3, EX4]) {
      const buf = typeof m === 'string' ? Buffer.from(m) : m;
      assert.deepEqual(encode('rfc5424', parsed(buf)), buf, String(m));
    }
  });

  test('still byte for byte after every field was read (decoded values cached in the event)', () => {
    for (const m of [EX2, EX3, EX4]) {
      const ev = parsed(m);
      ev.toJSON();
      assert.equal(encodeText('rfc5424', ev), m);
    }
  });

  test('facility, severity, hostname and app-name overrides; the rest as received', () => {
    assert.equal(
      encodeText('rfc5424', parsed(EX3), { facility: 1, severity: 6, hostname: 'aliyun.example.com', appname: 'tag' }),
      '<14>1 2003-10-11T22:14:15.003Z aliyun.example.com tag - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...',
    );
  });

  test('an event built from values: NILVALUE for absent fields, receive time as TIMESTAMP, no MSG part', () => {
    assert.equal(encodeText('rfc5424', fromValues({})), `<13>1 ${NOW_ISO} - - - - -`);
    assert.equal(encodeText('rfc5424', fromValues({ message: '' })), `<13>1 ${NOW_ISO} - - - - -`);
    assert.equal(
      encodeText('rfc5424', fromValues({ facility: 16, severity: 3, timestamp: '2026-01-02T03:04:05.678+01:00', hostname: 'web-01', appname: 'nginx', procid: '42', msgid: 'ACCESS', message: 'GET / 200' })),
      '<131>1 2026-01-02T03:04:05.678+01:00 web-01 nginx 42 ACCESS - GET / 200',
    );
  });

  test('structured data from values: PARAM-VALUE escapes \\ " ] and repeated params; names sanitised', () => {
    const ev = fromValues({
      message: 'm',
      structuredData: {
        'origin@32473': { ip: ['192.0.2.1', '192.0.2.2'], note: 'say "hi" \\o/ [x]' },
        'bad id=with spaces': { 'p"x': 'v' },
        'empty@1': {},
      },
    });
    assert.equal(
      encodeText('rfc5424', ev),
      `<13>1 ${NOW_ISO} - - - - [origin@32473 ip="192.0.2.1" ip="192.0.2.2" note="say \\"hi\\" \\\\o/ [x\\]"][bad_id_with_spaces p_x="v"][empty@1] m`,
    );
  });

  test('structured data changed on a parsed event is formatted from the new value', () => {
    const ev = parsed(EX3);
    ev.structuredData = { 'meta@1': { seq: '7' } };
    assert.equal(encodeText('rfc5424', ev),
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [meta@1 seq="7"] An application event log entry...');
    ev.structuredData = null;
    assert.equal(encodeText('rfc5424', ev), '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - An application event log entry...');
  });

  test('received SD that is not valid RFC 5424 (an SD-ID over 32 characters) is rewritten valid', () => {
    const long = 'x'.repeat(40);
    const ev = parsed(`<13>1 2026-01-01T00:00:00Z h a - - [${long} k="v"] m`);
    assert.equal(encodeText('rfc5424', ev), `<13>1 2026-01-01T00:00:00Z h a - - [${'x'.repeat(32)} k="v"] m`);
  });

  test('header fields: PRINTUSASCII only (each other character one "_"), RFC 5424 lengths', () => {
    const ev = fromValues({
      hostname: 'höst name', appname: 'a'.repeat(60), procid: 'p\tq', msgid: 'M'.repeat(40), message: 'x',
      timestamp: '2026-01-02T03:04:05Z',
    });
    assert.equal(encodeText('rfc5424', ev), `<13>1 2026-01-02T03:04:05Z h_st_name ${'a'.repeat(48)} p_q ${'M'.repeat(32)} - x`);
    // Raw header bytes a loose parse let through: one '_' per UTF-8 character.
    const raw = parsed('<13>1 2026-01-02T03:04:05Z hösт😀 app - - - m');
    assert.equal(encodeText('rfc5424', raw), '<13>1 2026-01-02T03:04:05Z h_s__ app - - - m');
    assert.equal(encodeText('rfc5424', fromValues({ hostname: 'a😀b', message: 'm', timestamp: '2026-01-02T03:04:05Z' })), '<13>1 2026-01-02T03:04:05Z a_b - - - - m');
  });

  test('timestamps: over six fraction digits cut, +0100 and lower-case z fixed, others in UTC, junk gives the receive time', () => {
    const ts = (t: string) => encodeText('rfc5424', fromValues({ timestamp: t, message: 'm' })).split(' ')[1];
    assert.equal(ts('2026-01-02T03:04:05.123456789+01:00'), '2026-01-02T03:04:05.123456+01:00');
    assert.equal(ts('2026-01-02T03:04:05+0100'), '2026-01-02T03:04:05+01:00');
    assert.equal(ts('2026-01-02 03:04:05.5z'), '2026-01-02T03:04:05.5Z');
    assert.equal(ts('Fri, 02 Jan 2026 03:04:05 GMT'), '2026-01-02T03:04:05.000Z');
    assert.equal(ts('yesterday'), NOW_ISO);
  });

  test('RFC 3164 input: the stamp as ISO 8601 (local offset), TAG and PID as APP-NAME and PROCID', () => {
    const iso = rfc3164TimestampToIso('Feb  5 17:32:18', NOW)!;
    assert.equal(encodeText('rfc5424', parsed(BSD_PID)), `<13>1 ${iso} 10.0.0.99 myapp 123 - - user=bob action=login`);
  });

  test('invalid UTF-8 in MSG passes through as bytes, also after the message was read', () => {
    const buf = Buffer.concat([Buffer.from('<13>1 2026-01-02T03:04:05Z h a - - - bad '), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from(' end')]);
    assert.deepEqual(encode('rfc5424', parsed(buf)), buf);
    const ev = parsed(buf);
    assert.ok(ev.message!.includes('\uFFFD'));
    assert.deepEqual(encode('rfc5424', ev), buf);
    ev.message = 'replaced';
    assert.equal(encodeText('rfc5424', ev), '<13>1 2026-01-02T03:04:05Z h a - - - replaced');
  });
});

describe('rfc3164 encoder', () => {
  test('RFC 3164 input goes out byte for byte', () => {
    assert.equal(encodeText('rfc3164', parsed(BSD)), BSD);
    assert.equal(encodeText('rfc3164', parsed(BSD_PID)), BSD_PID);
  });

  test('RFC 5424 input: the ISO stamp converted to local time, TAG[PID]: from APP-NAME and PROCID', () => {
    const ms = Date.parse('2003-08-24T05:14:15.000003-07:00');
    assert.equal(encodeText('rfc3164', parsed(EX2)), `<165>${localStamp(ms)} 192.0.2.1 myproc[8710]: %% It's time to make the do-nuts.`);
    assert.equal(encodeText('rfc3164', parsed(EX3)), `<165>${localStamp(Date.parse('2003-10-11T22:14:15.003Z'))} mymachine.example.com evntslog: An application event log entry...`);
  });

  test('overrides of facility, severity, hostname and tag', () => {
    assert.equal(
      encodeText('rfc3164', parsed(BSD_PID), { facility: 16, severity: 4, hostname: 'relay', appname: 'tag' }),
      '<132>Feb  5 17:32:18 relay tag[123]: user=bob action=login',
    );
  });

  test('no program: no TAG (as ${MSGHDR}); no hostname: the peer address; no time: the receive time', () => {
    assert.equal(encodeText('rfc3164', fromValues({ message: 'hello' })), `<13>${localStamp(NOW)} 192.0.2.9 hello`);
    const noPeer = fromValues({ message: 'hello' }, { ...SRC, address: null });
    assert.equal(encodeText('rfc3164', noPeer), `<13>${localStamp(NOW)} - hello`);
  });

  test('TAG without "[", "]", ":" or spaces, PID without brackets', () => {
    const ev = fromValues({ appname: 'a:b[c] d', procid: '1]2', hostname: 'h', message: 'm', timestamp: '2026-01-02T03:04:05Z' });
    assert.equal(encodeText('rfc3164', ev), `<13>${localStamp(Date.parse('2026-01-02T03:04:05Z'))} h a_b_c__d[1_2]: m`);
  });

  test('invalid UTF-8 passes through', () => {
    const buf = Buffer.concat([Buffer.from('<13>Feb  5 17:32:18 h app: '), Buffer.from([0xfe, 0x80])]);
    assert.deepEqual(encode('rfc3164', parsed(buf)), buf);
  });
});
