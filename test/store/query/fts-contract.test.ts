// The evaluator against real SQLite FTS5: the same queries' words, phrases and prefixes,
// asked as FTS5 MATCH expressions over an in-memory table with the store's tokenizer, find the
// same rows as compileMatcher finds in memory. This is what lets the embedded store answer
// text terms from its index and archives/live tail answer them by evaluation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LogEvent, type EventSource } from '../../../src/event/log-event.js';
import type { Node } from '../../../src/store/query/ast.js';
import { ftsMatch } from '../../../src/store/query/fts.js';
import { compileMatcher } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { FTS_TOKENIZE } from './fts-oracle.js';

const SRC: EventSource = { name: 'net', transport: 'tcp', address: '127.0.0.1', port: 514, tlsPeer: null };

const MESSAGES = [
  'Failed password for root from 10.0.0.1 port 22 ssh2',
  'Accepted publickey for deploy from 10.0.0.12 port 50022',
  'host web-01: disk /var/log is 95% FULL!!!',
  "user='; DROP TABLE x; --' said \"hi\"",
  'École fermée; ÉCOLE ouverte; naïve',
  'ΟΔΥΣΣΕΥΣ και σίσυφος',
  'İstanbul ISTANBUL istanbul',
  '東京 タワー 日本語のテキスト',
  'emoji 😀 between 🚀words🚀',
  'tab\tseparated\u00a0nbsp\u2003em dash—here',
  'combining e\u0301 precomposed é',
  'CamelCaseWord snake_case_word kebab-case-word',
  'web-010 web-01 web01 web 01',
  'numbers ١٢٣ ½ 3.14 1e10',
];

const QUERIES = [
  'failed', 'FAILED', 'root', 'password root', 'failed OR accepted', '10.0.0.1', '10.0.0.12', '10.0.0.*', '"from 10"',
  'port', 'ssh*', 'ssh', 'web-01', 'web01', '"web 01"', 'web-0*', 'disk full', '"disk full"', 'full', 'drop table',
  "'; DROP", 'école', 'ÉCOLE', 'ecole', 'naïve', 'naive', 'fermé*', 'σίσυφος', 'ΣΊΣΥΦΟΣ', 'οδυσσευσ', 'ΟΔΥΣΣΕΥΣ',
  'istanbul', 'İstanbul', '東京', 'タワー', '日本語のテキスト', '日本*', 'words', 'between words', 'nbsp', 'em', 'dash',
  'e\u0301', 'é', 'camelcaseword', 'snake_case_word', '"snake case"', 'kebab-case', 'kebab*', '١٢٣', '½', '3.14', '1e10',
  'x', 'said hi', '"said hi"', 'said OR x', '(failed OR accepted) 22', 'from 10* port',
];

function toFts(n: Node): string {
  const m = ftsMatch(n);
  assert.ok(m !== null, `FTS5 can answer ${JSON.stringify(n)}`);
  return m;
}

describe('evaluator = FTS5 MATCH', () => {
  it('finds the same messages for words, phrases, prefixes, AND and OR', () => {
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE VIRTUAL TABLE t USING fts5(message, tokenize='${FTS_TOKENIZE}')`);
      const ins = db.prepare('INSERT INTO t(rowid, message) VALUES (?, ?)');
      MESSAGES.forEach((m, i) => ins.run(i + 1, m));
      const match = db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid');
      const events = MESSAGES.map((message) => LogEvent.fromValues(SRC, 0, { message }).toJSON());
      let nonEmpty = 0;
      for (const text of QUERIES) {
        const q = parseQuery(text);
        const fts = (match.all(toFts(q.filter)) as { rowid: number }[]).map((r) => r.rowid);
        const m = compileMatcher(q);
        const ours = events.flatMap((ev, i) => (m(ev) ? [i + 1] : []));
        assert.deepEqual(ours, fts, `query ${JSON.stringify(text)} (FTS5: ${toFts(q.filter)})`);
        if (fts.length > 0) nonEmpty++;
      }
      // The list is not vacuous: most queries find something.
      assert.ok(nonEmpty >= QUERIES.length - 8, `${nonEmpty} of ${QUERIES.length} queries found rows`);
    } finally {
      db.close();
    }
  });

  it('ftsMatch leaves what the index cannot answer to the caller', () => {
    for (const q of ['host:web-01', '*ail', '/x/', '-failed', 'failed OR host:x', 'message:*']) {
      assert.equal(ftsMatch(parseQuery(q).filter), null, q);
    }
    assert.equal(ftsMatch(parseQuery('a "b c" d* -e').filter), '("a" AND "b c" AND "d"* NOT "e")');
    assert.equal(ftsMatch(parseQuery('a\\"b').filter), '"a b"');
  });

  it('NOT agrees too (FTS5 writes it as a binary operator)', () => {
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE VIRTUAL TABLE t USING fts5(message, tokenize='${FTS_TOKENIZE}')`);
      const ins = db.prepare('INSERT INTO t(rowid, message) VALUES (?, ?)');
      MESSAGES.forEach((m, i) => ins.run(i + 1, m));
      const events = MESSAGES.map((message) => LogEvent.fromValues(SRC, 0, { message }).toJSON());
      const match = db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid');
      for (const query of ['port -failed', 'web* NOT disk', 'from NOT 10.0.0.12', '(said OR port) -root -deploy', '(failed OR accepted) -deploy']) {
        const q = parseQuery(query);
        const rows = (match.all(toFts(q.filter)) as { rowid: number }[]).map((r) => r.rowid);
        const m = compileMatcher(q);
        assert.deepEqual(events.flatMap((ev, i) => (m(ev) ? [i + 1] : [])), rows, query);
        assert.ok(rows.length > 0, `${query} finds something`);
      }
    } finally {
      db.close();
    }
  });
});
