// Real-world syslog forms that bend the RFCs, one test per form, named after it. Each
// expectation was chosen after running the same bytes through rsyslog 8 (pmrfc3164/5424)
// and syslog-ng 3.38 (network() legacy parser) here; the comment says what they do.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParseMode } from '../../src/codec/syslog-parser.js';
import { EventFlag, type EventJson } from '../../src/event/log-event.js';
import { localIso, parse } from '../helpers/parse.js';

type Expect = Partial<Omit<EventJson, 'source' | 'received_at'>>;

function check(text: string | Buffer, want: Expect, mode: ParseMode = 'auto'): EventJson {
  const { json, problem } = parse(text, mode);
  assert.equal(problem, null);
  for (const [k, v] of Object.entries(want)) assert.deepEqual((json as unknown as Record<string, unknown>)[k], v, `${k} of ${JSON.stringify(String(text))}`);
  return json;
}

describe('RFC 3164 variants', () => {
  test('no timestamp, host and TAG[pid] (rsyslog: host, TAG and pid; syslog-ng: host as program)', () => {
    check('<13>web-01 sshd[12]: Accepted publickey for git', { timestamp: null, hostname: 'web-01', appname: 'sshd', procid: '12', message: 'Accepted publickey for git' });
    check('<13>myhost sshd[12]: no timestamp here', { hostname: 'myhost', appname: 'sshd', procid: '12' });
  });

  test('no timestamp, prose with a colon stays one message (not cut into host and program)', () => {
    check('<13>Failed password: for root', { timestamp: null, hostname: null, appname: null, message: 'Failed password: for root' });
  });

  test('no timestamp, TAG only (both: program, no host)', () => {
    check('<13>host: only a host', { hostname: null, appname: 'host', message: 'only a host' });
  });

  test('numeric program name (both: program "1234")', () => {
    check('<13>Nov 23 12:00:00 host 1234: numeric prog', { hostname: 'host', appname: '1234', message: 'numeric prog' });
  });

  test('unusual program name with slashes and dots (syslog-ng keeps it whole; rsyslog cuts at "/")', () => {
    check('<13>Nov 23 12:00:00 host foo/bar.baz[9]: unusual prog', { hostname: 'host', appname: 'foo/bar.baz', procid: '9' });
  });

  test('upper-case month name (both read it)', () => {
    check('<13>NOV 23 12:00:00 host prog: upper month', { timestamp: localIso(2026, 11, 23, 12, 0, 0), hostname: 'host', appname: 'prog' });
    check('<13>nov 23 12:00:00 host prog: lower month', { timestamp: localIso(2026, 11, 23, 12, 0, 0), hostname: 'host' });
  });

  test('8-bit bytes in the message (both keep them; the header parses around them)', () => {
    const { ev, json } = parse(Buffer.concat([Buffer.from('<13>Nov 23 12:00:00 host prog: caf'), Buffer.from([0xe9, 0xff])]));
    assert.equal(json.hostname, 'host');
    assert.equal(json.appname, 'prog');
    assert.deepEqual([...ev.buf.subarray(ev.msgStart, ev.end)], [...Buffer.from('caf'), 0xe9, 0xff], 'the bytes are kept as received');
  });

  test('a space before the date (both skip it)', () => {
    check('<13> Nov 23 12:00:00 host prog: space before date', { timestamp: localIso(2026, 11, 23, 12, 0, 0), hostname: 'host', appname: 'prog' });
    check('<13>  Nov 23 12:00:00 host prog: two spaces', { hostname: 'host', appname: 'prog' });
  });

  test('a space before text that is not a date stays in the message', () => {
    check('<13> just text', { timestamp: null, hostname: null, message: ' just text' });
  });

  test('a year in the header, after the day (both) or after the time (syslog-ng; rsyslog takes it for the host)', () => {
    check('<13>Nov 23 2025 12:00:00 host prog: year in header', { timestamp: localIso(2025, 11, 23, 12, 0, 0), hostname: 'host' });
    check('<13>Nov 23 12:00:00 2025 host prog: year after time', { timestamp: localIso(2025, 11, 23, 12, 0, 0), hostname: 'host', appname: 'prog' });
  });

  test('only a host in the header, no TAG (syslog-ng and rsyslog: host, then message)', () => {
    check('<13>Nov 23 12:00:00 host just a message', { hostname: 'host', appname: null, message: 'just a message' });
  });

  test('no host after the timestamp (both: no host, TAG and pid)', () => {
    check('<13>Nov 23 12:00:00 prog[5]: no host', { hostname: null, appname: 'prog', procid: '5', message: 'no host' });
  });

  test('single-digit day without padding (rsyslog reads it; syslog-ng does not)', () => {
    check('<13>Nov 3 12:00:00 host prog: single digit', { timestamp: localIso(2026, 11, 3, 12, 0, 0), hostname: 'host', appname: 'prog' });
  });

  test('non-ASCII host name sent as UTF-8 (syslog-ng keeps it; rsyslog drops it)', () => {
    check('<13>Nov 23 12:00:00 hôst-ü prog: non-ascii host', { hostname: 'hôst-ü', appname: 'prog', message: 'non-ascii host' });
  });

  test("Snare's tab-separated Windows event form: program MSWinEventLog, columns as fields.snare", () => {
    const line = '<13>Nov 23 12:00:00 winhost MSWinEventLog\t1\tSecurity\t123\tMon Nov 23 12:00:00 2025\t4624\tMicrosoft-Windows-Security-Auditing\tCORP\\alice\tUser\tSuccess Audit\twinhost\tLogon\t\tAn account was logged on.\t42';
    const json = check(line, { hostname: 'winhost', appname: 'MSWinEventLog' });
    assert.ok(json.message!.startsWith('1\tSecurity\t123'), 'the message is the columns as sent');
    assert.deepEqual(json.fields.snare, {
      criticality: '1', log: 'Security', counter: '123', event_time: 'Mon Nov 23 12:00:00 2025', event_id: '4624',
      event_source: 'Microsoft-Windows-Security-Auditing', user: 'CORP\\alice', sid_type: 'User', event_type: 'Success Audit',
      computer: 'winhost', category: 'Logon', description: 'An account was logged on.', md5: '42',
    });
  });
});

