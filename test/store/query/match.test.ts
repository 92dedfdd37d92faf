// The in-memory evaluator on real events (parsed syslog lines and events built from values):
// every node kind, field mapping, value rules, and regex safety at run time.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyslog } from '../../../src/codec/syslog-parser.js';
import { LogEvent, type EventJson, type EventSource } from '../../../src/event/log-event.js';
import { compileMatcher, fieldValue, matchWildcard } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';

const TCP: EventSource = { name: 'net', transport: 'tcp', address: '192.0.2.9', port: 514, tlsPeer: null };
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

function syslog(line: string, source: EventSource = TCP): EventJson {
  const buf = Buffer.from(line, 'utf8');
  const ev = new LogEvent(source, NOW);
  assert.equal(parseSyslog(ev, buf, 0, buf.length, 'auto'), null, line);
  return ev.toJSON();
}

function valued(v: Parameters<typeof LogEvent.fromValues>[2], source: EventSource = TCP): EventJson {
  return LogEvent.fromValues(source, NOW, { facility: 1, severity: 5, ...v }).toJSON();
}

const SSH = syslog('<38>1 2026-12-01T11:59:58.123Z web-01 sshd 4242 AUTH [origin ip="10.0.0.7" software="OpenSSH"][meta@32473 seq="17" tag="a" tag="b"] Failed password for root from 10.0.0.1 port 22 ssh2');
const KERN = syslog('<2>Dec  1 11:59:59 db-02 kernel: EXT4-fs error (device sda1): Disk FULL on /var/lib');
const CRON = syslog('<78>Dec  1 12:00:00 web-02 CRON[991]: (root) CMD (run-parts /etc/cron.hourly)');
const JSON_EV = valued({
  hostname: 'App-Server', appname: 'billing', message: 'charged café Ελλάδα 42 EUR, naïve user',
  severity: 3, facility: 16,
  fields: { user: 'Alice', bytes: 1500, ratio: '0.75', status: '500', ok: true, tags: ['pay', 'EU'], rule: { id: 'r-1', level: 'high' }, 'dotted.key': 'flat', nothing: null },
}, { name: 'http-in', transport: 'https', address: null, port: null, tlsPeer: null });
const NO_MSG = valued({ hostname: null, appname: null, message: null, severity: 7 });
const ALL = { SSH, KERN, CRON, JSON_EV, NO_MSG };

/** The names of the events the query matches. */
function which(q: string): string[] {
  const m = compileMatcher(parseQuery(q));
  return Object.entries(ALL).filter(([, ev]) => m(ev)).map(([k]) => k);
}

describe('fieldValue', () => {
  it('maps every field of the language onto the JSON event', () => {
    const f = (name: string, ev: EventJson) => {
      const q = parseQuery(`${name}:*`);
      assert.equal(q.filter.kind, 'exists');
      assert.ok(q.filter.kind === 'exists');
      return fieldValue(ev, q.filter.field);
    };
    assert.equal(f('host', SSH), 'web-01');
    assert.equal(f('app', SSH), 'sshd');
    assert.equal(f('procid', SSH), '4242');
    assert.equal(f('msgid', SSH), 'AUTH');
    assert.equal(f('severity', SSH), 6);
    assert.equal(f('facility', SSH), 4);
    assert.equal(f('source', SSH), 'net');
    assert.equal(f('transport', SSH), 'tcp');
    assert.equal(f('sd.origin.ip', SSH), '10.0.0.7');
    assert.deepEqual(f('sd.meta@32473.tag', SSH), ['a', 'b']);
    assert.equal(f('sd.origin.nope', SSH), undefined);
    assert.equal(f('message', KERN), 'EXT4-fs error (device sda1): Disk FULL on /var/lib');
    assert.equal(f('app', CRON), 'CRON');
    assert.equal(f('procid', CRON), '991');
    assert.equal(f('fields.user', JSON_EV), 'Alice');
    assert.equal(f('fields.rule.id', JSON_EV), 'r-1');
    assert.equal(f('fields.dotted.key', JSON_EV), 'flat');
    assert.equal(f('fields.nothing', JSON_EV), undefined);
    assert.equal(f('source', JSON_EV), 'http-in');
    assert.equal(f('transport', JSON_EV), 'https');
  });
});

