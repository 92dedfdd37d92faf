// The query parser: every construct, precedence, field resolution, pipes, and the column of
// every error it reports.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldRef, Node } from '../../../src/store/query/ast.js';
import { QueryError } from '../../../src/store/query/error.js';
import { MAX_DEPTH, MAX_QUERY_LENGTH, parseQuery } from '../../../src/store/query/parse.js';

const MSG: FieldRef = { kind: 'builtin', name: 'message' };
const b = (name: string): FieldRef => ({ kind: 'builtin', name } as FieldRef);
const word = (value: string, field: FieldRef = MSG): Node => ({ kind: 'word', field, value });
const phrase = (value: string, field: FieldRef = MSG): Node => ({ kind: 'phrase', field, value });

function filter(q: string): Node {
  return parseQuery(q).filter;
}

/** Asserts a QueryError at `column` whose message matches. */
function fails(q: string, column: number, message: RegExp): QueryError {
  let err: unknown;
  try {
    parseQuery(q);
  } catch (e) {
    err = e;
  }
  const shown = JSON.stringify(q.length > 60 ? q.slice(0, 60) + '…' : q);
  assert.ok(err instanceof QueryError, `expected a QueryError for ${shown}, got ${String(err)}`);
  assert.equal(err.code, 'SLUICE_ERR_QUERY');
  assert.match(err.message, message, `message for ${shown}: ${err.message}`);
  assert.equal(err.column, column, `column for ${shown}: ${err.message}`);
  assert.match(err.message, new RegExp(`^column ${column}: `));
  return err;
}

describe('words and phrases', () => {
  it('bare words are whole message words, lower-cased; AND is implied', () => {
    assert.deepEqual(filter('Disk'), word('disk'));
    assert.deepEqual(filter('disk FULL'), { kind: 'and', nodes: [word('disk'), word('full')] });
    assert.deepEqual(filter('disk AND full'), { kind: 'and', nodes: [word('disk'), word('full')] });
  });

  it('a quoted phrase is its words in order; one word in quotes is a word', () => {
    assert.deepEqual(filter('"Disk  is, FULL"'), phrase('disk is full'));
    assert.deepEqual(filter('"disk"'), word('disk'));
    assert.deepEqual(filter('"say \\"hi\\""'), phrase('say hi'));
  });

  it('a bare word with separators is the phrase of its words', () => {
    assert.deepEqual(filter('10.0.0.1'), phrase('10 0 0 1'));
    assert.deepEqual(filter('web-01'), phrase('web 01'));
    assert.deepEqual(filter('10:30'), phrase('10 30'));
    assert.deepEqual(filter('::1'), word('1'));
  });

  it('Unicode words fold as FTS5 does', () => {
    assert.deepEqual(filter('ÉCOLE'), word('école'));
    assert.deepEqual(filter('ΣΊΣΥΦΟΣ'), word('σίσυφοσ'));
  });

  it('the empty query and * match everything', () => {
    assert.deepEqual(filter(''), { kind: 'all' });
    assert.deepEqual(filter('   '), { kind: 'all' });
    assert.deepEqual(filter('*'), { kind: 'all' });
    assert.deepEqual(filter('* disk'), word('disk'));
  });

  it('lower-case and/or/not are words', () => {
    assert.deepEqual(filter('cats or dogs'), { kind: 'and', nodes: [word('cats'), word('or'), word('dogs')] });
    assert.deepEqual(filter('"OR"'), word('or'));
    assert.deepEqual(filter('a OR *'), { kind: 'all' });
  });

  it('prefixes: word* and a phrase whose last word is a prefix', () => {
    assert.deepEqual(filter('fail*'), { kind: 'prefix', field: MSG, value: 'fail' });
    assert.deepEqual(filter('web-0*'), { kind: 'prefix', field: MSG, value: 'web 0' });
    assert.deepEqual(filter('"Disk fu"*'), { kind: 'prefix', field: MSG, value: 'disk fu' });
    assert.deepEqual(filter('host:"Web 0"*'), { kind: 'prefix', field: b('host'), value: 'web 0' });
    assert.deepEqual(filter('"disk fu" *'), phrase('disk fu'), 'a star after a space is no prefix');
    assert.equal(parseQuery('fail*').scans, false);
  });

  it('inner and leading wildcards scan', () => {
    const q = parseQuery('*ail');
    assert.deepEqual(q.filter, { kind: 'wildcard', field: MSG, pattern: '*ail' });
    assert.equal(q.scans, true);
    assert.deepEqual(filter('F?O'), { kind: 'wildcard', field: MSG, pattern: 'f?o' });
    assert.deepEqual(filter('f*o*'), { kind: 'wildcard', field: MSG, pattern: 'f*o*' });
  });

  it('punctuation between words is skipped; SQL metacharacters are plain text', () => {
    assert.deepEqual(filter("'; DROP TABLE x; --"), { kind: 'and', nodes: [word('drop'), word('table'), word('x')] });
    assert.deepEqual(filter(`host:"'; DROP TABLE x; --"`), { kind: 'equals', field: b('host'), value: "'; drop table x; --" });
    assert.deepEqual(filter(`fields.q:'%_\\\\`), { kind: 'equals', field: { kind: 'fields', name: 'q' }, value: "'%_\\" });
    assert.deepEqual(filter('"a\'b" OR 1=1'), { kind: 'or', nodes: [phrase('a b'), phrase('1 1')] });
  });

  it('backslash escapes a wildcard or a colon', () => {
    assert.deepEqual(filter('what\\?'), word('what'));
    assert.deepEqual(filter('error\\:'), word('error'));
  });
});