describe('RFC 5424 variants', () => {
  test('a space after "=" in structured data (rsyslog keeps the SD)', () => {
    check('<13>1 2025-11-23T12:00:00Z host app 1 ID [ex a= "b"] sd space after eq', { hostname: 'host', structured_data: { ex: { a: 'b' } }, message: 'sd space after eq' });
  });

  test('an unquoted SD value (rsyslog keeps the SD)', () => {
    check('<13>1 2025-11-23T12:00:00Z host app 1 ID [ex a=b c="d"] unquoted', { structured_data: { ex: { a: 'b', c: 'd' } }, message: 'unquoted' });
  });

  test('without PRI (rsyslog reads it as RFC 5424; facility and severity default to user.notice)', () => {
    check('1 2025-11-23T12:00:00Z host app 1 ID - no pri 5424', { version: 1, facility: 1, severity: 5, hostname: 'host', appname: 'app', procid: '1', msgid: 'ID', message: 'no pri 5424' });
  });

  test('extra whitespace between header fields (rsyslog gives up; sluice reads the header)', () => {
    check('<13>1  2025-11-23T12:00:00Z  host  app 1 ID - extra whitespace', { timestamp: '2025-11-23T12:00:00Z', hostname: 'host', appname: 'app', procid: '1', msgid: 'ID', message: 'extra whitespace' });
  });

  test('malformed structured data is kept, not lost: the header stands, the rest is the message', () => {
    check('<13>1 2025-11-23T12:00:00Z host app 1 ID [ex a="b" malformed sd', { hostname: 'host', appname: 'app', structured_data: null, message: '[ex a="b" malformed sd', fields: { malformed_sd: true } });
  });

  test('strict rfc5424 still refuses each of these forms', () => {
    for (const line of ['1 2025-11-23T12:00:00Z host app 1 ID - no pri', '<13>1  2025-11-23T12:00:00Z host app 1 ID - two spaces', '<13>1 2025-11-23T12:00:00Z host app 1 ID [ex a= "b"] x', '<13>1 2025-11-23T12:00:00Z host app 1 ID [ex a="b" x']) {
      const { problem, ev } = parse(line, 'rfc5424');
      assert.notEqual(problem, null, line);
      assert.ok(ev.flags & EventFlag.UNPARSED);
    }
  });
});