describe('compileMatcher: text', () => {
  it('bare words are whole words of the message, case-insensitive', () => {
    assert.deepEqual(which('failed'), ['SSH']);
    assert.deepEqual(which('FAILED ROOT'), ['SSH']);
    assert.deepEqual(which('fail'), []);
    assert.deepEqual(which('root'), ['SSH', 'CRON']);
    assert.deepEqual(which('web'), [], 'the hostname is not the message');
    assert.deepEqual(which('disk full'), ['KERN']);
    assert.deepEqual(which('CAFÉ ελλάδα'), ['JSON_EV']);
    assert.deepEqual(which('cafe'), [], 'diacritics are kept (remove_diacritics 0)');
  });

  it('phrases are adjacent words in order; separators inside a bare word make a phrase', () => {
    assert.deepEqual(which('"failed password"'), ['SSH']);
    assert.deepEqual(which('"password failed"'), []);
    assert.deepEqual(which('"disk, full!"'), ['KERN']);
    assert.deepEqual(which('10.0.0.1'), ['SSH']);
    assert.deepEqual(which('10.0.0.7'), [], 'the sd value is not in the message');
    assert.deepEqual(which('ext4-fs'), ['KERN']);
    assert.deepEqual(which('run-parts'), ['CRON']);
    assert.deepEqual(which('"root from 10"'), ['SSH']);
  });

  it('prefixes, wildcards and regexes on the message', () => {
    assert.deepEqual(which('pass*'), ['SSH']);
    assert.deepEqual(which('ssh*'), ['SSH']);
    assert.deepEqual(which('"from 10.0.0"*'), ['SSH'], 'a quoted phrase then * is a phrase whose last word is a prefix');
    assert.deepEqual(which('"root fr"*'), ['SSH']);
    assert.deepEqual(which('"root fr"'), []);
    assert.deepEqual(which('10.0.0.*'), ['SSH']);
    assert.deepEqual(which('*word'), ['SSH']);
    assert.deepEqual(which('f?ll'), ['KERN']);
    assert.deepEqual(which('n?ïve'), ['JSON_EV']);
    assert.deepEqual(which('/Disk FULL/'), ['KERN']);
    assert.deepEqual(which('/disk full/'), []);
    assert.deepEqual(which('/disk full/i'), ['KERN']);
    assert.deepEqual(which('/^\\(root\\)/'), ['CRON']);
    assert.deepEqual(which('/port \\d+ ssh2$/'), ['SSH']);
    assert.deepEqual(which('/[A-Z]{4}/i'), ['SSH', 'KERN', 'CRON', 'JSON_EV']);
    assert.deepEqual(which('/\\x44ISK \\u0046ULL/i'), ['KERN'], 'escaped capitals fold under i');
    assert.deepEqual(which('/caf\\u00c9/i'), ['JSON_EV']);
    assert.deepEqual(which('/\\cJ|\\n/i'), []);
    assert.deepEqual(which('/\\W\\D/i'), ['SSH', 'KERN', 'CRON', 'JSON_EV'], '\\W and \\D keep their meaning under i');
  });

  it('an event without a message matches no text term, and NOT of one', () => {
    assert.deepEqual(which('message:*'), ['SSH', 'KERN', 'CRON', 'JSON_EV']);
    assert.deepEqual(which('NOT message:*'), ['NO_MSG']);
    assert.ok(which('-failed').includes('NO_MSG'));
    assert.ok(!which('/./').includes('NO_MSG'));
  });

  it('SQL metacharacters are plain text', () => {
    const ev = valued({ message: "user='; DROP TABLE x; --' logged in", hostname: "h'; --" });
    const m = (q: string) => compileMatcher(parseQuery(q))(ev);
    assert.equal(m("'; DROP TABLE x; --"), true);
    assert.equal(m(`host:"h'; --"`), true);
    assert.equal(m(`"drop table y"`), false);
    assert.equal(m(`host:"' OR 1=1 --"`), false);
  });
});

