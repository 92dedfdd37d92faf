// The broker wire format: subject/routing-key escaping, the JSON line, packing, identities, reading back.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeRoutingWord, escapeSubjectToken, MessageDecoder, packMessages, writeEventJson } from '../../src/broker/wire.js';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { EventFlag, LogEvent, type EventSource } from '../../src/event/log-event.js';
import { Template } from '../../src/template/template.js';

const SRC: EventSource = { name: 'net', transport: 'tls', address: '192.0.2.7', port: 51514, tlsPeer: 'CN=web' };

function syslog(text: string, at = 1_700_000_000_000): LogEvent {
  const e = new LogEvent(SRC, at);
  const b = Buffer.from(text);
  parseSyslog(e, b, 0, b.length, 'auto');
  return e;
}

test('macro values are escaped inside subject tokens and routing words; literals are kept', () => {
  const subject = Template.compile('logs.${HOST}.${LEVEL}');
  assert.equal(subject.render(syslog('<11>1 - web.01 a - - - x'), escapeSubjectToken), 'logs.web_01.err');
  assert.equal(escapeSubjectToken('a*b>c d'), 'a_b_c_d');
  assert.equal(escapeSubjectToken(''), '_');
  assert.equal(escapeRoutingWord('a.b*c#d e'), 'a_b_c_d_e');
});

test('the JSON line is exactly LogEvent.toJSON, flags included', () => {
  const cases = [
    syslog('<165>1 2003-10-11T22:14:15.003Z host "app" 1 ID47 [ex@1 a="b\\"c" a="d"] héllo "quoted"'),
    syslog('<13>Jan  2 03:04:05 h app[1]: hi'),
    syslog('no header at all'),
    LogEvent.fromValues(SRC, 5, { message: 'm', fields: { x: [1, { y: null }] } }),
  ];
  const cut = syslog('<13>1 - h a - - - long');
  cut.flags |= EventFlag.TRUNCATED;
  cases.push(cut);
  const odd = syslog('<13>1 - h a - - - tab\there \u2028 \ud83d\ude00 back\\slash');
  odd.message = 'lone \ud800 surrogate, control \u0001, quote "';
  odd.hostname = 'h\u00e9';
  cases.push(odd, syslog('<13>1 - h a - - - caf\u00e9 \u007f'), LogEvent.fromValues({ ...SRC, address: null, port: null }, 8.64e15, { message: null }),
    LogEvent.fromValues(SRC, 9, { message: 'v', facility: 23, severity: 0, version: 12 }), LogEvent.fromValues(SRC, 9, { facility: 7, severity: null, version: 0 }),
    LogEvent.fromValues(SRC, 9, { message: 'f', fields: {} }));
  const w = new ByteWriter(16);
  for (const ev of cases) {
    w.reset();
    writeEventJson(ev, w);
    assert.equal(w.view().toString(), JSON.stringify(ev.toJSON()));
  }
});

test('packing groups by key, bounds events and bytes per message, sets aside what can never fit', () => {
  const key = Template.compile('k.${HOST}');
  const evs = [...Array.from({ length: 25 }, (_, i) => syslog(`<13>1 - a x - - - m${i}`)), ...Array.from({ length: 5 }, (_, i) => syslog(`<13>1 - b x - - - n${i}`))];
  evs.push(syslog(`<13>1 - a x - - - ${'z'.repeat(6000)}`));
  const { messages, oversize } = packMessages(evs, key, escapeSubjectToken, 10, 5000);
  assert.equal(oversize.length, 1);
  assert.deepEqual(messages.map((m) => [m.key, m.events.length]), [['k.a', 10], ['k.a', 10], ['k.a', 5], ['k.b', 5]]);
  for (const m of messages) {
    assert.ok(m.payload.length <= 5000);
    assert.equal(m.payload.toString().split('\n').filter(Boolean).length, m.events.length);
  }
  // Same events, same ids (a resend is deduplicated); different events, different ids.
  const again = packMessages(evs, key, escapeSubjectToken, 10, 5000).messages.map((m) => m.id);
  assert.deepEqual(again, messages.map((m) => m.id));
  assert.equal(new Set(again).size, again.length);
  // Equal payloads within one batch stay distinct.
  const same = [syslog('<13>1 - a x - - - dup', 1), syslog('<13>1 - a x - - - dup', 1)];
  const ids = packMessages(same, key, escapeSubjectToken, 1, 2000).messages.map((m) => m.id);
  assert.equal(ids.length, 2);
  assert.notEqual(ids[0], ids[1]);
});

test('reading back: sluice events keep their fields, receive time and peer; foreign lines and JSON are parsed; bad input is an error', () => {
  const ev = syslog('<165>1 2003-10-11T22:14:15.003Z host app 1 ID47 [ex@1 a="b"] hello');
  ev.fields = { k: 'v' };
  const { messages } = packMessages([ev], Template.compile('x'), escapeSubjectToken, 10, 1 << 20);
  const d = new MessageDecoder('bus', 'nats', 'auto', 1 << 20);
  const r = d.decode(messages[0]!.payload, 42);
  assert.ok(r.ok);
  const back = r.events[0]!;
  const j = back.toJSON();
  const orig = ev.toJSON();
  assert.deepEqual({ ...j, source: null }, { ...orig, source: null });
  assert.deepEqual(j.source, { name: 'bus', transport: 'nats', address: '192.0.2.7', port: 51514, tls_peer: 'CN=web' });
  const mixed = d.decode(Buffer.from('<13>Jan  2 03:04:05 h2 cron[9]: tick\n{"host":"h3","msg":"json","user":"bob"}\n\nplain text\n'), 42);
  assert.ok(mixed.ok);
  assert.deepEqual(mixed.events.map((e) => [e.hostname, e.appname, e.message]), [['h2', 'cron', 'tick'], ['h3', null, 'json'], [null, null, 'plain text']]);
  assert.deepEqual(mixed.events[1]!.fields, { user: 'bob' });
  assert.equal(mixed.events[1]!.receivedAt, 42);
  const strict = new MessageDecoder('bus', 'amqp', 'json', 1 << 20);
  const bad = strict.decode(Buffer.from('not json'), 1);
  assert.equal(bad.ok, false);
  assert.match((bad as { error: string }).error, /line 1: malformed JSON/);
  const big = new MessageDecoder('bus', 'amqp', 'auto', 10).decode(Buffer.from('0123456789ABC'), 1);
  assert.equal(big.ok, false);
  const raw = new MessageDecoder('bus', 'amqp', 'raw', 100).decode(Buffer.from('a\nb'), 1);
  assert.ok(raw.ok && raw.events.length === 1 && raw.events[0]!.message === 'a\nb');
});

test('interleaved keys: each event goes to the message of its own key, whatever the previous event\'s key was', () => {
  const key = Template.compile('k.${HOST}.${LEVEL}');
  const hosts = ['a', 'b', 'a.b', 'a', 'ab', 'b', 'b', 'a'];
  const evs = hosts.map((h, i) => syslog(`<${i % 2 === 0 ? 11 : 13}>1 - ${h} x - - - m${i}`));
  const { messages } = packMessages(evs, key, escapeSubjectToken, 100, 1 << 20);
  const got = messages.flatMap((m) => m.events.map((e) => [m.key, e.message]));
  assert.deepEqual(got.sort(), evs.map((e) => [`k.${escapeSubjectToken(e.hostname!)}.${e.severity === 3 ? 'err' : 'notice'}`, e.message]).sort());
  for (const m of messages) assert.equal(new Set(m.events.map((e) => `${e.hostname}|${e.severity}`)).size, 1);
});
