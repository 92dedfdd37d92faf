// Filter expressions: every function, precedence, ranges, regexes, networks, references and syntax errors.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../src/errors.js';
import { LogEvent, type EventSource } from '../../src/event/log-event.js';
import { compileFilter, compileFilters, type Filter } from '../../src/filter/compile.js';

const NET: EventSource = { name: 'net', transport: 'udp', address: '10.1.2.3', port: 514, tlsPeer: null };

type Values = Parameters<typeof LogEvent.fromValues>[2];

function ev(v: Values, source: EventSource = NET): LogEvent {
  return LogEvent.fromValues(source, Date.now(), { facility: 1, severity: 5, ...v });
}

function matches(expr: string, v: Values, source?: EventSource): boolean {
  return compileFilter(expr)(ev(v, source));
}

function syntaxError(expr: string, message: RegExp, named?: (name: string) => Filter | undefined): void {
  assert.throws(() => compileFilter(expr, named), (e: unknown) => {
    assert.ok(isSluiceError(e), `expected a SluiceError, got ${String(e)}`);
    assert.equal(e.code, 'SLUICE_ERR_FILTER_SYNTAX');
    assert.match(e.message, message);
    return true;
  });
}

describe('facility()', () => {
  it('matches names, aliases and numbers', () => {
    assert.equal(matches('facility(auth, authpriv)', { facility: 4 }), true);
    assert.equal(matches('facility(auth, authpriv)', { facility: 10 }), true);
    assert.equal(matches('facility(auth, authpriv)', { facility: 3 }), false);
    assert.equal(matches('facility(16)', { facility: 16 }), true);
    assert.equal(matches('facility(local0)', { facility: 16 }), true);
    assert.equal(matches('facility(security)', { facility: 13 }), true);
    assert.equal(matches('facility("mail")', { facility: 2 }), true);
  });

  it('never matches a missing or out-of-range facility', () => {
    assert.equal(matches('facility(kern)', { facility: null }), false);
    assert.equal(matches('facility(kern)', { facility: 32 }), false);
    assert.equal(matches('facility(kern)', { facility: -1 }), false);
    assert.equal(matches('not facility(kern)', { facility: null }), true);
  });
});

describe('level() and priority()', () => {
  it('takes single names, lists and numbers', () => {
    assert.equal(matches('level(err)', { severity: 3 }), true);
    assert.equal(matches('level(err)', { severity: 2 }), false);
    assert.equal(matches('level(debug, info)', { severity: 6 }), true);
    assert.equal(matches('level(debug, info)', { severity: 5 }), false);
    assert.equal(matches('level(3)', { severity: 3 }), true);
    assert.equal(matches('priority(warning)', { severity: 4 }), true);
  });

  it('reads a range in either order as the same set', () => {
    for (const expr of ['level(info..emerg)', 'level(emerg..info)', 'level(info .. emerg)', 'priority(emerg..info)']) {
      const f = compileFilter(expr);
      for (let s = 0; s < 8; s++) assert.equal(f(ev({ severity: s })), s <= 6, `${expr} at severity ${s}`);
    }
  });

  it('mixes ranges and names', () => {
    const f = compileFilter('level(debug, notice..crit)');
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((s) => f(ev({ severity: s }))), [false, false, true, true, true, true, false, true]);
  });

  it('never matches a missing severity', () => {
    assert.equal(matches('level(debug..emerg)', { severity: null }), false);
  });
});

describe('regex functions', () => {
  it('host() matches the hostname, unanchored', () => {
    assert.equal(matches('host("^web-")', { hostname: 'web-01' }), true);
    assert.equal(matches('host("^web-")', { hostname: 'db-01' }), false);
    assert.equal(matches('host(eb-0)', { hostname: 'web-01' }), true);
  });

  it('host() falls back to the peer address, and a missing both never matches', () => {
    assert.equal(matches('host("^10\\.1\\.")', { hostname: null }), true);
    const noPeer: EventSource = { ...NET, address: null };
    assert.equal(matches('host("")', { hostname: null }, noPeer), false);
    assert.equal(matches('not host("x")', { hostname: null }, noPeer), true);
  });

  it('program(), message() and msgid() match their fields', () => {
    assert.equal(matches('program(sshd)', { appname: 'sshd' }), true);
    assert.equal(matches('program("^sshd$")', { appname: 'sshd-session' }), false);
    assert.equal(matches('message("Failed password")', { message: 'Failed password for root' }), true);
    assert.equal(matches('message("failed password")', { message: 'Failed password for root' }), false, 'case-sensitive');
    assert.equal(matches('message("user=[a-z]+ uid=\\d+")', { message: 'login user=bob uid=1000' }), true);
    assert.equal(matches('msgid("^ID47$")', { msgid: 'ID47' }), true);
    assert.equal(matches('message("a.c")', { message: 'xabcx' }), true, '"." is a regex wildcard');
  });

  it('null fields never match', () => {
    for (const fn of ['program', 'message', 'msgid']) {
      assert.equal(matches(`${fn}("")`, {}), false, fn);
      assert.equal(matches(`${fn}(".*")`, {}), false, fn);
      assert.equal(matches(`not ${fn}("x")`, {}), true, fn);
    }
  });

  it('reads string escapes and single quotes', () => {
    assert.equal(matches('message("say \\"hi\\"")', { message: 'they say "hi"' }), true);
    assert.equal(matches('message("a\\\\.b")', { message: 'a.b' }), true);
    assert.equal(matches('message("a\\\\.b")', { message: 'axb' }), false);
    assert.equal(matches("message('say \"hi\" \\d')", { message: 'say "hi" 7' }), true, 'no escapes in single quotes');
    assert.equal(matches("program('a b')", { appname: 'x a b' }), true);
  });
});