describe('compileMatcher: fields', () => {
  it('keyword fields compare whole values, case-insensitive', () => {
    assert.deepEqual(which('host:web-01'), ['SSH']);
    assert.deepEqual(which('host:WEB-01'), ['SSH']);
    assert.deepEqual(which('host:web'), []);
    assert.deepEqual(which('host:web-*'), ['SSH', 'CRON']);
    assert.deepEqual(which('host:*-02'), ['KERN', 'CRON']);
    assert.deepEqual(which('host:?b-0?'), ['KERN']);
    assert.deepEqual(which('host:/^web-0[12]$/'), ['SSH', 'CRON']);
    assert.deepEqual(which('app:cron'), ['CRON']);
    assert.deepEqual(which('app:kernel procid:*'), []);
    assert.deepEqual(which('procid:4242 msgid:auth'), ['SSH']);
    assert.deepEqual(which('source:http-in transport:https'), ['JSON_EV']);
    assert.deepEqual(which('transport:tcp'), ['SSH', 'KERN', 'CRON', 'NO_MSG']);
    assert.deepEqual(which('host:"app-server"'), ['JSON_EV']);
    assert.deepEqual(which('host:*'), ['SSH', 'KERN', 'CRON', 'JSON_EV']);
    assert.deepEqual(which('-host:*'), ['NO_MSG']);
  });

  it('severity and facility as codes, with comparisons and ranges', () => {
    assert.deepEqual(which('severity:info'), ['SSH', 'CRON']);
    assert.deepEqual(which('severity:crit'), ['KERN']);
    assert.deepEqual(which('severity:<=err'), ['KERN', 'JSON_EV']);
    assert.deepEqual(which('severity:<err'), ['KERN']);
    assert.deepEqual(which('severity:>warning'), ['SSH', 'CRON', 'NO_MSG']);
    assert.deepEqual(which('severity:[err TO info]'), ['SSH', 'CRON', 'JSON_EV']);
    assert.deepEqual(which('facility:auth'), ['SSH']);
    assert.deepEqual(which('facility:kern'), ['KERN']);
    assert.deepEqual(which('facility:cron'), ['CRON']);
    assert.deepEqual(which('facility:>=local0'), ['JSON_EV']);
    assert.deepEqual(which('facility:[kern TO auth]'), ['SSH', 'KERN', 'NO_MSG']);
  });

  it('structured data params, repeated params match any value', () => {
    assert.deepEqual(which('sd.origin.ip:10.0.0.7'), ['SSH']);
    assert.deepEqual(which('sd.origin.software:openssh'), ['SSH']);
    assert.deepEqual(which('sd.meta@32473.tag:b'), ['SSH']);
    assert.deepEqual(which('sd.meta@32473.seq:>16'), ['SSH']);
    assert.deepEqual(which('sd.meta@32473.seq:>17'), []);
    assert.deepEqual(which('sd.origin.*'), [], 'sd.origin.* is a bare word of the message');
    assert.deepEqual(which('sd.origin.ip:*'), ['SSH']);
  });

  it('fields.NAME: equals, numbers compare numerically, arrays match any element, nested paths', () => {
    assert.deepEqual(which('fields.user:alice'), ['JSON_EV']);
    assert.deepEqual(which('fields.user:ali*'), ['JSON_EV']);
    assert.deepEqual(which('fields.bytes:1500'), ['JSON_EV']);
    assert.deepEqual(which('fields.bytes:1500.0'), ['JSON_EV']);
    assert.deepEqual(which('fields.bytes:>500'), ['JSON_EV']);
    assert.deepEqual(which('fields.bytes:>1500'), []);
    assert.deepEqual(which('fields.bytes:>=1500'), ['JSON_EV']);
    assert.deepEqual(which('fields.bytes:[1000 TO 2000]'), ['JSON_EV']);
    assert.deepEqual(which('fields.bytes:[1501 TO 2000]'), []);
    assert.deepEqual(which('fields.ratio:<1'), ['JSON_EV'], 'a decimal string compares as a number');
    assert.deepEqual(which('fields.status:500'), ['JSON_EV']);
    assert.deepEqual(which('fields.user:>1'), [], 'a number bound never matches text');
    assert.deepEqual(which('fields.user:>b'), [], 'alice < b');
    assert.deepEqual(which('fields.user:<b'), ['JSON_EV']);
    assert.deepEqual(which('fields.ok:true'), ['JSON_EV']);
    assert.deepEqual(which('fields.tags:eu'), ['JSON_EV']);
    assert.deepEqual(which('fields.tags:pay fields.tags:eu'), ['JSON_EV']);
    assert.deepEqual(which('fields.rule.id:R-1 fields.rule.level:high'), ['JSON_EV']);
    assert.deepEqual(which('fields.dotted.key:flat'), ['JSON_EV']);
    assert.deepEqual(which('fields.nothing:*'), [], 'null is absent');
    assert.deepEqual(which('fields.rule:*'), ['JSON_EV']);
    assert.deepEqual(which('fields.rule:r-1'), [], 'an object equals nothing');
    assert.deepEqual(which('fields.missing:*'), []);
  });
});

