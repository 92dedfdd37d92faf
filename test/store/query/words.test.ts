// The contract between words() and SQLite FTS5's tokenize='unicode61 remove_diacritics 0': the
// in-memory evaluator and the embedded store's full-text index must agree on every word.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { foldCodePoint, isWordCodePoint, words } from '../../../src/store/query/words.js';
import { FTS_TOKENIZE, ftsCodePoints } from './fts-oracle.js';

const TEXTS = [
  'Failed password for root from 10.0.0.1 port 22 ssh2',
  'host web-01: disk /var/log is 95% FULL!!!',
  "user='; DROP TABLE x; --' said \"hi\"",
  'École ÉCOLE école naïve NAÏVE café',
  'ΣΊΣΥΦΟΣ σίσυφος ΟΔΥΣΣΕΎΣ',
  'İstanbul ISTANBUL ıi ß STRASSE ǅ ǆ',
  '日本語のテキスト 東京 中文字符',
  'emoji 😀 between 🚀words🚀 and ZWJ 👩‍💻',
  'tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em',
  'numbers ١٢٣ ४२ ½ ² 3.14 1e10 0x1F',
  'combining e\u0301 vs é, a\u0300b, x\u20d7y',
  'private \ue000use\uf8ff and lone \ud800 surrogate',
  'under_score dash-ed dot.ted slash/ed colon:ed at@ed',
  'Kelvin \u212a sign, Angstrom \u212b, micro \u00b5',
  'Cherokee ᏣᎳᎩ ꮳꮃꭹ Georgian ႠႡ ⴀⴁ Deseret 𐐀𐐨',
  '',
  '   ...   ',
];

describe('words()', () => {
  it('splits on everything but letters and digits, lower-cased', () => {
    assert.deepEqual(words('Failed password for ROOT from 10.0.0.1'), ['failed', 'password', 'for', 'root', 'from', '10', '0', '0', '1']);
    assert.deepEqual(words('web-01_x'), ['web', '01', 'x']);
    assert.deepEqual(words(''), []);
    assert.deepEqual(words('!!!'), []);
    assert.deepEqual(words('École'), ['école']);
  });

  it('agrees with FTS5 on every code point: which are word characters and how each folds', () => {
    const fts = ftsCodePoints();
    let r = 0;
    const folds = new Map(fts.folds);
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) {
        assert.equal(isWordCodePoint(cp), false);
        continue;
      }
      while (r < fts.ranges.length && fts.ranges[r]![1] < cp) r++;
      const inFts = r < fts.ranges.length && fts.ranges[r]![0] <= cp;
      if (isWordCodePoint(cp) !== inFts) assert.fail(`U+${cp.toString(16)}: words() says ${!inFts}, FTS5 says ${inFts}`);
      if (inFts) {
        const want = folds.has(cp) ? String.fromCodePoint(folds.get(cp)!) : String.fromCodePoint(cp).toLowerCase();
        if (foldCodePoint(cp) !== want) assert.fail(`U+${cp.toString(16)} folds to ${foldCodePoint(cp)}, FTS5 to ${want}`);
      }
    }
  });

  it('gives the words FTS5 indexes, text by text', () => {
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='${FTS_TOKENIZE}');
               CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');`);
      const ins = db.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
      TEXTS.forEach((text, i) => ins.run(i + 1, text));
      const terms = db.prepare('SELECT term FROM v WHERE doc = ? ORDER BY offset');
      TEXTS.forEach((text, i) => {
        const fts = (terms.all(i + 1) as { term: string }[]).map((r) => r.term);
        assert.deepEqual(words(text), fts, `text ${JSON.stringify(text)}`);
      });
    } finally {
      db.close();
    }
  });

  it('a word matches in FTS5 exactly where words() finds it', () => {
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='${FTS_TOKENIZE}')`);
      const ins = db.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
      TEXTS.forEach((text, i) => ins.run(i + 1, text));
      const match = db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid');
      const queries = ['failed', 'FAILED', '10', 'web', '01', 'full', 'drop', 'table', 'école', 'ecole', 'naïve', 'σίσυφοσ',
        'σίσυφος', 'istanbul', 'i̇stanbul', 'ß', 'strasse', '東京', '日本語のテキスト', 'words', 'nbsp', 'em', '١٢٣', '½', '²',
        'e\u0301', 'é', 'use', '\ue000use\uf8ff', 'surrogate', 'under', 'score', 'k', '\u212a', 'µ', 'μ', 'ᏣᎳᎩ', 'ꮳꮃꭹ', '𐐨', 'x'];
      for (const q of queries) {
        const w = words(q);
        assert.equal(w.length, 1, `query ${q} is one word`);
        // FTS5 string syntax: the word in double quotes is matched as one token.
        const fts = (match.all(`"${w[0]!.replace(/"/g, '""')}"`) as { rowid: number }[]).map((r) => r.rowid);
        const ours = TEXTS.flatMap((text, i) => (words(text).includes(w[0]!) ? [i + 1] : []));
        assert.deepEqual(ours, fts, `word ${JSON.stringify(q)}`);
        // And the raw query word, folded by FTS5 itself.
        const raw = (match.all(`"${q.replace(/"/g, '""')}"`) as { rowid: number }[]).map((r) => r.rowid);
        assert.deepEqual(ours, raw, `raw ${JSON.stringify(q)}`);
      }
    } finally {
      db.close();
    }
  });
});
