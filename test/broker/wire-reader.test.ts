// The reader of sluice's own broker lines: the same events JSON.parse gives, for every odd value; anything else left to JSON.parse.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageDecoder, packMessages, escapeSubjectToken, writeEventJson } from '../../src/broker/wire.js';
import { OwnLineReader } from '../../src/broker/wire-reader.js';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Template } from '../../src/template/template.js';

const SRC: EventSource = { name: 'net', transport: 'tls', address: '192.0.2.7', port: 51514, tlsPeer: 'CN=web "quoted" \\ é' };

function syslog(text: string | Buffer, at = 1_700_000_000_123, src = SRC): LogEvent {
  const e = new LogEvent(src, at);
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  parseSyslog(e, b, 0, b.length, 'auto');
  return e;
}

function line(ev: LogEvent): Buffer {
  const w = new ByteWriter(64);
  writeEventJson(ev, w);
  return Buffer.from(w.view());
}

/** What a decoder makes of the line; "{ " in front keeps the reader out (JSON.parse alone reads it). */
function both(l: Buffer): { fast: LogEvent; parsed: LogEvent } {
  const d = new MessageDecoder('bus', 'nats', 'auto', 1 << 24);
  const fast = d.decode(l, 7);
  const parsed = new MessageDecoder('bus', 'nats', 'auto', 1 << 24).decode(Buffer.concat([Buffer.from('{ '), l.subarray(1)]), 7);
  assert.ok(fast.ok && parsed.ok, 'both read');
  return { fast: fast.events[0]!, parsed: parsed.events[0]! };
}

function assertSame(a: LogEvent, b: LogEvent): void {
  assert.deepEqual(a.toJSON(), b.toJSON());
  assert.equal(a.receivedAt, b.receivedAt);
  assert.deepEqual(a.source, b.source);
  assert.deepEqual(a.fields, b.fields);
}

test('every odd value writeEventJson can write is read back as JSON.parse reads it, without JSON.parse', () => {
  const cases: LogEvent[] = [
    syslog('<38>1 2026-12-02T05:39:41+00:00 localhost prg00000 1234 - - \ufeffseq: 0000000001, PADDPADD'),
    syslog('<165>1 2003-10-11T22:14:15.003Z h\u00e9st "app" 1 ID47 - h\u00e9llo "quoted" back\\slash tab\there \u2028 \ud83d\ude00 \u4e2d\u6587'),
    syslog('<13>Jan  2 03:04:05 h app[1]: rfc 3164'),
    syslog('no header at all'),
    syslog('<13>1 - - - - - -'),
    syslog(`<13>1 - h a - - - ${'x'.repeat(2 << 20)}`),
    syslog(`<13>1 - h a - - - ${'\u00e9\u4e2d'.repeat(100_000)}`),
    syslog(Buffer.from([...Buffer.from('<13>1 - h a - - - bad '), 0xff, 0xfe, 0x41, 0xc3])),
    syslog('<13>1 - h a - - - m', 1, { name: 'n', transport: 'udp', address: null, port: null, tlsPeer: null }),
    syslog('<13>1 - h a - - - m', 2, { name: 'n', transport: 'unix', address: '/run/a "b".sock', port: null, tlsPeer: null }),
    LogEvent.fromValues(SRC, 5, { message: 'm', fields: { x: [1, { y: null }], '\u00e9': 'v\u0001' } }),
    LogEvent.fromValues(SRC, 6, { message: null, hostname: null, facility: null, severity: null, version: null, timestamp: null }),
    LogEvent.fromValues(SRC, 8.64e15, { message: '', hostname: '', appname: '', procid: '', msgid: '', timestamp: '', version: Number.MAX_SAFE_INTEGER, facility: 23, severity: 0 }),
  ];
  const cut = syslog('<13>1 - h a - - - long');
  cut.flags |= EventFlag.TRUNCATED;
  cases.push(cut);
  const odd = syslog('<13>1 - h a - - - x');
  odd.message = 'lone \ud800 surrogate, controls \u0000\u0001\u001f\u007f, quote " and \\ backslash, \u2029';
  odd.hostname = 'h\u00e9 "q"';
  odd.appname = '\ud83d';
  odd.procid = '\\';
  odd.msgid = '\n';
  odd.timestamp = '2026-01-01T00:00:00\u00e9';
  cases.push(odd);
  const reader = new OwnLineReader();
  for (const ev of cases) {
    const l = line(ev);
    assert.notEqual(reader.read(l, 0, l.length), null, `read without JSON.parse: ${l.toString().slice(0, 120)}`);
    const { fast, parsed } = both(l);
    assertSame(fast, parsed);
  }
});

