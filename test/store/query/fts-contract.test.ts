// The evaluator against the real SQLite text index: the same queries' words, phrases and
// prefixes, compiled to SQL (compileFilter) and run over events_fts in both layouts the store
// has (64 messages a document, and the older one per event) through the term view queries
// use, find the same events as compileMatcher finds in memory (candidates checked by it, as the
// reader does). This is what lets the embedded store answer text terms from its index and
// archives/live tail answer them by evaluation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LogEvent, type EventSource } from '../../../src/event/log-event.js';
import type { EventJson } from '../../../src/event/log-event.js';
import { compileMatcher } from '../../../src/store/query/match.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { compileFilter, prefixEnd } from '../../../src/store/sqlite/compile.js';
import { createTermView, FTS_DDL } from '../../../src/store/sqlite/schema.js';
import { messageIndexer } from '../../../src/store/sqlite/text-writer.js';
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
  // Prefix bounds: terms just below and above a prefix's end in UTF-8 order.
  'éa êb ef e',
  '\u{d7ff}x \u{10ffff}',
  '\u{e000}y',
  'z\u{10ffff}\u{10ffff}q zz',
  'z\u{10ffff}',
];

/**
 * The messages' seqs: runs cut by gaps (4 has no message, 7 an empty one), by the 64th
 * column (1 + 63 = 64, then 65 starts a new document) and far apart.
 */
const SEQS = [1, 2, 3, 5, 6, 63, 64, 65, 66, 130, 131, 500, 501, 502, 503, 504, 600, 601, 665];
const NO_TEXT = new Map<number, string | null>([[4, null], [7, '']]);

const QUERIES = [
  'failed', 'FAILED', 'root', 'password root', 'failed OR accepted', '10.0.0.1', '10.0.0.12', '10.0.0.*', '"from 10"',
  'port', 'ssh*', 'ssh', 'web-01', 'web01', '"web 01"', 'web-0*', 'disk full', '"disk full"', 'full', 'drop table',
  "'; DROP", 'école', 'ÉCOLE', 'ecole', 'naïve', 'naive', 'fermé*', 'σίσυφος', 'ΣΊΣΥΦΟΣ', 'οδυσσευσ', 'ΟΔΥΣΣΕΥΣ',
  'istanbul', 'İstanbul', '東京', 'タワー', '日本語のテキスト', '日本*', 'words', 'between words', 'nbsp', 'em', 'dash',
  'e\u0301', 'é', 'camelcaseword', 'snake_case_word', '"snake case"', 'kebab-case', 'kebab*', '١٢٣', '½', '3.14', '1e10',
  'x', 'said hi', '"said hi"', 'said OR x', '(failed OR accepted) 22', 'from 10* port',
  'é*', 'e*', 'ê*', '\u{d7ff}*', '\u{e000}*', 'z\u{10ffff}*', 'z*', '\u{10ffff}*', '"combining e"', '"for root"*',
  'port -failed', 'web* NOT disk', 'from NOT 10.0.0.12', '(said OR port) -root -deploy', '(failed OR accepted) -deploy',
  '-port', 'NOT "disk full"', 'web OR host:x',
];

const OLD_DDL = `CREATE VIRTUAL TABLE events_fts USING fts5(message, content='', columnsize=0, tokenize='${FTS_TOKENIZE}')`;

/** A partition's events table and text index in one in-memory database, read as queries read it. */
function partition(ddl: string): { db: Database.Database; events: Map<number, EventJson> } {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE events (seq INTEGER PRIMARY KEY, host TEXT COLLATE NOCASE)');
  db.exec(ddl);
  const events = new Map<number, EventJson>();
  const add = db.prepare('INSERT INTO events (seq) VALUES (?)');
  const all = [...SEQS.map((s, i) => [s, MESSAGES[i]!] as const), ...NO_TEXT].sort((a, b) => a[0] - b[0]);
  for (const [seq, message] of all) {
    add.run(seq);
    events.set(seq, LogEvent.fromValues(SRC, 0, { message }).toJSON());
  }
  db.transaction(() => messageIndexer(db)(all.map((e) => e[0]), all.map((e) => e[1] || null), all.length))();
  createTermView(db, 'main');
  return { db, events };
}

for (const [layout, ddl] of [['64 columns', FTS_DDL], ['one column (older text files)', OLD_DDL]] as const) {
  describe(`compileFilter over the text index = the evaluator (${layout})`, () => {
    it('finds the same events for words, phrases, prefixes, AND, OR and NOT', () => {
      const { db, events } = partition(ddl);
      try {
        assert.equal(MESSAGES.length, SEQS.length);
        let nonEmpty = 0;
        for (const text of QUERIES) {
          const q = parseQuery(text);
          const c = compileFilter(q.filter);
          const m = compileMatcher(q);
          const selected = (db.prepare(`SELECT seq FROM events WHERE ${c.sql} ORDER BY seq`).all(...c.params) as { seq: number }[]).map((r) => r.seq);
          const want = [...events].flatMap(([seq, ev]) => (m(ev) ? [seq] : []));
          const got = c.exact ? selected : selected.filter((s) => m(events.get(s)!));
          assert.deepEqual(got, want, `query ${JSON.stringify(text)} (${c.exact ? 'exact' : 'candidate'}: ${c.sql} ${JSON.stringify(c.params)})`);
          if (want.length > 0) nonEmpty++;
        }
        // The list is not vacuous: most queries find something.
        assert.ok(nonEmpty >= QUERIES.length - 8, `${nonEmpty} of ${QUERIES.length} queries found events`);
      } finally {
        db.close();
      }
    });
  });
}

describe('the text terms compileFilter makes', () => {
  it('words, prefixes and phrases are exact, and values only ever parameters', () => {
    for (const q of ['failed', 'web-01*', 'a -b', 'a OR b*', "'; DROP", 'é*', '"disk full"', '"root fr"*', 'x "a b"', '-"a b"']) {
      assert.equal(compileFilter(parseQuery(q).filter).exact, true, q);
    }
    for (const q of ['f?iled', 'host:"Ünï"', '"a b" OR /x/']) assert.equal(compileFilter(parseQuery(q).filter).exact, false, q);
    const c = compileFilter(parseQuery('"x\'; DROP TABLE events; --" y*').filter);
    assert.doesNotMatch(c.sql, /DROP|x'|;/i);
    assert.deepEqual(c.params, ['events', 'table', 'drop', 'x', 'y', 'z']);
  });

  it('a prefix ends at the next code point after its last (past surrogates and U+10FFFF)', () => {
    assert.equal(prefixEnd('ab'), 'ac');
    assert.equal(prefixEnd('é'), 'ê');
    assert.equal(prefixEnd('e\u{bf}'), 'e\u{c0}', 'UTF-8 C2 BF becomes C3 80, not C2 C0');
    assert.equal(prefixEnd('\u{d7ff}'), '\u{e000}');
    assert.equal(prefixEnd('日本'), '日札');
    assert.equal(prefixEnd('😀'), '😁');
    assert.equal(prefixEnd('z\u{10ffff}\u{10ffff}'), '{');
    assert.equal(prefixEnd('\u{10ffff}'), null);
  });
});
