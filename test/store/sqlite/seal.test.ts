// The embedded store under the real seal: untouched it verifies; an edited, deleted or cut row
// makes sluice verify fail and name the sequence range (recordBytes is what verify recomputes).

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runVerify } from '../../../src/cli/verify.js';
import '../../../src/destinations/store/index.js';
import { openSealer, sealPaths } from '../../../src/store/seal/sealer.js';
import { listPartitions } from '../../../src/store/sqlite/schema.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { tempDir } from '../../helpers/wait.js';

const T0 = Date.UTC(2026, 10, 20, 9);

async function filled(): Promise<{ dir: string; dataDir: string; file: string }> {
  const dataDir = tempDir('store-seal');
  const dir = path.join(dataDir, 'store');
  const store = await EmbeddedStore.open(dir, { openSealer: (state) => openSealer({ ...sealPaths(dir, dataDir), everyEvents: 30, everyMs: 10_000, heartbeatMs: 60_000, ...state }) });
  for (let k = 0; k < 4; k++) await store.write(Array.from({ length: 25 }, (_, i) => parsed(rfc5424({ time: T0 + k * 25 + i, msg: `event ${k * 25 + i + 1}` }), T0)));
  await store.close();
  return { dir, dataDir, file: listPartitions(dir)[0]!.file };
}

function edit(file: string, sql: string): void {
  const db = new Database(file);
  try { db.exec(sql); } finally { db.close(); }
}

test('an untouched store verifies; an edited message is named by its seq', async () => {
  const s = await filled();
  const ok = runVerify({ store: s.dir, keyDir: s.dataDir });
  assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
  assert.equal(ok.report!.records, 100);
  // The message is read from the received bytes (the event column refers to them).
  edit(s.file, "UPDATE events SET raw = CAST(replace(CAST(raw AS TEXT), 'event 42', 'event 4X') AS BLOB) WHERE seq = 42");
  const bad = runVerify({ store: s.dir, keyDir: s.dataDir });
  assert.equal(bad.exitCode, 1, bad.stdout);
  assert.ok(bad.report!.problems.some((p) => p.kind === 'altered' && p.from === 42 && p.to === 42), bad.stdout);
});

test('an edited event column (a message put in place of its reference into raw) is altered', async () => {
  const s = await filled();
  edit(s.file, `UPDATE events SET event = '[1,null,null,null,null,"forged"]' WHERE seq = 43`);
  const bad = runVerify({ store: s.dir, keyDir: s.dataDir });
  assert.equal(bad.exitCode, 1, bad.stdout);
  assert.ok(bad.report!.problems.some((p) => p.kind === 'altered' && p.from === 43 && p.to === 43), bad.stdout);
});

test('an edited column (host) is altered too; a deleted row is missing; cutting the newest 10 is truncation', async () => {
  const s = await filled();
  edit(s.file, "UPDATE events SET host = 'elsewhere' WHERE seq = 7");
  const a = runVerify({ store: s.dir, keyDir: s.dataDir });
  assert.equal(a.exitCode, 1);
  assert.ok(a.report!.problems.some((p) => p.from === 7 && p.to === 7), a.stdout);

  const t = await filled();
  edit(t.file, 'DELETE FROM events WHERE seq = 17');
  const m = runVerify({ store: t.dir, keyDir: t.dataDir });
  assert.equal(m.exitCode, 1);
  assert.ok(m.report!.problems.some((p) => p.kind === 'missing' && p.from === 17 && p.to === 17), m.stdout);

  const u = await filled();
  edit(u.file, 'DELETE FROM events WHERE seq > 90');
  const c = runVerify({ store: u.dir, keyDir: u.dataDir });
  assert.equal(c.exitCode, 1);
  assert.ok(c.report!.problems.some((p) => p.from === 91 && p.to === 100), c.stdout);
});
