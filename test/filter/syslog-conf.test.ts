// syslog.conf import, checked against an independent reading of syslogd's selector rules for every facility and severity.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { compileFilters } from '../../src/filter/compile.js';
import { importSyslogConf, type Dialect } from '../../src/filter/syslog-conf.js';
import { prng } from '../helpers/prng.js';

const FREEBSD = readFileSync(new URL('../../../test/fixtures/freebsd-syslog.conf', import.meta.url), 'utf8');
const LOCAL: EventSource = { name: 'local', transport: 'udp', address: '127.0.0.1', port: 514, tlsPeer: null };

// ---- Reference: syslogd's selector rules, written straight from the man pages ----

const FACILITY: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10,
  ftp: 11, ntp: 12, security: 13, console: 14,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
const SEVERITY: Record<string, number> = {
  emerg: 0, panic: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7,
};

/**
 * Whether a selector list selects (fac, sev). BSD: the last selector naming the facility
 * decides. Linux: positive selectors add, "!" ones remove, "none" clears.
 */
function referenceSelects(selector: string, fac: number, sev: number, dialect: Dialect): boolean {
  let selected = false;
  for (const part of selector.split(';')) {
    if (part === '') continue;
    const dot = part.indexOf('.');
    const names = part.slice(0, dot).split(',');
    const named = names.some((n) => n === '*' || (dialect === 'linux' && n === 'security' ? 4 : FACILITY[n]) === fac);
    if (!named) continue;
    let level = part.slice(dot + 1);
    const negated = level.startsWith('!');
    if (negated) level = level.slice(1);
    const exact = level.startsWith('=');
    if (exact) level = level.slice(1);
    if (level === 'none') {
      selected = dialect === 'linux' && negated;
      continue;
    }
    const hit = level === '*' || (exact ? sev === SEVERITY[level] : sev <= SEVERITY[level]!);
    if (dialect === 'bsd') selected = negated ? !hit : hit;
    else selected = negated ? selected && !hit : selected || hit;
  }
  return selected;
}

/** Where each importable line of a syslog.conf sends (fac, sev): file paths and forwarding URLs. */
function referenceTargets(conf: string, fac: number, sev: number, dialect: Dialect): Set<string> {
  const out = new Set<string>();
  const joined = conf.replace(/\\\n\s*/g, '');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [selector, action] = line.split(/\s+/, 2) as [string, string];
    const target = referenceAction(action);
    if (target !== null && referenceSelects(selector, fac, sev, dialect)) out.add(target);
  }
  return out;
}

function referenceAction(action: string): string | null {
  if (action.startsWith('-/')) return action.slice(1);
  if (action.startsWith('/')) return action;
  const fwd = /^(@@?)([^:]+)(?::(\d+))?$/.exec(action);
  if (fwd) return `${fwd[1] === '@@' ? 'tcp' : 'udp'}://${fwd[2]}:${fwd[3] ?? 514}`;
  return null;
}

// ---- The imported config, run the way the router runs it ----

interface Config {
  sources: Record<string, { type: string; listen: string[] }>;
  filters: Record<string, string>;
  destinations: Record<string, { type: string; path?: string; url?: string; fsync?: boolean; format?: string }>;
  log: { from: string; filter: string; to: string }[];
}

function load(yaml: string): Config {
  return YAML.parse(yaml) as Config;
}

function router(config: Config): (ev: LogEvent) => Set<string> {
  const filters = compileFilters(config.filters);
  return (ev) => {
    const out = new Set<string>();
    for (const path of config.log) {
      if (!filters.get(path.filter)!(ev)) continue;
      const dest = config.destinations[path.to]!;
      out.add(dest.path ?? dest.url!);
    }
    return out;
  };
}

function event(facility: number, severity: number, extra: { appname?: string; hostname?: string } = {}): LogEvent {
  return LogEvent.fromValues(LOCAL, Date.now(), { facility, severity, message: 'm', ...extra });
}