test('lines that are not exactly sluice\'s layout are left to JSON.parse, which gives the same events and the same errors', () => {
  const base = line(syslog('<13>1 2026-01-01T00:00:00Z h a 1 - - hello')).toString();
  const reader = new OwnLineReader();
  const variants = [
    base.replace('"facility":1', '"facility":1.0'),
    base.replace('"version":1', '"version":1e0'),
    base.replace('"facility":1', '"facility":99'),
    base.replace('"fields":{}', '"fields":{"tags":["a"]}'),
    base.replace('"structured_data":null', '"structured_data":{"ex@1":{"a":"b"}}'),
    base.replace('"hostname":"h"', '"hostnamX":"h"'),
    base.replace('"port":51514', '"port":"51514"'),
    base.replace('"message":"hello"', '"message":7'),
    base.replace('}}', '} }'),
  ];
  for (const v of variants) {
    const l = Buffer.from(v);
    assert.equal(reader.read(l, 0, l.length), null, v);
    const d = new MessageDecoder('bus', 'nats', 'auto', 1 << 20).decode(l, 7);
    const p = new MessageDecoder('bus', 'nats', 'auto', 1 << 20).decode(Buffer.concat([Buffer.from('{ '), l.subarray(1)]), 7);
    assert.deepEqual(d.ok && d.events.map((e) => e.toJSON()), p.ok && p.events.map((e) => e.toJSON()));
  }
  // Bytes that are not UTF-8 inside a string: JSON.parse's text has U+FFFD there.
  const bad = Buffer.from(base.replace('hello', 'hel\u0001lo'));
  bad[bad.indexOf(0x01)] = 0xff;
  assert.equal(reader.read(bad, 0, bad.length), null);
  const r = new MessageDecoder('bus', 'nats', 'auto', 1 << 20).decode(bad, 7);
  assert.ok(r.ok);
  assert.equal(r.events[0]!.message, 'hel\ufffdlo');
  // Malformed JSON in sluice's layout is still a poison message with JSON.parse's reason.
  for (const m of [base.replace('hello', 'hel\u0001lo'), base.replace('"facility":1', '"facility":01'), base.replace('hello', 'hel\\xlo'), base.slice(0, -2)]) {
    const l = Buffer.from(m);
    assert.equal(reader.read(l, 0, l.length), null, m);
    const res = new MessageDecoder('bus', 'nats', 'auto', 1 << 20).decode(l, 7);
    assert.equal(res.ok, false, m);
    assert.match((res as { error: string }).error, /line 1: malformed JSON/);
  }
});

test('a packed message of many events reads back event by event, sources and receive times shared', () => {
  const evs = Array.from({ length: 300 }, (_, i) => syslog(`<${i % 192}>1 2026-01-01T00:00:0${i % 10}Z host${i % 3} app - - - m${i} \u00e9`, 1_700_000_000_000 + (i >> 7)));
  const { messages } = packMessages(evs, Template.compile('x'), escapeSubjectToken, 1000, 1 << 22);
  const d = new MessageDecoder('bus', 'nats', 'auto', 1 << 20);
  const r = d.decode(messages[0]!.payload, 7);
  assert.ok(r.ok);
  assert.equal(r.events.length, 300);
  for (let i = 0; i < 300; i++) {
    const j = r.events[i]!.toJSON();
    assert.deepEqual({ ...j, source: null }, { ...evs[i]!.toJSON(), source: null });
  }
  assert.equal(r.events[0]!.source, r.events[299]!.source);
});
