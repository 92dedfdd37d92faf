// Tests for the binary event form: exact round trips of raw and value events, sharing of sources, damage detection.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyslog } from '../../src/codec/syslog-parser.js';
import { BinaryFormatError, batchEventCount, decodeEvents, encodeEvents, SourceInterner } from '../../src/event/binary.js';
import { EventFlag, Format, LogEvent, type EventSource } from '../../src/event/log-event.js';

const TCP: EventSource = { name: 'net', transport: 'tcp', address: '10.0.0.7', port: 40123, tlsPeer: null };
const TLS: EventSource = { name: 'secure', transport: 'tls', address: '192.0.2.9', port: 6514, tlsPeer: 'CN=web-1,O=Example' };
const HTTP: EventSource = { name: 'api', transport: 'http', address: null, port: null, tlsPeer: null };

/** Parses `text` (or bytes) placed in the middle of a larger buffer, as a source's read buffer would hold it. */
function parsed(msg: string | Buffer, source: EventSource = TCP, receivedAt = 1_767_225_600_123): LogEvent {
  const body = typeof msg === 'string' ? Buffer.from(msg) : msg;
  const buf = Buffer.concat([Buffer.from('JUNK-BEFORE\n'), body, Buffer.from('\nJUNK-AFTER')]);
  const ev = new LogEvent(source, receivedAt);
  parseSyslog(ev, buf, 12, 12 + body.length, 'auto');
  return ev;
}

const OFFSET_KEYS = ['tsStart', 'tsEnd', 'hostStart', 'hostEnd', 'appStart', 'appEnd', 'pidStart', 'pidEnd', 'msgidStart', 'msgidEnd', 'sdStart', 'sdEnd', 'msgStart'] as const;

const GETTERS = ['timestamp', 'facility', 'severity', 'versionNumber', 'hostname', 'appname', 'procid', 'msgid', 'structuredData', 'structuredDataText', 'message', 'hostOrPeer'] as const;

/** Every stored property equal: bytes, offsets relative to start, scalars, source, fields, d, and the JSON view. */
function assertSame(got: LogEvent, want: LogEvent): void {
  assert.deepEqual(got.rawBytes, want.rawBytes);
  for (const k of OFFSET_KEYS) {
    const w = want[k], g = got[k];
    assert.equal(g === -1 ? -1 : g - got.start, w === -1 ? -1 : w - want.start, k);
  }
  assert.equal(got.format, want.format);
  assert.equal(got.pri, want.pri);
  assert.equal(got.version, want.version);
  assert.equal(got.flags, want.flags);
  assert.equal(got.receivedAt, want.receivedAt);
  assert.deepEqual({ ...got.source }, { ...want.source });
  assert.deepEqual(got.fields, want.fields);
  // d: every override survives; values that only cached the bytes may be left out, read again from the bytes.
  const wantD = (want.d === null ? {} : JSON.parse(JSON.stringify(want.d))) as Record<string, unknown>;
  for (const [k, v] of Object.entries(got.d ?? {})) if (v !== undefined) assert.deepEqual(v, wantD[k], `d.${k}`);
  assert.equal(got.d === null, want.d === null);
  for (const k of GETTERS) assert.deepEqual(got[k], want[k], k);
  assert.deepEqual(got.toJSON(), want.toJSON());
}

function roundTrip(events: LogEvent[]): LogEvent[] {
  const out = decodeEvents(encodeEvents(events));
  assert.equal(out.length, events.length);
  for (let i = 0; i < events.length; i++) assertSame(out[i]!, events[i]!);
  return out;
}

