// kv, json and template output, byte for byte: quoting rule, separators, overrides, headers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter } from '../../../src/codec/byte-writer.js';
import { ENCODERS } from '../../../src/codec/encode/index.js';
import { Template } from '../../../src/template/template.js';
import { encode, encodeText, fromValues, localStamp, NOW_ISO, parsed } from './helpers.js';

const TS = '2026-01-02T03:04:05.678Z';

describe('kv encoder', () => {
  test('built-in pairs in order, absent ones left out, names for severity and facility', () => {
    const ev = fromValues({ timestamp: TS, facility: 16, severity: 6, hostname: 'web-01', appname: 'nginx', procid: '42', message: 'GET' });
    assert.equal(encodeText('kv', ev), `timestamp=${TS} host=web-01 app=nginx procid=42 severity=info facility=local0 message=GET`);
    assert.equal(encodeText('kv', fromValues({})), `timestamp=${NOW_ISO} host=192.0.2.9 severity=notice facility=user`);
  });

  test('quoting: empty, spaces, quotes, control characters and separator characters; escapes inside quotes', () => {
    const ev = fromValues({
      timestamp: TS, message: 'say "hi"\tC:\\x\nnext',
      fields: { empty: '', plain: 'a=b', pipe: 'x|y', num: 5, flag: true, obj: { a: 1 } },
    });
    assert.equal(
      encodeText('kv', ev),
      `timestamp=${TS} host=192.0.2.9 severity=notice facility=user message="say \\"hi\\"\\tC:\\\\x\\nnext" ` +
      'empty="" plain=a=b pipe=x|y num=5 flag=true obj="{\\"a\\":1}"',
    );
  });

  test('seed 002: "||" between pairs behind an RFC 5424 header with facility, severity, hostname and tag', () => {
    const ev = fromValues({ timestamp: TS, message: 'user login', fields: { pipe: 'x|y', 'the key': 'v' } });
    assert.equal(
      encodeText('kv', ev, { separator: '||', header: 'rfc5424', facility: 1, severity: 6, hostname: 'aliyun.example.com', appname: 'tag' }),
      `<14>1 ${TS} aliyun.example.com tag - - - timestamp=${TS}||host=aliyun.example.com||app=tag||severity=info||facility=user||` +
      'message="user login"||pipe="x|y"||the_key=v',
    );
  });

  test('another pair string; keys lose separator and pair characters; a field replaces a built-in of its name', () => {
    const ev = fromValues({ timestamp: TS, hostname: 'h', message: 'm', fields: { host: 'from-field', 'a:b;c': '1' } });
    assert.equal(encodeText('kv', ev, { separator: ';', pair: ':' }), `timestamp:${TS};severity:notice;facility:user;message:m;host:from-field;a_b_c:1`);
  });

  test('an RFC 3164 header with the TAG when asked', () => {
    const ev = parsed('<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: hi');
    assert.ok(encodeText('kv', ev, { header: 'rfc3164' }).startsWith('<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: timestamp='));
  });
});

describe('json encoder', () => {
  test('exactly JSON.stringify(ev.toJSON())', () => {
    const ev = parsed('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event');
    assert.equal(encodeText('json', ev), JSON.stringify(ev.toJSON()));
  });

  test('overrides change the JSON fields', () => {
    const ev = fromValues({ facility: 1, severity: 5, hostname: 'h', appname: 'a', message: 'm' });
    const j = JSON.parse(encodeText('json', ev, { facility: 16, severity: 3, hostname: 'relay', appname: 'tag' }));
    assert.deepEqual([j.facility, j.severity, j.hostname, j.appname, j.message], [16, 3, 'relay', 'tag', 'm']);
  });

  test('invalid UTF-8 becomes U+FFFD in JSON (the JSON contract), valid JSON either way', () => {
    const ev = parsed(Buffer.concat([Buffer.from('<13>1 - h a - - - x'), Buffer.from([0xff])]));
    assert.equal(JSON.parse(encodeText('json', ev)).message, 'x\uFFFD');
  });
});

describe('template encoder', () => {
  test('renders the template into the writer, adds no newline', () => {
    const template = Template.compile('${HOST} ${PROGRAM}[${PID}] ${LEVEL}: ${MSG}');
    assert.equal(encodeText('template', parsed('<13>Feb  5 17:32:18 web myapp[123]: hi there'), { template }), 'web myapp[123] notice: hi there');
  });

  test('invalid UTF-8 passes through; an RFC 3164 header when asked', () => {
    const template = Template.compile('${MSG}');
    const buf = Buffer.concat([Buffer.from('<13>Feb  5 17:32:18 web myapp: '), Buffer.from([0xc3, 0x28])]);
    assert.deepEqual(encode('template', parsed(buf), { template }), Buffer.from([0xc3, 0x28]));
    const ev = fromValues({ timestamp: TS, hostname: 'h', appname: 'a', message: 'm' });
    assert.equal(encodeText('template', ev, { template, header: 'rfc3164' }), `<13>${localStamp(Date.parse(TS))} h a: m`);
  });

  test('without a template the encoder refuses', () => {
    assert.throws(() => ENCODERS.template(fromValues({}), new ByteWriter(8), {}), /needs a compiled template/);
  });
});
