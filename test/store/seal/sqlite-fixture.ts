// A small real SQLite store for the seal's tests: rows with a seq, a time, text and the leaf
// hash the sealer returned, sealed the way the embedded store seals (append before commit,
// checkpoint after it), and a SealSource over its rows in physical (rowid) order.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { writeArchive, writeDropManifest, type Manifest } from '../../../src/store/archive/archive.js';
import { loadSigningKey } from '../../../src/store/seal/keys.js';
import { openSealer, type FileSealer } from '../../../src/store/seal/sealer.js';
import type { Checkpoint, SealSource } from '../../../src/store/seal/types.js';

export const rowBytes = (time: number, text: string) => Buffer.from(`${time}\t${text}`);

export class TestStore {
  readonly storeDir: string;
  readonly db: Database.Database;
  sealer: FileSealer | null = null;
  now: number;
  readonly checkpoints: Checkpoint[] = [];

  constructor(readonly dataDir: string, start = Date.UTC(2026, 11, 1, 12)) {
    this.storeDir = path.join(dataDir, 'store');
    fs.mkdirSync(this.storeDir, { recursive: true });
    this.db = new Database(path.join(this.storeDir, 'events.db'));
    this.db.exec('CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, time INTEGER NOT NULL, text TEXT NOT NULL, hash BLOB); CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER)');
    this.now = start;
  }

  get lastSeq(): number {
    const r = this.db.prepare("SELECT v FROM meta WHERE k = 'last_seq'").get() as { v: number } | undefined;
    return r?.v ?? 0;
  }

  async open(everyEvents = 20): Promise<FileSealer> {
    this.sealer = await openSealer({
      dir: path.join(this.storeDir, 'seal'), keyDir: this.dataDir,
      everyEvents, everyMs: 10_000, heartbeatMs: 60_000, now: () => this.now,
      lastSeq: this.lastSeq,
      leafHashes: (a, b) => (this.db.prepare('SELECT hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq').all(a, b) as Array<{ hash: Buffer }>).map((r) => r.hash),
      onCheckpoint: (cp) => this.checkpoints.push(cp),
    });
    return this.sealer;
  }

  /** Stores texts as one committed batch, then checkpoints when due. */
  add(texts: string[]): void {
    const s = this.sealer!;
    const first = this.lastSeq + 1;
    const rows = texts.map((text, i) => ({ seq: first + i, time: this.now, text }));
    const hashes = s.append(rows.map((r) => ({ seq: r.seq, bytes: rowBytes(r.time, r.text) })));
    const ins = this.db.prepare('INSERT INTO events (seq, time, text, hash) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      rows.forEach((r, i) => ins.run(r.seq, r.time, r.text, hashes[i]));
      this.db.prepare("INSERT INTO meta (k, v) VALUES ('last_seq', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v").run(first + texts.length - 1);
    })();
    for (let reason = s.due(); reason; reason = s.due()) s.checkpoint(reason);
  }

  /** n events in batches of `batch`, one text each. */
  fill(n: number, prefix = 'event', batch = 4): void {
    for (let done = 0; done < n;) {
      const k = Math.min(batch, n - done);
      this.add(Array.from({ length: k }, (_, i) => `${prefix} ${this.lastSeq + i + 1} user=alice action=login`));
      done += k;
    }
  }

  async close(): Promise<void> {
    await this.sealer?.close();
    this.sealer = null;
  }

  /** Moves seq a..b into an archive file (as the store does when a partition leaves). */
  archive(name: string, a: number, b: number, archiveDir = path.join(this.storeDir, 'archive')): Manifest {
    const rows = this.db.prepare('SELECT seq, time, text FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq').all(a, b) as Array<{ seq: number; time: number; text: string }>;
    const m = writeArchive(path.join(archiveDir, `${name}.sla`), rows.map((r) => ({ seq: r.seq, time: r.time, bytes: rowBytes(r.time, r.text) })), { key: loadSigningKey(this.dataDir, false), partition: name, now: () => this.now });
    this.db.prepare('DELETE FROM events WHERE seq BETWEEN ? AND ?').run(a, b);
    return m;
  }

  /** Retention without archives: a signed drop manifest, then the rows go. */
  drop(name: string, a: number, b: number): Manifest {
    const rows = this.db.prepare('SELECT seq, time, text FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq').all(a, b) as Array<{ seq: number; time: number; text: string }>;
    const m = writeDropManifest(path.join(this.storeDir, 'archive'), name, rows.map((r) => ({ seq: r.seq, time: r.time, bytes: rowBytes(r.time, r.text) })), { key: loadSigningKey(this.dataDir, false), partition: name, now: () => this.now });
    this.db.prepare('DELETE FROM events WHERE seq BETWEEN ? AND ?').run(a, b);
    return m;
  }
}

/** The store's SealSource over a store directory, as the real store registers it. */
export function openTestSealSource(storeDir: string): { source: SealSource; close(): void } {
  const db = new Database(path.join(storeDir, 'events.db'), { readonly: true, fileMustExist: true });
  return {
    source: {
      *records() {
        for (const r of db.prepare('SELECT seq, time, text, hash FROM events ORDER BY id').iterate() as Iterable<{ seq: number; time: number; text: string; hash: Buffer | null }>) {
          yield { seq: r.seq, bytes: rowBytes(r.time, r.text), storedHash: r.hash, time: r.time, where: 'db' };
        }
      },
    },
    close: () => db.close(),
  };
}