describe('boolean structure and precedence', () => {
  it('NOT binds tighter than implied AND, AND tighter than OR', () => {
    assert.deepEqual(filter('NOT a b'), { kind: 'and', nodes: [{ kind: 'not', node: word('a') }, word('b')] });
    assert.deepEqual(filter('a b OR c'), { kind: 'or', nodes: [{ kind: 'and', nodes: [word('a'), word('b')] }, word('c')] });
    assert.deepEqual(filter('a OR b c'), { kind: 'or', nodes: [word('a'), { kind: 'and', nodes: [word('b'), word('c')] }] });
    assert.deepEqual(filter('a AND b OR c AND d'), {
      kind: 'or', nodes: [{ kind: 'and', nodes: [word('a'), word('b')] }, { kind: 'and', nodes: [word('c'), word('d')] }],
    });
    assert.deepEqual(filter('-a OR b'), { kind: 'or', nodes: [{ kind: 'not', node: word('a') }, word('b')] });
  });

  it('parentheses group, and flat chains stay flat', () => {
    assert.deepEqual(filter('(a OR b) c'), { kind: 'and', nodes: [{ kind: 'or', nodes: [word('a'), word('b')] }, word('c')] });
    assert.deepEqual(filter('a OR (b OR c)'), { kind: 'or', nodes: [word('a'), word('b'), word('c')] });
    assert.deepEqual(filter('-(a b)'), { kind: 'not', node: { kind: 'and', nodes: [word('a'), word('b')] } });
    assert.deepEqual(filter('NOT NOT a'), word('a'));
    assert.deepEqual(filter('a -b'), { kind: 'and', nodes: [word('a'), { kind: 'not', node: word('b') }] });
  });

  it('a hyphen inside a word or alone is text, not NOT', () => {
    assert.deepEqual(filter('a - b'), { kind: 'and', nodes: [word('a'), word('b')] });
    assert.deepEqual(filter('x-y'), phrase('x y'));
  });
});

