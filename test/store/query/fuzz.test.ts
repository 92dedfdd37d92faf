// Random queries built from the language's pieces and metacharacters: the parser answers each
// with a Query or a QueryError (never another exception, a hang or a stack overflow), and
// every Query it returns compiles and runs on real events.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogEvent, type EventSource } from '../../../src/event/log-event.js';
import { QueryError } from '../../../src/store/query/error.js';
import { compileMatcher } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { runQuery } from '../../../src/store/query/pipes.js';
import { prng } from '../../helpers/prng.js';

const SRC: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 514, tlsPeer: null };
const EVENTS = [
  LogEvent.fromValues(SRC, 0, { hostname: 'web-01', appname: 'sshd', message: 'Failed password for root from 10.0.0.1', severity: 4, facility: 4, fields: { bytes: 10, user: 'a' } }).toJSON(),
  LogEvent.fromValues(SRC, 0, { hostname: null, appname: null, message: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', severity: 7, facility: 1, fields: {} }).toJSON(),
];

const PIECES = [
  'a', 'B', 'é', '10.0.0.1', 'web-01', '"', '"x y"', '(', ')', ' ', ' ', ' ', 'OR', ' OR ', 'AND', ' AND ', 'NOT ', '-', '*', '?',
  ':', 'host:', 'severity:', 'facility:', 'fields.bytes:', 'sd.a.b:', 'message:', 'hots:', '<', '<=', '>', '>=', '[', ']', ' TO ',
  'err', 'warning', 'local0', '5', '-3', '/', '/a+/', '/(a+)+/', '/(a|a)*/', '\\', "'", ';', '--', '|', '| stats count() by (host)',
  '| top 3 host', '| limit 2', '| limit 0', 'stats', 'count()', 'by', ',', '{', '}', '😀', '\u0000', '\n',
];

describe('random queries', () => {
  it('parse to a Query or a QueryError, and every Query runs', () => {
    const rnd = prng(0x5eed);
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const n = 1 + Math.floor(rnd() * 12);
      let q = '';
      for (let k = 0; k < n; k++) q += PIECES[Math.floor(rnd() * PIECES.length)]!;
      let query;
      try {
        query = parseQuery(q);
      } catch (e) {
        if (!(e instanceof QueryError)) assert.fail(`query ${JSON.stringify(q)} threw ${String(e)}`);
        assert.ok(e.column >= 1 && e.column <= [...q].length + 1, `column ${e.column} inside ${JSON.stringify(q)}`);
        assert.equal(e.render().split('\n').length, 2);
        refused++;
        continue;
      }
      parsed++;
      const m = compileMatcher(query);
      for (const ev of EVENTS) m(ev);
      runQuery(query, EVENTS);
    }
    // Both outcomes are exercised.
    assert.ok(parsed > 500 && refused > 500, `parsed ${parsed}, refused ${refused}`);
  });

  it('deep and long inputs at the limits are refused or parsed, never overflow', () => {
    for (const unit of ['(', 'NOT ', '-', '-(', '((a OR ', '"', '/', '[', 'a ', 'a OR ', '\\', '|']) {
      const q = unit.repeat(Math.ceil(16 * 1024 / unit.length)).slice(0, 16 * 1024);
      try {
        parseQuery(q);
      } catch (e) {
        assert.ok(e instanceof QueryError, `${JSON.stringify(unit)}… threw ${String(e)}`);
      }
    }
  });
});
