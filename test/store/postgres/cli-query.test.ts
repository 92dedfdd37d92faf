// `sluice query` against a postgres destination: the config's first store or postgres
// destination decides what is read; search and `| stats` come from PostgreSQL.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStoreReader, resolveStore, resolveStoreDir, runQuery } from '../../../src/cli/query.js';
import { PostgresDestination, postgresDestinationSchema } from '../../../src/destinations/postgres/index.js';
import '../../../src/destinations/store/index.js';
import type { SendResult } from '../../../src/destinations/types.js';
import { setLogSink } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { PgStoreReader } from '../../../src/store/postgres/reader.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { parsed, rfc5424 } from '../../helpers/store-events.js';
import { tempDir } from '../../helpers/wait.js';
import { freshDatabase, pgUnavailable, type TestDatabase } from './pg-db.js';

setLogSink(() => {});
const skip = await pgUnavailable();
const T0 = Date.parse('2026-03-01T10:00:00Z');

describe('sluice query on a postgres store', { skip }, () => {
  let db: TestDatabase;
  let cfg = '';
  before(async () => {
    db = await freshDatabase();
    const dir = tempDir('cli-pg');
    const d = new PostgresDestination(postgresDestinationSchema.parse({ type: 'postgres', url: db.url }), { name: 'pg', metrics: new Metrics(), dataDir: dir });
    await d.start();
    const events = Array.from({ length: 30 }, (_, i) => parsed(rfc5424({ time: T0 + i * 60_000, host: i % 3 ? 'web-01' : 'db-1', msg: `request ${i}${i === 17 ? ' needle' : ''}` }), T0));
    const r = await new Promise<SendResult>((res) => d.send(events, res));
    assert.equal(r.status, 'ok');
    await d.stop();
    cfg = path.join(dir, 'sluice.yaml');
    fs.writeFileSync(cfg, [
      'sources:', '  net: { type: syslog, listen: ["tcp://127.0.0.1:0"] }',
      'destinations:', `  pg: { type: postgres, url: "${db.url}" }`, '  files: { type: file, path: "out.log" }',
      'log:', '  - { from: net, to: [pg, files] }', '',
    ].join('\n'));
  });
  after(async () => { await db?.drop(); });

  test('the config\'s postgres destination is the store; search and stats read PostgreSQL', async () => {
    const target = resolveStore({ config: cfg });
    assert.deepEqual(target, { kind: 'postgres', url: db.url, table: 'sluice_', name: 'pg' });
    assert.throws(() => resolveStoreDir({ config: cfg }), /postgres destination pg/);
    const reader = openStoreReader(target);
    assert.ok(reader instanceof PgStoreReader);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    await runQuery(reader, parseQuery('needle'), { from: 0, to: Date.UTC(10000, 0, 1) }, 10, 'json', io);
    assert.deepEqual(out.map((l) => JSON.parse(l).message), ['request 17 needle']);
    out.length = 0;
    await runQuery(reader, parseQuery('| stats count() by (host)'), { from: 0, to: Date.UTC(10000, 0, 1) }, 10, 'json', io);
    assert.deepEqual(out.map((l) => JSON.parse(l)), [{ host: 'web-01', count: 20 }, { host: 'db-1', count: 10 }]);
    // PostgreSQL keeps no archives; sluice query asks for them and is told so.
    assert.ok(err.length > 0 && err.every((l) => l.includes('partial')), err.join('\n'));
    await reader.close();
  });

  test('--store names an embedded store directory whatever the config says', () => {
    const dir = tempDir('cli-pg-store');
    const t = resolveStore({ config: cfg, store: dir });
    assert.deepEqual(t, { kind: 'embedded', dir });
    const r = openStoreReader(t);
    assert.ok(r instanceof SqliteStoreReader);
    void r.close();
  });
});