describe('fields', () => {
  it('keyword fields are whole values, case-insensitive', () => {
    assert.deepEqual(filter('host:Web-01'), { kind: 'equals', field: b('host'), value: 'web-01' });
    assert.deepEqual(filter('app:"my app"'), { kind: 'equals', field: b('app'), value: 'my app' });
    for (const name of ['host', 'app', 'procid', 'msgid', 'source', 'transport']) {
      assert.deepEqual(filter(`${name}:x`), { kind: 'equals', field: b(name), value: 'x' });
    }
    assert.deepEqual(filter('hostname:x'), { kind: 'equals', field: b('host'), value: 'x' });
    assert.deepEqual(filter('program:x'), { kind: 'equals', field: b('app'), value: 'x' });
    assert.deepEqual(filter('HOST:x'), { kind: 'equals', field: b('host'), value: 'x' });
  });

  it('sd.ID.PARAM and fields.NAME', () => {
    assert.deepEqual(filter('sd.origin.ip:10.0.0.1'), { kind: 'equals', field: { kind: 'sd', id: 'origin', param: 'ip' }, value: '10.0.0.1' });
    assert.deepEqual(filter('sd.meta@32473.sequenceId:5'), { kind: 'equals', field: { kind: 'sd', id: 'meta@32473', param: 'sequenceId' }, value: '5' });
    assert.deepEqual(filter('fields.user:Alice'), { kind: 'equals', field: { kind: 'fields', name: 'user' }, value: 'alice' });
    assert.deepEqual(filter('fields.rule.id:abc'), { kind: 'equals', field: { kind: 'fields', name: 'rule.id' }, value: 'abc' });
  });

  it('message: takes words, phrases and prefixes like bare text', () => {
    assert.deepEqual(filter('message:Disk'), word('disk'));
    assert.deepEqual(filter('message:"disk full"'), phrase('disk full'));
    assert.deepEqual(filter('message:*'), { kind: 'exists', field: MSG });
  });

  it('prefix, wildcard and exists on keyword fields', () => {
    assert.deepEqual(filter('host:Web-*'), { kind: 'prefix', field: b('host'), value: 'web-' });
    assert.deepEqual(filter('host:*'), { kind: 'exists', field: b('host') });
    assert.deepEqual(filter('fields.user:*'), { kind: 'exists', field: { kind: 'fields', name: 'user' } });
    const q = parseQuery('host:*-01');
    assert.deepEqual(q.filter, { kind: 'wildcard', field: b('host'), pattern: '*-01' });
    assert.equal(q.scans, true);
    assert.deepEqual(filter('host:a\\*b*'), { kind: 'prefix', field: b('host'), value: 'a*b' });
    assert.deepEqual(filter('host:a\\*b?'), { kind: 'wildcard', field: b('host'), pattern: 'a\\*b?' });
  });

  it('severity and facility names become codes', () => {
    assert.deepEqual(filter('severity:warning'), { kind: 'equals', field: b('severity'), value: 4 });
    assert.deepEqual(filter('severity:WARN'), { kind: 'equals', field: b('severity'), value: 4 });
    assert.deepEqual(filter('severity:error'), { kind: 'equals', field: b('severity'), value: 3 });
    assert.deepEqual(filter('severity:err'), { kind: 'equals', field: b('severity'), value: 3 });
    assert.deepEqual(filter('severity:crit'), { kind: 'equals', field: b('severity'), value: 2 });
    assert.deepEqual(filter('severity:panic'), { kind: 'equals', field: b('severity'), value: 0 });
    assert.deepEqual(filter('severity:7'), { kind: 'equals', field: b('severity'), value: 7 });
    assert.deepEqual(filter('level:debug'), { kind: 'equals', field: b('severity'), value: 7 });
    assert.deepEqual(filter('facility:kern'), { kind: 'equals', field: b('facility'), value: 0 });
    assert.deepEqual(filter('facility:local7'), { kind: 'equals', field: b('facility'), value: 23 });
    assert.deepEqual(filter('facility:authpriv'), { kind: 'equals', field: b('facility'), value: 10 });
    assert.deepEqual(filter('severity:*'), { kind: 'exists', field: b('severity') });
  });

  it('comparisons', () => {
    assert.deepEqual(filter('severity:<=warning'), { kind: 'compare', field: b('severity'), op: '<=', value: 4 });
    assert.deepEqual(filter('facility:>=local0'), { kind: 'compare', field: b('facility'), op: '>=', value: 16 });
    assert.deepEqual(filter('fields.bytes:>500'), { kind: 'compare', field: { kind: 'fields', name: 'bytes' }, op: '>', value: 500 });
    assert.deepEqual(filter('fields.t:<-1.5'), { kind: 'compare', field: { kind: 'fields', name: 't' }, op: '<', value: -1.5 });
    assert.deepEqual(filter('host:>M'), { kind: 'compare', field: b('host'), op: '>', value: 'm' });
    assert.deepEqual(filter('fields.v:<"10"'), { kind: 'compare', field: { kind: 'fields', name: 'v' }, op: '<', value: '10' });
  });

  it('ranges, inclusive, names or numbers, with open ends', () => {
    assert.deepEqual(filter('severity:[err TO warning]'), { kind: 'range', field: b('severity'), low: 3, high: 4 });
    assert.deepEqual(filter('facility:[local0 TO local7]'), { kind: 'range', field: b('facility'), low: 16, high: 23 });
    assert.deepEqual(filter('fields.bytes:[100 TO 200]'), { kind: 'range', field: { kind: 'fields', name: 'bytes' }, low: 100, high: 200 });
    assert.deepEqual(filter('host:[a TO m]'), { kind: 'range', field: b('host'), low: 'a', high: 'm' });
    assert.deepEqual(filter('fields.bytes:[100 TO *]'), { kind: 'compare', field: { kind: 'fields', name: 'bytes' }, op: '>=', value: 100 });
    assert.deepEqual(filter('fields.bytes:[* TO 5]'), { kind: 'compare', field: { kind: 'fields', name: 'bytes' }, op: '<=', value: 5 });
    assert.deepEqual(filter('fields.n:[5 TO 5]'), { kind: 'range', field: { kind: 'fields', name: 'n' }, low: 5, high: 5 });
    assert.deepEqual(filter('fields.n:["a b" to "c d"]'), { kind: 'range', field: { kind: 'fields', name: 'n' }, low: 'a b', high: 'c d' });
  });

  it('regular expressions scan; flags kept; \\/ is a slash', () => {
    const q = parseQuery('/err(or)?\\/x/i host:/^web-\\d+$/');
    assert.equal(q.scans, true);
    assert.deepEqual(q.filter, {
      kind: 'and', nodes: [
        { kind: 'regex', field: MSG, pattern: 'err(or)?/x', flags: 'i' },
        { kind: 'regex', field: b('host'), pattern: '^web-\\d+$', flags: '' },
      ],
    });
    assert.equal(parseQuery('disk').scans, false);
    assert.equal(parseQuery('NOT /x/').scans, true);
  });
});

