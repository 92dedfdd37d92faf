// CEF (ArcSight) and LEEF 2.0 (QRadar) output, byte for byte: headers, escaping, severity mapping, fields.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SIEM_SEVERITY } from '../../../src/codec/encode/index.js';
import { encodeText, fromValues, localStamp, NOW, parsed } from './helpers.js';

const TS = '2026-01-02T03:04:05.678Z';
const TS_MS = Date.parse(TS);

describe('cef encoder', () => {
  test('an RFC 3164 header, then the CEF header and the standard extension keys', () => {
    const ev = parsed('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 - An application event log entry...');
    assert.equal(
      encodeText('cef', ev, { vendor: 'Example', product: 'Gateway', version: '2.1' }),
      `<165>${localStamp(Date.parse('2003-10-11T22:14:15.003Z'))} mymachine.example.com ` +
      'CEF:0|Example|Gateway|2.1|ID47|An application event log entry...|4|' +
      'rt=1065910455003 dvchost=mymachine.example.com dproc=evntslog dvcpid=77 src=192.0.2.9 msg=An application event log entry...',
    );
  });

  test('header escaping (\\ and |), extension escaping (\\ = and line breaks), fields as extra keys', () => {
    const ev = fromValues({
      timestamp: TS, severity: 3, facility: 4, hostname: 'h', appname: 'sshd', msgid: 'AUTH|FAIL',
      message: 'Failed password for x=1 from C:\\dir\r\nsecond line',
      fields: { user: 'root', 'odd key!': 'a=b', count: 3, nested: { k: 'v' }, none: null },
    });
    assert.equal(
      encodeText('cef', ev, { vendor: 'Ex|ample', product: 'back\\slash', version: '1', header: 'none' }),
      'CEF:0|Ex\\|ample|back\\\\slash|1|AUTH\\|FAIL|Failed password for x=1 from C:\\\\dir|7|' +
      `rt=${TS_MS} dvchost=h dproc=sshd src=192.0.2.9 msg=Failed password for x\\=1 from C:\\\\dir\\r\\nsecond line ` +
      'user=root odd_key_=a\\=b count=3 nested={"k":"v"}',
    );
  });

  test('a field named like a standard key replaces it; SignatureID falls back to APP-NAME, then "syslog"', () => {
    const ev = fromValues({ timestamp: TS, appname: 'app', message: 'm', fields: { src: '198.51.100.7', msg: 'from field' } });
    assert.equal(encodeText('cef', ev, { header: 'none' }), `CEF:0|sluice|sluice|0.1.0|app|m|4|rt=${TS_MS} dproc=app src=198.51.100.7 msg=from field`);
    const bare = fromValues({ message: 'x'.repeat(200) });
    assert.equal(encodeText('cef', bare, { header: 'none' }), `CEF:0|sluice|sluice|0.1.0|syslog|${'x'.repeat(128)}|4|rt=${NOW} src=192.0.2.9 msg=${'x'.repeat(200)}`);
  });

  test('severity mapping 0..7 -> 10, 9, 8, 7, 6, 4, 3, 1, and the severity override', () => {
    assert.deepEqual([...SIEM_SEVERITY], [10, 9, 8, 7, 6, 4, 3, 1]);
    for (let s = 0; s < 8; s++) {
      const line = encodeText('cef', fromValues({ severity: s, message: 'm' }), { header: 'none' });
      assert.equal(line.split('|')[6], String(SIEM_SEVERITY[s]));
    }
    assert.equal(encodeText('cef', fromValues({ severity: 7, message: 'm' }), { header: 'none', severity: 0 }).split('|')[6], '10');
  });

  test('an RFC 5424 header when asked; overrides reach header and extension', () => {
    const ev = fromValues({ timestamp: TS, hostname: 'h', appname: 'a', message: 'm' });
    assert.equal(
      encodeText('cef', ev, { header: 'rfc5424', facility: 10, severity: 5, hostname: 'relay', appname: 'tag' }),
      `<85>1 ${TS} relay tag - - - CEF:0|sluice|sluice|0.1.0|tag|m|4|rt=${TS_MS} dvchost=relay dproc=tag src=192.0.2.9 msg=m`,
    );
  });
});

describe('leef encoder', () => {
  test('LEEF 2.0 with the tab delimiter (written x09): devTime, devTimeFormat, sev, src, usrName, msg, fields', () => {
    const ev = fromValues({
      timestamp: '2026-01-02T04:04:05.678+01:00', severity: 4, facility: 10, hostname: 'web-01', appname: 'sshd', msgid: 'LOGIN',
      message: 'Accepted publickey', fields: { user: 'alice', port: 22 },
    });
    assert.equal(
      encodeText('leef', ev, { vendor: 'Example', product: 'Gateway', version: '2.1' }),
      `<84>${localStamp(TS_MS)} web-01 LEEF:2.0|Example|Gateway|2.1|LOGIN|x09|` +
      "devTime=2026-01-02T03:04:05.678+0000\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ\tsev=6\tsrc=192.0.2.9\tusrName=alice\tmsg=Accepted publickey\tuser=alice\tport=22",
    );
  });

  test('a printable delimiter is written as is; the delimiter, CR and LF in values become spaces; header | and \\ escaped', () => {
    const ev = fromValues({ timestamp: TS, message: 'a^b\nc\r\nd\te', fields: { usrName: 'x^y', 'k=1': 'v' } });
    assert.equal(
      encodeText('leef', ev, { vendor: 'V|x', product: 'P\\', version: '1', delimiter: '^', header: 'none' }),
      `LEEF:2.0|V\\|x|P\\\\|1|syslog|^|devTime=2026-01-02T03:04:05.678+0000^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ^sev=4^src=192.0.2.9^msg=a b c d\te^usrName=x y^k_1=v`,
    );
  });

  test('the delimiter field for a non-printable or header character is its hex code', () => {
    const line = encodeText('leef', fromValues({ message: 'm' }), { delimiter: '|', header: 'none' });
    assert.match(line, /^LEEF:2\.0\|sluice\|sluice\|0\.1\.0\|syslog\|x7c\|devTime=/);
    assert.ok(line.includes('|sev=4|'), line);
  });

  test('RFC 3164 input keeps its received header stamp and host', () => {
    const ev = parsed('<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: hello');
    const line = encodeText('leef', ev, { header: 'rfc3164' });
    assert.ok(line.startsWith('<13>Feb  5 17:32:18 10.0.0.99 LEEF:2.0|sluice|sluice|0.1.0|myapp|x09|devTime='), line);
    assert.ok(line.endsWith('\tsev=4\tsrc=192.0.2.9\tmsg=hello'), line);
  });
});