describe('compileMatcher: boolean structure', () => {
  it('AND, OR, NOT with the parser precedence', () => {
    assert.deepEqual(which('failed OR disk'), ['SSH', 'KERN']);
    assert.deepEqual(which('root -failed'), ['CRON']);
    assert.deepEqual(which('NOT root cmd'), []);
    assert.deepEqual(which('NOT failed cmd'), ['CRON']);
    assert.deepEqual(which('failed OR disk host:db-02'), ['SSH', 'KERN']);
    assert.deepEqual(which('(failed OR disk) host:db-02'), ['KERN']);
    assert.deepEqual(which('NOT (failed OR disk) message:*'), ['CRON', 'JSON_EV']);
    assert.deepEqual(which(''), ['SSH', 'KERN', 'CRON', 'JSON_EV', 'NO_MSG']);
    assert.deepEqual(which('* | limit 1'), ['SSH', 'KERN', 'CRON', 'JSON_EV', 'NO_MSG'], 'the filter ignores pipes');
  });
});

describe('regex safety at run time', () => {
  it('polynomial patterns finish on a long message (linear engine)', () => {
    const ev = valued({ message: 'a'.repeat(20_000) });
    // On a backtracking engine /.*.*.*x/ on 20k characters takes hours; here it is linear.
    assert.equal(compileMatcher(parseQuery('/.*.*.*x/'))(ev), false);
    assert.equal(compileMatcher(parseQuery('/a*a*a*a*b/i'))(ev), false);
    assert.equal(compileMatcher(parseQuery('/a{3}$/'))(ev), true);
  });

  it('wildcards are matched without backtracking blow-up', () => {
    assert.equal(matchWildcard('*a*a*a*a*a*b', 'a'.repeat(5000)), false);
    assert.equal(matchWildcard('*a*a*a*a*a*', 'a'.repeat(5000)), true);
    assert.equal(matchWildcard('a\\*b', 'a*b'), true);
    assert.equal(matchWildcard('a\\*b', 'axb'), false);
    assert.equal(matchWildcard('?', '😀'), true);
    assert.equal(matchWildcard('', ''), true);
    assert.equal(matchWildcard('*', ''), true);
    assert.equal(matchWildcard('?', ''), false);
  });

  it('hand-built trees get the same regex check', () => {
    assert.throws(() => compileMatcher({ kind: 'regex', field: { kind: 'builtin', name: 'message' }, pattern: '(a+)+', flags: '' }), /nested repetition/);
  });
});