describe('pipes', () => {
  it('stats count() by fields, as written', () => {
    assert.deepEqual(parseQuery('error | stats count() by (host, fields.user)').pipes, [
      { kind: 'stats', by: [b('host'), { kind: 'fields', name: 'user' }] },
    ]);
    assert.deepEqual(parseQuery('| stats count() by host').pipes, [{ kind: 'stats', by: [b('host')] }]);
    assert.deepEqual(parseQuery('| stats count()').pipes, [{ kind: 'stats', by: [] }]);
    assert.deepEqual(parseQuery('| STATS count() BY (sd.origin.ip)').pipes, [{ kind: 'stats', by: [{ kind: 'sd', id: 'origin', param: 'ip' }] }]);
  });

  it('top N field and limit N', () => {
    const q = parseQuery('severity:<=err | top 5 host | limit 3');
    assert.deepEqual(q.pipes, [{ kind: 'top', n: 5, field: b('host') }, { kind: 'limit', n: 3 }]);
    assert.deepEqual(parseQuery('| top app').pipes, [{ kind: 'top', n: 10, field: b('app') }]);
    assert.deepEqual(parseQuery('x | limit 100000').pipes, [{ kind: 'limit', n: 100000 }]);
    assert.deepEqual(parseQuery('| limit 1').filter, { kind: 'all' });
  });

  it('a | inside quotes or a regex is not a pipe', () => {
    assert.deepEqual(parseQuery('"a | b"').pipes, []);
    assert.deepEqual(parseQuery('/a|b/').filter, { kind: 'regex', field: MSG, pattern: 'a|b', flags: '' });
  });
});

