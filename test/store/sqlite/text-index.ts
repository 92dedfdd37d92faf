// Reads a day's text index file directly, as queries do (createTermView), for tests that check
// what the text writer stored.

import Database from 'better-sqlite3';
import { createTermView, textWidth } from '../../../src/store/sqlite/schema.js';

/** The seq of every occurrence of `term` in the text file, ascending (an event indexed twice shows twice). */
export function termSeqs(textDb: string, term: string): number[] {
  const db = new Database(textDb, { readonly: true, fileMustExist: true });
  try {
    createTermView(db, 'main');
    return (db.prepare('SELECT seq FROM events_terms WHERE term = ? ORDER BY seq').all(term) as { seq: number }[]).map((r) => r.seq);
  } finally {
    db.close();
  }
}

/** The documents of the text file: rowid and, per column, whether it holds text (1 or 64 columns). */
export function documents(textDb: string): { rowid: number; filled: number[] }[] {
  const db = new Database(textDb, { readonly: true, fileMustExist: true });
  try {
    const width = textWidth(db);
    createTermView(db, 'main');
    const rows = db.prepare('SELECT DISTINCT doc, col FROM temp.events_vocab ORDER BY doc').all() as { doc: number; col: string }[];
    const docs = new Map<number, Set<number>>();
    for (const r of rows) {
      const k = width === 1 ? 0 : Number(r.col.slice(1));
      if (!docs.has(r.doc)) docs.set(r.doc, new Set());
      docs.get(r.doc)!.add(k);
    }
    return [...docs].map(([rowid, cols]) => ({ rowid, filled: [...cols].sort((a, b) => a - b) }));
  } finally {
    db.close();
  }
}