describe('binary event form', () => {
  it('round-trips RFC 5424 events with structured data, BOM and fields', () => {
    const a = parsed('<165>1 2026-01-01T00:00:00.003Z mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" eventSource="App\\"lication" eventID="1011"][x@1 a="1" a="2"] \ufeffAn application event');
    assert.equal(a.format, Format.RFC5424);
    assert.ok(a.flags & EventFlag.BOM);
    a.fields = { seq: 7, tags: ['a', 'b'], nested: { ok: true, none: null } };
    const b = parsed('<34>1 2026-01-01T00:00:00Z - - - - -');
    assert.equal(b.msgStart, -1);
    roundTrip([a, b]);
  });

  it('round-trips RFC 3164 and loose variants, including the Cisco sequence field', () => {
    roundTrip([
      parsed('<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed for lonvick on /dev/pts/8'),
      parsed('<189>52: *Mar  1 00:01:23.456: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up'),
      parsed('no pri, no header at all'),
      parsed(''),
    ]);
  });

  it('keeps invalid UTF-8 bytes exactly', () => {
    const bytes = Buffer.concat([Buffer.from('<13>1 - host app - - - bad: '), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from(' end')]);
    const ev = parsed(bytes);
    ev.flags |= EventFlag.INVALID_UTF8;
    const [got] = roundTrip([ev]);
    assert.deepEqual(got!.rawBytes, bytes);
    assert.ok(got!.message!.includes('\ufffd'));
  });

  it('round-trips value events, overrides of parsed events and values cached by reads', () => {
    const v = LogEvent.fromValues(HTTP, 1_700_000_000_000, {
      timestamp: '2026-02-03T04:05:06.789+01:00', facility: 16, severity: 3, hostname: 'h', appname: 'app', procid: '42', msgid: 'M',
      structuredData: { 'origin@1': { ip: ['1.2.3.4', '5.6.7.8'], software: 'x' } }, message: 'caf\u00e9 \u{1f600} lone \ud800 surrogate',
      fields: { user: 'bob', n: 1.5, list: [1, 'two', null] },
    });
    const overridden = parsed('<13>1 2026-01-01T00:00:00Z host app 1 - - original');
    overridden.hostname = 'renamed';
    overridden.message = null;
    overridden.severity = 0;
    const cached = parsed('<13>1 2026-01-01T00:00:00Z host app 1 - [a@1 k="v"] read me');
    cached.toJSON(); // decodes (and caches) every value
    (v.d as unknown as Record<string, unknown>)['x-extra'] = { kept: [1, 2] }; // a key this codec does not know still round-trips
    const empty = LogEvent.fromValues(HTTP, 0, {});
    const out = roundTrip([v, overridden, cached, empty]);
    assert.equal(out[0]!.message, 'caf\u00e9 \u{1f600} lone \ud800 surrogate');
    assert.equal(out[1]!.hostname, 'renamed');
    assert.deepEqual((out[0]!.d as unknown as Record<string, unknown>)['x-extra'], { kept: [1, 2] });
    assert.equal(out[1]!.appname, 'app');
  });

  it('leaves out values that only cache the bytes, keeping the batch as small as for an unread event', () => {
    const fresh = parsed('<13>1 2026-01-01T00:00:00Z host app 1 ID [a@1 k="v" k="w"] caf\u00e9 read me');
    const read = parsed('<13>1 2026-01-01T00:00:00Z host app 1 ID [a@1 k="v" k="w"] caf\u00e9 read me');
    read.toJSON();
    assert.equal(read.d, null, 'reading only caches');
    assert.equal(encodeEvents([read]).length, encodeEvents([fresh]).length);
    assert.equal(decodeEvents(encodeEvents([read]))[0]!.d, null, 'nothing stored in d');
    roundTrip([read]);
    const changed = parsed('<13>1 - host app 1 - - text');
    changed.hostname = 'hosT';
    changed.message = 'text ';
    changed.structuredData = { x: { y: 'z' } };
    const d = decodeEvents(encodeEvents([changed]))[0]!.d!;
    assert.deepEqual(Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)), { hostname: 'hosT', message: 'text ', structuredData: { x: { y: 'z' } } });
    roundTrip([changed]);
  });

  it('uses wide offsets for messages over 64 KiB', () => {
    const ev = parsed(`<13>1 - host app - - - ${'y'.repeat(70_000)} tail`);
    const [got] = roundTrip([ev]);
    assert.equal(got!.message!.length, 70_005);
  });

  it('shares one source object per connection, within and across batches', () => {
    const evs = [parsed('<13>a', TCP), parsed('<13>b', TLS), parsed('<13>c', TCP), parsed('<13>d', { ...TCP })];
    const i = new SourceInterner();
    const one = decodeEvents(encodeEvents(evs), 0, undefined, i);
    const two = decodeEvents(encodeEvents(evs.slice(2)), 0, undefined, i);
    assert.equal(one[0]!.source, one[2]!.source);
    assert.equal(one[0]!.source, one[3]!.source, 'equal sources are interned to one object');
    assert.notEqual(one[0]!.source, one[1]!.source);
    assert.equal(two[0]!.source, one[0]!.source, 'across batches too');
    assert.deepEqual(one[1]!.source, TLS);
  });

  it('encodes a range with headroom, and reads the count from the header', () => {
    const evs = [parsed('<13>one'), parsed('<13>two'), parsed('<13>three')];
    const buf = encodeEvents(evs, { from: 1, to: 3, headroom: 8 });
    assert.equal(batchEventCount(buf, 8), 2);
    const out = decodeEvents(buf, 8);
    assertSame(out[0]!, evs[1]!);
    assertSame(out[1]!, evs[2]!);
    assert.equal(decodeEvents(encodeEvents([])).length, 0);
  });

  it('decoded raw events point into the batch buffer rather than copying', () => {
    const buf = encodeEvents([parsed('<13>1 - h a - - - zero copy')]);
    const [ev] = decodeEvents(buf);
    assert.equal(ev!.buf, buf);
  });

  it('rejects truncated or damaged batches with the offset', () => {
    const buf = encodeEvents([parsed('<13>1 - h a - - - m'), LogEvent.fromValues(HTTP, 1, { message: 'x', fields: { a: 1 } })]);
    for (let cut = 0; cut < buf.length; cut += 7) {
      assert.throws(() => decodeEvents(buf, 0, cut), BinaryFormatError, `cut at ${cut}`);
    }
    const bad = Buffer.from(buf);
    bad[0] = 99;
    assert.throws(() => decodeEvents(bad), /unknown batch version 99 at byte 0/);
    const trailing = Buffer.concat([buf, Buffer.from([0])]);
    assert.throws(() => decodeEvents(trailing), /1 bytes left after the last event/);
  });
});