describe('errors name their column', () => {
  it('unbalanced quotes', () => {
    fails('"abc', 1, /unbalanced quote/);
    fails('error host:"web 01', 12, /unbalanced quote/);
  });

  it('unbalanced parentheses', () => {
    fails('(a OR b', 1, /unbalanced parenthesis: this \( is never closed/);
    fails('a (b (c)', 3, /never closed/);
    fails('a OR b)', 7, /unbalanced parenthesis: this \) closes nothing/);
    fails(')', 1, /closes nothing/);
    fails('a () b', 3, /empty parentheses/);
  });

  it('unknown fields, with a suggestion', () => {
    fails('hots:web', 1, /unknown field "hots"; did you mean "host"\?/);
    fails('a severty:err', 3, /did you mean "severity"/);
    fails('fields:x', 1, /did you mean "fields.NAME"/);
    fails('field.user:x', 1, /did you mean "fields.user"/);
    fails('sd.x:1', 1, /write sd.ID.PARAM/);
    fails('fields.:1', 1, /write fields.NAME/);
    fails('| stats count() by (hots)', 21, /unknown field "hots"; did you mean "host"/);
    fails('| top 3 sevrity', 9, /did you mean "severity"/);
  });

  it('unknown severity and facility names', () => {
    fails('severity:warnin', 10, /unknown severity "warnin"; did you mean "warning"\?/);
    fails('facility:locl0', 10, /unknown facility "locl0"; did you mean "local0"\?/);
    fails('severity:8', 10, /unknown severity "8"/);
    fails('facility:[kern TO bogus]', 19, /unknown facility "bogus"/);
    fails('severity:<=lots', 12, /unknown severity/);
    fails('severity:warn*', 14, /not a wildcard/);
    fails('severity:/x/', 10, /not a regular expression/);
  });

  it('bad ranges', () => {
    fails('severity:[debug TO err]', 11, /bad range: the low end 7 is above the high end 3/);
    fails('fields.n:[10 TO 2]', 11, /bad range/);
    fails('fields.n:[1 TO b]', 10, /two numbers or two names/);
    fails('fields.n:[1 2]', 13, /expected TO/);
    fails('fields.n:[1 TO]', 10, /\[low TO high\]/);
    fails('fields.n:[1 TO 2', 10, /unbalanced range/);
    fails('fields.n:[1 TO 2 TO 3]', 18, /\[low TO high\]/);
    fails('message:[a TO b]', 9, /message takes no ranges/);
    fails('message:>5', 1, /no comparisons/);
    fails('fields.n:>[1 TO 2]', 11, /takes one value/);
  });

  it('empty, unknown and malformed pipes', () => {
    fails('error |', 7, /empty pipe/);
    fails('error | | limit 5', 7, /empty pipe/);
    fails('error | sort host', 9, /unknown pipe "sort"/);
    fails('error | limt 5', 9, /unknown pipe "limt"; did you mean "limit"\?/);
    fails('| stats', 8, /count\(\)/);
    fails('| stats count( by host', 16, /"\)"/);
    fails('| stats count() by (host', 20, /never closed/);
    fails('| stats count() by (host, app, procid, msgid, source)', 17, /at most 4/);
    fails('| top 5 host | top 3 app', 16, /only one stats or top/);
    fails('| limit 5 | top 3 app', 13, /before limit/);
    fails('| limit 5 | limit 6', 13, /limit given twice/);
    fails('| limit 5 6', 11, /unexpected "6"/);
    fails('| top', 6, /top N field/);
    fails('| top 5', 8, /the field after "top N"/);
  });

  it('limits out of bounds', () => {
    fails('| limit 0', 9, /limit 0 is out of bounds: 1 to 100000/);
    fails('| limit 100001', 9, /out of bounds/);
    fails('| limit -1', 9, /whole number/);
    fails('| limit 2.5', 9, /whole number/);
    fails('| limit lots', 9, /whole number/);
    fails('| limit', 3, /expected a number after limit/);
    fails('| top 0 host', 7, /top 0 is out of bounds/);
    fails('| top 10001 host', 7, /out of bounds: 1 to 10000/);
  });

  it('operators without operands', () => {
    fails('OR a', 1, /OR needs a term on each side/);
    fails('a OR', 5, /expected a term after OR/);
    fails('a AND', 6, /expected a term after AND/);
    fails('AND a', 1, /AND needs a term/);
    fails('a NOT', 3, /expected a term after NOT/);
    fails('host:', 6, /expected a value after "host:"/);
    fails('host: web', 6, /expected a value/);
    fails('host:(a OR b)', 6, /takes one value/);
    fails('--', 1, /no letters or digits/);
    fails('"..."', 1, /no letters or digits/);
    fails('a\\', 2, /backslash at the end/);
    fails('f-*o', 2, /within one word/);
  });

  it('a query above the maximum length is refused before it is read', () => {
    const q = 'a '.repeat(512 * 1024);
    const err = fails(q, MAX_QUERY_LENGTH + 1, /the query is 1048576 characters long; the most is 16384/);
    assert.ok(err.render().length < 300, 'render shows a window, not the megabyte');
  });

  it('a megabyte of parentheses or NOTs is refused, never a stack overflow', () => {
    fails('('.repeat(1024 * 1024), MAX_QUERY_LENGTH + 1, /the most is/);
    fails('('.repeat(MAX_DEPTH + 1) + 'a' + ')'.repeat(MAX_DEPTH + 1), MAX_DEPTH + 1, /nests deeper than 32/);
    fails('NOT '.repeat(4000) + 'a', 4 * MAX_DEPTH + 1, /nests deeper/);
    fails('-(' .repeat(2000) + 'a', MAX_DEPTH + 1, /nests deeper/);
    // Just inside the bound parses.
    assert.deepEqual(filter('('.repeat(MAX_DEPTH) + 'a' + ')'.repeat(MAX_DEPTH)), word('a'));
  });

  it('long flat queries parse without deep recursion', () => {
    const q = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' OR ');
    const f = filter(q.slice(0, MAX_QUERY_LENGTH - 10).replace(/ OR \w*$/, ''));
    assert.equal(f.kind, 'or');
  });

  it('catastrophic and invalid regular expressions', () => {
    fails('/(a+)+/', 2, /nested repetition: this group repeats "a\+"/);
    fails('/(a|a)*/', 2, /alternatives can start alike/);
    fails('/(.*)*/', 2, /nested repetition/);
    fails('host:/x(\\d+)*y/', 8, /nested repetition: this group repeats "\\d\+"/);
    fails('/((ab)*c)+/', 2, /nested repetition/);
    fails('/(a|ab)+/', 2, /start alike/);
    fails('/(A|a)+/i', 2, /start alike/);
    fails('/(a{1,3})+/', 2, /nested repetition/);
    fails('/(a+){2}/', 2, /nested repetition/);
    fails('/(x)\\1/', 5, /backreferences/);
    fails('/a{1,1000}/', 2, /cannot run in bounded time/);
    fails('/x{1000}{1000}/', 2, /invalid regular expression/);
    fails('/a(?=b)/', 3, /lookahead/);
    fails('/(?<!a)b/', 2, /lookahead and lookbehind/);
    fails('/(a/', 2, /invalid regular expression/);
    fails('/a', 1, /never closed/);
    fails('//', 1, /empty regular expression/);
    fails('/a/g', 4, /unknown regular expression flag "g"/);
    fails('/a/ii', 5, /given twice/);
    fails(`/${'a'.repeat(513)}/`, 1, /regular expression of 513 characters; the most is 512/);
    // Safe ones pass.
    for (const ok of ['/(foo|bar)+/', '/(ab)+c/', '/a+b*c?/', '/(a|b)?x+/', '/\\d{1,3}(\\.\\d{1,3}){3}/']) {
      assert.doesNotThrow(() => parseQuery(ok), ok);
    }
  });

  it('columns count characters, not UTF-16 units', () => {
    fails('😀 hots:x', 3, /unknown field/);
  });

  it('render() prints the query with a caret under the column', () => {
    let err: QueryError | undefined;
    try { parseQuery('disk hots:web'); } catch (e) { err = e as QueryError; }
    assert.ok(err);
    const [line, caret] = err.render().split('\n');
    assert.equal(line, 'disk hots:web');
    assert.equal(caret!.indexOf('^'), 5);
    assert.match(caret!, /\^ column 6: unknown field "hots"/);
    assert.deepEqual(err.toJSON(), { code: 'SLUICE_ERR_QUERY', column: 6, message: err.message });
  });
});