function assertEquivalent(conf: string, dialect: Dialect = 'bsd'): Config {
  const { yaml } = importSyslogConf(conf, 'syslog.conf', { dialect });
  const config = load(yaml);
  const route = router(config);
  for (let fac = 0; fac < 24; fac++) {
    for (let sev = 0; sev < 8; sev++) {
      const want = [...referenceTargets(conf, fac, sev, dialect)].sort();
      const got = [...route(event(fac, sev))].sort();
      assert.deepEqual(got, want, `${dialect} facility ${fac} severity ${sev}\n${conf}\n${yaml}`);
    }
  }
  return config;
}

function only(conf: string, dialect: Dialect = 'bsd'): string {
  const config = load(importSyslogConf(conf, 'syslog.conf', { dialect }).yaml);
  const names = Object.keys(config.filters);
  assert.equal(names.length, 1);
  return config.filters[names[0]!]!;
}

// ---- Tests ----

describe('importSyslogConf: FreeBSD syslog.conf', () => {
  const { yaml, warnings } = importSyslogConf(FREEBSD, '/etc/syslog.conf');
  const config = load(yaml);

  it('routes every facility and severity where BSD syslogd would', () => {
    assertEquivalent(FREEBSD, 'bsd');
  });

  it('produces the config contract: one source, filters, destinations, log paths', () => {
    assert.deepEqual(config.sources, { local: { type: 'syslog', listen: ['udp://127.0.0.1:5140', 'tcp://127.0.0.1:5140'] } });
    assert.match(yaml, /# .*unix:\/\/\/dev\/log/);
    assert.deepEqual(Object.keys(config.destinations), ['console', 'messages', 'security', 'auth_log', 'maillog', 'lpd_errs', 'cron']);
    assert.deepEqual(config.destinations.console, { type: 'file', path: '/dev/console' });
    assert.equal(config.log.length, 7);
    assert.deepEqual(config.log[3], { from: 'local', filter: 'auth_log', to: 'auth_log' });
  });

  it('translates selectors exactly, including later selectors that narrow a facility', () => {
    assert.equal(config.filters.security, 'facility(security)');
    assert.equal(config.filters.auth_log, 'facility(auth, authpriv) and level(info..emerg)');
    assert.equal(config.filters.cron, 'facility(cron)');
    // mail.crit after *.err narrows mail to crit..emerg on BSD.
    assert.equal(
      config.filters.console,
      '(level(err..emerg) and not facility(mail)) or facility(kern) or (facility(mail) and level(crit..emerg)) or (facility(auth) and level(notice..emerg))',
    );
  });

  it('quotes the original line in a comment before each filter and path', () => {
    const lines = yaml.split('\n');
    const original = FREEBSD.split('\n');
    for (const name of Object.keys(config.filters)) {
      const at = lines.indexOf(`  ${name}: ${config.filters[name]}`);
      assert.ok(at > 0, name);
      assert.match(lines[at - 1]!, /^ {2}# \/etc\/syslog\.conf:\d+: /);
      const no = Number(/:(\d+): /.exec(lines[at - 1]!)![1]);
      assert.ok(lines[at - 1]!.endsWith(original[no - 1]!), `${name} comment quotes line ${no}`);
    }
    for (const path of config.log) {
      const at = lines.findIndex((l) => l.includes(`filter: ${path.filter},`));
      assert.match(lines[at - 1]!, /^ {2}# \/etc\/syslog\.conf:\d+: /);
    }
  });

  it('warns about "*" (all users), names the line, and leaves a comment', () => {
    const w = warnings.filter((x) => x.includes('logged-in users'));
    assert.equal(w.length, 1);
    assert.match(w[0]!, /^\/etc\/syslog\.conf:8: /);
    assert.match(yaml, /# \/etc\/syslog\.conf:8: \*\.emerg\s+\*\n\s+# not imported/);
  });

  it('warns where Linux syslogds would read a line differently', () => {
    assert.ok(warnings.some((x) => x.startsWith('/etc/syslog.conf:2: ') && x.includes('Linux')));
    assert.ok(!warnings.some((x) => x.startsWith('/etc/syslog.conf:3: ')), 'security.* means the same on both');
  });

  it('every filter compiles and the output is plain YAML', () => {
    assert.doesNotThrow(() => compileFilters(config.filters));
    assert.equal(YAML.parseDocument(yaml).errors.length, 0);
  });

  it('reads the same file with Linux semantics when asked', () => {
    assertEquivalent(FREEBSD, 'linux');
  });
});

describe('importSyslogConf: selectors', () => {
  it('"none" excludes a facility from a wildcard', () => {
    const conf = '*.info;mail.none;authpriv.none;cron.none\t\t/var/log/messages\n';
    assertEquivalent(conf);
    assertEquivalent(conf, 'linux');
    assert.equal(only(conf), 'level(info..emerg) and not facility(mail, cron, authpriv)');
  });

  it('a later selector overrides earlier ones for the facilities it names', () => {
    assertEquivalent('*.notice;mail.none /var/log/a\n*.err;kern.debug /var/log/b\n*.debug;news.err /var/log/c\nmail.none;*.crit /var/log/d\n');
    assert.equal(only('*.err;kern.debug /var/log/b'), 'level(err..emerg) or facility(kern)');
    assert.equal(only('*.debug;news.err /var/log/c'), '(level(debug..emerg) and not facility(news)) or (facility(news) and level(err..emerg))');
    assert.equal(only('mail.none;*.crit /var/log/d'), 'level(crit..emerg)');
  });

  it('"=" selects one level only', () => {
    assertEquivalent('mail.=debug /var/log/mail.debug\n*.=crit;kern.none /var/adm/critical\n');
    assert.equal(only('mail.=debug /var/log/mail.debug'), 'facility(mail) and level(debug)');
  });

  it('"!" and "!=" negate, with each dialect\'s meaning', () => {
    const conf = 'kern.*;kern.!=info /var/log/kernel\nkern.info;kern.!err /var/log/kern2\nmail.!notice /var/log/m\n';
    assertEquivalent(conf, 'bsd');
    assertEquivalent(conf, 'linux');
    assert.equal(only('kern.*;kern.!=info /k'), 'facility(kern) and level(debug, notice..emerg)');
    assert.equal(only('kern.info;kern.!err /k', 'linux'), 'facility(kern) and level(info..warning)');
    assert.equal(only('kern.info;kern.!err /k', 'bsd'), 'facility(kern) and level(debug..warning)');
  });

  it('takes several facilities in one selector', () => {
    assertEquivalent('mail,news.warning /var/log/x\nuucp,news.crit;news.none /var/log/spooler\n');
    assert.equal(only('mail,news.warning /var/log/x'), 'facility(mail, news) and level(warning..emerg)');
  });

  it('reads Linux "security" as auth and BSD "security" as facility 13', () => {
    assert.equal(only('security.* /s', 'bsd'), 'facility(security)');
    assert.equal(only('security.* /s', 'linux'), 'facility(auth)');
  });

  it('matches the reference on random selector lines in both dialects', () => {
    const rnd = prng(0x5eed);
    const facilities = Object.keys(FACILITY).filter((f) => f !== 'security');
    const levels = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', '*', 'none', 'warn', 'panic'];
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
    for (let round = 0; round < 150; round++) {
      const lines: string[] = [];
      for (let l = 0; l < 3; l++) {
        const parts: string[] = [];
        for (let p = 1 + Math.floor(rnd() * 4); p > 0; p--) {
          const facs = rnd() < 0.3 ? ['*'] : Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(facilities));
          const prefix = pick(['', '', '', '=', '!', '!=']);
          parts.push(`${[...new Set(facs)].join(',')}.${prefix}${pick(levels)}`);
        }
        lines.push(`${parts.join(';')}\t/var/log/r${l}`);
      }
      const conf = lines.join('\n');
      assertEquivalent(conf, 'bsd');
      assertEquivalent(conf, 'linux');
    }
  });
});

describe('importSyslogConf: lines and actions', () => {
  it('joins continuation lines and skips comments and blank lines', () => {
    const conf = '# a comment\n\n*.err;\\\n    kern.debug\t/var/log/cont\n   # indented comment\nmail.info \\\n  /var/log/mail\n';
    const config = assertEquivalent(conf);
    assert.equal(config.filters.cont, 'level(err..emerg) or facility(kern)');
    assert.equal(config.destinations.mail!.path, '/var/log/mail');
  });

  it('"&" gives the previous selector another action', () => {
    const { yaml, warnings } = importSyslogConf('mail.info /var/log/mail\n& /var/log/mail2\nbogus.* /x\n& /var/log/y\n', 'r.conf');
    const config = load(yaml);
    assert.equal(config.filters.mail2, 'facility(mail) and level(info..emerg)');
    assert.ok(!('y' in config.destinations));
    assert.match(warnings.join('\n'), /r\.conf:4: .*"&"/);
  });

  it('"-/path" is a file without fsync', () => {
    const config = assertEquivalent('mail.* -/var/log/maillog\n*.info /var/log/messages\n');
    assert.deepEqual(config.destinations.maillog, { type: 'file', path: '/var/log/maillog', fsync: false });
    assert.deepEqual(config.destinations.messages, { type: 'file', path: '/var/log/messages' });
  });

  it('"@host", "@host:port" and "@@host" forward over UDP or TCP', () => {
    const conf = '*.* @loghost\nauth.* @@10.0.0.5:1514\n*.err @[2001:db8::1]:515\n';
    const config = load(importSyslogConf(conf, 'syslog.conf').yaml);
    const urls = Object.values(config.destinations).map((d) => [d.type, d.url, d.format]);
    assert.deepEqual(urls, [
      ['syslog', 'udp://loghost:514', 'rfc3164'],
      ['syslog', 'tcp://10.0.0.5:1514', 'rfc3164'],
      ['syslog', 'udp://[2001:db8::1]:515', 'rfc3164'],
    ]);
    assert.deepEqual(Object.keys(config.destinations), ['fwd_loghost', 'fwd_10_0_0_5', 'fwd_2001_db8_1']);
    assertEquivalent('*.* @loghost\nauth.* @@10.0.0.5:1514\n');
  });

  it('warns about actions sluice cannot take, and imports the rest', () => {
    const conf = '*.emerg *\n*.alert root,operator\nmail.* |/var/log/pipe\nkern.* ^/usr/local/bin/alert\n*.emerg :omusrmsg:*\nauth.* /var/log/auth.log\n';
    const { yaml, warnings } = importSyslogConf(conf, 'x.conf');
    assert.equal(warnings.length, 5);
    assert.deepEqual(warnings.map((w) => w.slice(0, 9)), ['x.conf:1:', 'x.conf:2:', 'x.conf:3:', 'x.conf:4:', 'x.conf:5:']);
    assert.match(warnings[1]!, /root,operator/);
    const config = load(yaml);
    assert.deepEqual(Object.keys(config.destinations), ['auth_log']);
    assert.equal((yaml.match(/# not imported/g) ?? []).length, 5);
  });

  it('warns about and skips unknown names and other syntaxes', () => {
    const conf = 'bogus.info /a\nmail.loud /b\n$ModLoad imuxsock\n:msg, contains, "x" /c\nmark.* /d\n*.none /e\n';
    const { yaml, warnings } = importSyslogConf(conf, 'r.conf');
    assert.match(warnings.join('\n'), /r\.conf:1: .*unknown facility "bogus"/);
    assert.match(warnings.join('\n'), /r\.conf:2: .*unknown level "loud"/);
    assert.match(warnings.join('\n'), /r\.conf:3: .*directives/);
    assert.match(warnings.join('\n'), /r\.conf:4: .*property-based/);
    assert.match(warnings.join('\n'), /r\.conf:5: .*mark/);
    assert.match(warnings.join('\n'), /r\.conf:6: .*selects no messages/);
    const config = load(yaml);
    assert.deepEqual(config.filters, {});
    assert.deepEqual(config.log, []);
  });

  it('makes destination and filter names unique and valid YAML keys', () => {
    const conf = '*.info /var/log/messages\nmail.* /var/log/old/messages\nauth.* /var/log/messages\nkern.* /var/log/null\nuser.* /var/log/1\n';
    const { yaml, warnings } = importSyslogConf(conf, 'syslog.conf');
    const config = load(yaml);
    assert.deepEqual(Object.keys(config.destinations), ['messages', 'messages_2', 'log_null', 'log_1']);
    assert.deepEqual(Object.keys(config.filters), ['messages', 'messages_2', 'messages_3', 'log_null', 'log_1']);
    assert.deepEqual(config.log.map((p) => p.to), ['messages', 'messages_2', 'messages', 'log_null', 'log_1']);
    assert.ok(warnings.some((w) => w.startsWith('syslog.conf:1,3: /var/log/messages')));
    assertEquivalent(conf);
  });

  it('supports FreeBSD program blocks', () => {
    const conf = [
      '!sshd', 'auth.* /var/log/sshd.log',
      '!-sshd,su', 'auth.* /var/log/other.log',
      '#!*', 'auth.* /var/log/all.log',
      '!ppp', '*.err;kern.debug /var/log/ppp.log',
    ].join('\n');
    const config = load(importSyslogConf(conf, 'syslog.conf').yaml);
    const route = router(config);
    const to = (fac: number, sev: number, appname?: string) => [...route(event(fac, sev, appname ? { appname } : {}))].sort();
    assert.deepEqual(to(4, 6, 'sshd'), ['/var/log/all.log', '/var/log/sshd.log']);
    assert.deepEqual(to(4, 6, 'su'), ['/var/log/all.log']);
    assert.deepEqual(to(4, 6, 'login'), ['/var/log/all.log', '/var/log/other.log']);
    assert.deepEqual(to(4, 6), ['/var/log/all.log', '/var/log/other.log']);
    assert.deepEqual(to(4, 6, 'sshd-session'), ['/var/log/all.log', '/var/log/other.log'], 'exact program names');
    assert.deepEqual(to(0, 7, 'ppp'), ['/var/log/ppp.log']);
    assert.deepEqual(to(1, 3, 'ppp'), ['/var/log/ppp.log']);
    assert.deepEqual(to(1, 4, 'ppp'), []);
    assert.equal(config.filters.ppp_log, '(level(err..emerg) or facility(kern)) and program("^(?:ppp)$")');
  });

  it('supports FreeBSD host blocks, case-insensitively', () => {
    const conf = ['+web1,web2', '*.* /var/log/web.log', '-web1', 'mail.* /var/log/notweb1.log', '+*', 'mail.* /var/log/mail.log'].join('\n');
    const { yaml, warnings } = importSyslogConf(conf, 'syslog.conf');
    const route = router(load(yaml));
    const to = (hostname: string) => [...route(event(2, 6, { hostname }))].sort();
    assert.deepEqual(to('web1'), ['/var/log/mail.log', '/var/log/web.log']);
    assert.deepEqual(to('WEB2'), ['/var/log/mail.log', '/var/log/notweb1.log', '/var/log/web.log']);
    assert.deepEqual(to('db1'), ['/var/log/mail.log', '/var/log/notweb1.log']);
    assert.deepEqual(to('web10'), ['/var/log/mail.log', '/var/log/notweb1.log']);
    assert.ok(warnings.some((w) => w.startsWith('syslog.conf:1: host blocks')));
  });

  it('keeps "#----" banners as comments', () => {
    const config = load(importSyslogConf('#-----------\n#+++ banner\nmail.* /var/log/mail\n', 's').yaml);
    assert.equal(config.filters.mail, 'facility(mail)');
  });
});
