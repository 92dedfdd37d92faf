// What the RELP destination sends: raw bytes for unchanged RFC 5424 events, a minimal RFC 5424 encoding otherwise.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { RFC5424_TIMESTAMP } from '../../src/codec/timestamp.js';
import { encodeRfc5424, isUnchanged, messageBytes, timestamp5424 } from '../../src/destinations/relp/message.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';

const SOURCE: EventSource = { name: 't', transport: 'udp', address: '192.0.2.9', port: 514, tlsPeer: null };
const AT = Date.parse('2024-05-01T12:00:00Z');

function parsed(text: string): LogEvent {
  const ev = new LogEvent(SOURCE, AT);
  const buf = Buffer.from(text);
  parseSyslog(ev, buf, 0, buf.length, 'auto');
  return ev;
}

const w = new ByteWriter(64);
const bytes = (ev: LogEvent, format: 'rfc5424' | 'raw' = 'rfc5424'): string => messageBytes(ev, format, w).toString('utf8');

/** Header fields of an RFC 5424 line, checked against the grammar. */
function fields5424(line: string): { pri: number; ts: string; host: string; app: string; pid: string; msgid: string; rest: string } {
  const m = /^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) (.*)$/s.exec(line);
  assert.ok(m, `RFC 5424 header: ${line}`);
  for (const f of [m[3]!, m[4]!, m[5]!, m[6]!]) assert.ok(/^[\x21-\x7e]+$/.test(f), `PRINTUSASCII: ${f}`);
  assert.ok(m[2] === '-' || RFC5424_TIMESTAMP.test(m[2]!), `timestamp ${m[2]}`);
  return { pri: Number(m[1]), ts: m[2]!, host: m[3]!, app: m[4]!, pid: m[5]!, msgid: m[6]!, rest: m[7]! };
}

describe('RELP destination message bytes', () => {
  const RAW = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] \ufeffAn application event';

  test('an unchanged RFC 5424 event is sent exactly as received (BOM included), even after its fields were read', () => {
    const ev = parsed(RAW);
    assert.equal(bytes(ev), RAW);
    // Filters and templates read fields (which only caches them; ev.d holds changes): still unchanged.
    void ev.hostname; void ev.structuredData; void ev.message; void ev.timestamp; void ev.facility;
    assert.equal(ev.d, null);
    assert.equal(isUnchanged(ev), true);
    assert.equal(bytes(ev), RAW);
  });

  test('a changed event is encoded: the new value goes out, the rest as before', () => {
    const ev = parsed(RAW);
    ev.hostname = 'renamed';
    assert.equal(isUnchanged(ev), false);
    const f = fields5424(bytes(ev));
    assert.deepEqual([f.pri, f.ts, f.host, f.app, f.pid, f.msgid], [165, '2003-10-11T22:14:15.003Z', 'renamed', 'evntslog', '-', 'ID47']);
    // The BOM (RFC 5424 §6.4) was not part of MSG; the encoder does not add one.
    assert.equal(f.rest, '[exampleSDID@32473 iut="3" eventSource="Application"] An application event');
  });

  test('RFC 3164 is re-encoded as RFC 5424 (rfc5424), kept as received (raw)', () => {
    const text = '<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed for lonvick on /dev/pts/8';
    const ev = parsed(text);
    const f = fields5424(bytes(ev));
    assert.deepEqual([f.pri, f.host, f.app, f.pid, f.msgid], [34, 'mymachine', 'su', '230', '-']);
    assert.match(f.ts, /^\d{4}-10-11T22:14:15[+-]\d{2}:\d{2}$/);
    assert.equal(f.rest, '- \'su root\' failed for lonvick on /dev/pts/8');
    assert.equal(bytes(ev, 'raw'), text);
  });

  test('events built from values; absent fields become "-", the timestamp the receive time, the host the peer', () => {
    const ev = LogEvent.fromValues(SOURCE, AT, { message: 'from json', facility: 3, severity: 4 });
    const f = fields5424(bytes(ev, 'raw'));
    assert.deepEqual([f.pri, f.host, f.app, f.pid, f.msgid, f.rest], [28, '192.0.2.9', '-', '-', '-', '- from json']);
    assert.ok(RFC5424_TIMESTAMP.test(f.ts));
  });

  test('header fields are made printable and cut to their limits; SD names and values escaped', () => {
    const ev = LogEvent.fromValues(SOURCE, AT, {
      hostname: 'host with space', appname: 'a'.repeat(60), procid: 'é1', msgid: '',
      structuredData: { 'id 1': { 'p=x': 'v"a]l\\ue' }, ok: { k: ['1', '2'] } },
      message: 'multi\nline', timestamp: '2024-05-01T12:00:00.123456789+02:00',
    });
    const line = bytes(ev);
    const f = fields5424(line);
    assert.equal(f.host, 'host_with_space');
    assert.equal(f.app, 'a'.repeat(48));
    assert.equal(f.pid, '_1');
    assert.equal(f.msgid, '-');
    assert.equal(f.ts, '2024-05-01T12:00:00.123456+02:00');
    assert.equal(f.rest, '[id1 px="v\\"a\\]l\\\\ue"][ok k="1" k="2"] multi\nline');
    // What sluice's own parser reads back is what went in.
    const back = parsed(line);
    assert.deepEqual(back.structuredData, { id1: { px: 'v"a]l\\ue' }, ok: { k: ['1', '2'] } });
    assert.equal(back.message, 'multi\nline');
  });

  test('timestamps: valid kept, too many fraction digits cut, other dates normalised, junk → receive time', () => {
    assert.equal(timestamp5424('2024-05-01T12:00:00Z', AT), '2024-05-01T12:00:00Z');
    assert.equal(timestamp5424('2024-05-01T12:00:00.1234567Z', AT), '2024-05-01T12:00:00.123456Z');
    assert.equal(timestamp5424('2024-05-01 12:00:00Z', AT), '2024-05-01T12:00:00.000Z');
    assert.ok(RFC5424_TIMESTAMP.test(timestamp5424('yesterday', AT)));
    assert.ok(RFC5424_TIMESTAMP.test(timestamp5424(null, AT)));
  });

  test('encodeRfc5424 writes into the caller\'s writer', () => {
    const out = new ByteWriter(8);
    encodeRfc5424(LogEvent.fromValues(SOURCE, AT, { message: 'x', hostname: 'h', timestamp: '2024-05-01T12:00:00Z' }), out);
    assert.equal(out.view().toString(), '<13>1 2024-05-01T12:00:00Z h - - - - x');
  });
});
