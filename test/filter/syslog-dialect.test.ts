// Which syslogd family a syslog.conf is read as, and what decided it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { importSyslogConf } from '../../src/filter/syslog-conf.js';
import { detectDialect } from '../../src/filter/syslog-dialect.js';
import { REPO } from '../helpers/daemon.js';

describe('detectDialect', () => {
  const cases: [string, 'bsd' | 'linux', RegExp | null][] = [
    ['*.info /var/log/messages\n*.emerg :omusrmsg:*\n', 'linux', /":omusrmsg:" action at line 2/],
    ['$FileOwner root\n*.info /var/log/messages\n', 'linux', /"\$" directive at line 1/],
    ['module(load="imuxsock")\n', 'linux', /RainerScript statement at line 1/],
    ['*.*;auth,authpriv.none\t\t-/var/log/syslog\n', 'linux', /no-sync\) file action at line 1/],
    ['!ppp\n*.*\t/var/log/ppp.log\n', 'bsd', /"!prog" block at line 1/],
    ['#!sshd\n*.*\t/var/log/sshd.log\n', 'bsd', /"!prog" block at line 1/],
    ['+gateway\n*.*\t/var/log/gw.log\n', 'bsd', /"\+host"\/"-host" block at line 1/],
    ['include\t\t\t\t/etc/syslog.d\n', 'bsd', /"include" line at line 1/],
    ['security.*\t/var/log/security\n', 'bsd', /FreeBSD facility "security" at line 1/],
    ['*.err\t/var/log/errors\n', 'linux', null],
    // A Linux marker wins even after a BSD-looking line: the file is an rsyslog one.
    ['security.*\t/var/log/security\n$IncludeConfig /etc/rsyslog.d/*.conf\n', 'linux', /"\$" directive at line 2/],
    // Comments are not markers ("#-----" banners, commented-out actions).
    ['#-----------\n# *.* -/var/log/all\n*.err /var/log/errors\n', 'linux', null],
  ];
  for (const [text, dialect, marker] of cases) {
    it(`${JSON.stringify(text.split('\n')[0])} → ${dialect}`, () => {
      const g = detectDialect(text);
      assert.equal(g.dialect, dialect);
      if (marker === null) assert.equal(g.marker, null);
      else assert.match(g.marker ?? '', marker);
    });
  }
});

describe('importSyslogConf --dialect auto (the default)', () => {
  it('reads seed 003\'s FreeBSD file the BSD way', () => {
    const r = importSyslogConf(fs.readFileSync(path.join(REPO, 'test/fixtures/freebsd-syslog.conf'), 'utf8'), 'syslog.conf');
    assert.equal(r.dialect, 'bsd');
    assert.match(r.marker ?? '', /security/);
    assert.ok(!r.warnings.some((w) => w.includes('no marker')));
  });

  it('without any marker: Linux, and one warning that says how to choose', () => {
    const r = importSyslogConf('*.err /var/log/errors\nmail.* /var/log/mail\n', 'plain.conf');
    assert.equal(r.dialect, 'linux');
    assert.equal(r.warnings.filter((w) => w.includes('no marker')).length, 1);
    assert.ok(r.warnings.some((w) => w.includes('--dialect bsd')));
  });

  it('an explicit dialect is used as given, without a warning', () => {
    const r = importSyslogConf('*.err /var/log/errors\n', 'plain.conf', { dialect: 'bsd' });
    assert.equal(r.dialect, 'bsd');
    assert.equal(r.marker, null);
    assert.deepEqual(r.warnings, []);
  });
});