describe('source() and netmask()', () => {
  it('source() compares the source name exactly', () => {
    assert.equal(matches('source(net)', {}), true);
    assert.equal(matches('source(ne)', {}), false);
  });

  it('netmask() takes IPv4 prefixes, dotted masks and single addresses', () => {
    assert.equal(matches('netmask(10.0.0.0/8)', {}), true);
    assert.equal(matches('netmask(10.1.2.0/24)', {}), true);
    assert.equal(matches('netmask(10.1.3.0/24)', {}), false);
    assert.equal(matches('netmask(10.0.0.0/255.0.0.0)', {}), true);
    assert.equal(matches('netmask(10.1.2.3)', {}), true);
    assert.equal(matches('netmask(192.168.0.0/16, 10.0.0.0/8)', {}), true);
  });

  it('netmask() takes IPv6 and matches IPv4-mapped peers against IPv4 networks', () => {
    const v6: EventSource = { ...NET, address: '2001:db8::42' };
    assert.equal(matches('netmask(2001:db8::/32)', {}, v6), true);
    assert.equal(matches('netmask(2001:db9::/32)', {}, v6), false);
    assert.equal(matches('netmask6(2001:db8::/32)', {}, v6), true);
    assert.equal(matches('netmask(10.0.0.0/8)', {}, { ...NET, address: '::ffff:10.1.2.3' }), true);
  });

  it('netmask() never matches socket paths or missing addresses', () => {
    assert.equal(matches('netmask(0.0.0.0/0)', {}, { ...NET, transport: 'unix', address: '/dev/log' }), false);
    assert.equal(matches('netmask(0.0.0.0/0)', {}, { ...NET, address: null }), false);
  });

  it('gives the same answer on repeated calls (memoised)', () => {
    const f = compileFilter('netmask(10.0.0.0/8)');
    const other: EventSource = { ...NET, address: '11.0.0.1' };
    for (let i = 0; i < 3; i++) {
      assert.equal(f(ev({})), true);
      assert.equal(f(ev({}, other)), false);
    }
  });
});

describe('operators', () => {
  const at = (expr: string, facility: number, severity: number) => compileFilter(expr)(ev({ facility, severity }));

  it('binds not tighter than and, and tighter than or', () => {
    // ((not kern) and err) or mail
    const expr = 'not facility(kern) and level(err) or facility(mail)';
    assert.equal(at(expr, 0, 3), false);
    assert.equal(at(expr, 1, 3), true);
    assert.equal(at(expr, 1, 6), false);
    assert.equal(at(expr, 2, 7), true);
    // kern or (mail and err)
    const expr2 = 'facility(kern) or facility(mail) and level(err)';
    assert.equal(at(expr2, 0, 7), true);
    assert.equal(at(expr2, 2, 7), false);
    assert.equal(at(expr2, 2, 3), true);
  });

  it('respects parentheses', () => {
    const expr = '(facility(kern) or facility(mail)) and level(err)';
    assert.equal(at(expr, 0, 7), false);
    assert.equal(at(expr, 0, 3), true);
    assert.equal(at('not (facility(kern) or facility(mail))', 2, 3), false);
    assert.equal(at('not not facility(kern)', 0, 3), true);
  });

  it('accepts keywords in any case', () => {
    assert.equal(at('facility(kern) AND NOT level(debug)', 0, 3), true);
  });

  it('facility/level combinations agree with a direct evaluation for every pair', () => {
    const expr = '(level(err..emerg) and not facility(mail)) or facility(kern) or (facility(mail) and level(crit..emerg))';
    const f = compileFilter(expr);
    for (let fac = 0; fac < 24; fac++) {
      for (let sev = 0; sev < 8; sev++) {
        const want = (sev <= 3 && fac !== 2) || fac === 0 || (fac === 2 && sev <= 2);
        assert.equal(f(ev({ facility: fac, severity: sev })), want, `${fac}.${sev}`);
      }
    }
    // Null codes bypass the lookup table and keep their meaning.
    assert.equal(f(ev({ facility: null, severity: 0 })), true);
    assert.equal(f(ev({ facility: 0, severity: null })), true);
    assert.equal(f(ev({ facility: 2, severity: null })), false);
  });

  it('combines regex and facility tests', () => {
    const f = compileFilter('facility(auth, authpriv) and level(info..emerg) and (program(sshd) or message("sudo"))');
    assert.equal(f(ev({ facility: 4, severity: 6, appname: 'sshd' })), true);
    assert.equal(f(ev({ facility: 4, severity: 6, appname: 'login', message: 'via sudo' })), true);
    assert.equal(f(ev({ facility: 4, severity: 7, appname: 'sshd' })), false);
    assert.equal(f(ev({ facility: 3, severity: 6, appname: 'sshd' })), false);
  });
});

describe('filter() references', () => {
  it('resolves names through the callback', () => {
    const errors = compileFilter('level(err..emerg)');
    const named = (n: string) => (n === 'errors' ? errors : undefined);
    const f = compileFilter('filter(errors) and not facility(kern)', named);
    assert.equal(f(ev({ facility: 1, severity: 3 })), true);
    assert.equal(f(ev({ facility: 0, severity: 3 })), false);
    assert.equal(f(ev({ facility: 1, severity: 6 })), false);
  });

  it('rejects an unknown reference with its column', () => {
    syntaxError('filter(nope)', /^column 8: unknown filter "nope"/, () => undefined);
    syntaxError('level(err) or filter(nope)', /^column 22: unknown filter "nope"/);
  });

  it('compileFilters resolves references in any order and reports cycles', () => {
    const filters = compileFilters({ both: 'filter(auth) and filter(errors)', auth: 'facility(auth)', errors: 'level(err..emerg)' });
    assert.equal(filters.get('both')!(ev({ facility: 4, severity: 2 })), true);
    assert.equal(filters.get('both')!(ev({ facility: 4, severity: 6 })), false);
    assert.throws(() => compileFilters({ a: 'filter(b)', b: 'level(err) or filter(a)' }), /filter "a" refers to itself: a -> b -> a/);
    assert.throws(() => compileFilters({ a: 'facility(auth', b: 'level(err)' }), { message: /^filter "a": column 14: / });
  });
});

describe('syntax errors', () => {
  const cases: [string, RegExp][] = [
    ['facility(auth, authpriv and level(info))', /^column 25: expected "," or "\)" after facility list, found "and"$/],
    ['facility(auth', /^column 14: expected "," or "\)" after facility list, found end of expression$/],
    ['facility(foo)', /^column 10: unknown facility "foo"$/],
    ['facility()', /^column 10: expected a facility name or number, found "\)"$/],
    ['facility(kern,)', /^column 15: expected a facility name after ",", found "\)"$/],
    ['level(info..bogus)', /^column 13: unknown severity "bogus"/],
    ['level(info..)', /^column 13: expected a severity name or number, found "\)"$/],
    ['message("(")', /^column 9: invalid regular expression "\(" in message\(\): /],
    ['host("[a-")', /^column 6: invalid regular expression/],
    ['message("abc', /^column 9: unterminated string, expected a closing "$/],
    ['program(a, b)', /^column 10: expected "\)" after the regular expression of program, found ","$/],
    ['frob(x)', /^column 1: unknown filter function "frob", expected one of facility, level/],
    ['facility(kern) xor level(err)', /^column 16: expected "and", "or" or end of expression, found "xor"$/],
    ['', /^column 1: expected a filter function or "\(", found end of expression$/],
    ['   ', /^column 4: expected a filter function or "\(", found end of expression$/],
    ['(facility(kern)', /^column 16: expected "\)" to close the "\(" at column 1, found end of expression$/],
    ['facility(kern) and', /^column 19: expected a filter function or "\(", found end of expression$/],
    ['not', /^column 4: expected a filter function or "\(", found end of expression$/],
    ['facility kern', /^column 10: expected "\(" after facility, found "kern"$/],
    ['netmask(10.0.0.0/33)', /^column 9: invalid network "10.0.0.0\/33"/],
    ['netmask(10.0.0.0/255.0.255.0)', /^column 9: invalid network/],
    ['netmask(web-01)', /^column 9: invalid network "web-01"/],
    ['source()', /^column 8: expected a name in source\(\), found "\)"$/],
    [') or level(err)', /^column 1: expected a filter function or "\(", found "\)"$/],
  ];
  for (const [expr, message] of cases) {
    it(`rejects ${JSON.stringify(expr)}`, () => syntaxError(expr, message));
  }
});
