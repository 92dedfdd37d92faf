// The stored event form: what the store reads back is the EventJson the event had, for events
// whose fields come from the bytes, were changed by a transform, or were built from values;
// rows of the old form (whole EventJson, format 1) read back and hash as SLR1 records.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parseSyslog } from '../../../src/codec/syslog-parser.js';
import { EventFlag, LogEvent } from '../../../src/event/log-event.js';
import { parseQuery } from '../../../src/store/query/parse.js';
import { eventJson, type EventRow } from '../../../src/store/sqlite/event-form.js';
import { recordBytes, type StoredRow } from '../../../src/store/sqlite/record.js';
import { SqliteStoreReader } from '../../../src/store/sqlite/reader.js';
import { listPartitions } from '../../../src/store/sqlite/schema.js';
import { EmbeddedStore } from '../../../src/store/sqlite/store.js';
import { TEST_SOURCE } from '../../helpers/store-events.js';
import { TestSealer, testSealerOptions } from '../../helpers/test-sealer.js';
import { tempDir } from '../../helpers/wait.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const TLS = { name: 'tls-in', transport: 'tls', address: '10.0.0.9', port: 6514, tlsPeer: 'CN=client' } as const;

/** Events parsed out of one shared buffer (offsets not at 0), like a TCP read with several frames. */
function framed(lines: (string | Buffer)[], source = TEST_SOURCE): LogEvent[] {
  const parts = lines.map((l) => (typeof l === 'string' ? Buffer.from(l, 'utf8') : l));
  const buf = Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
  const out: LogEvent[] = [];
  let at = 0;
  for (const p of parts) {
    const ev = new LogEvent(source, T0);
    parseSyslog(ev, buf, at, at + p.length, 'auto');
    out.push(ev);
    at += p.length + 1;
  }
  return out;
}

function sample(): LogEvent[] {
  const ts = new Date(T0).toISOString();
  const evs = framed([
    `<134>1 ${ts} web-01 nginx 42 ID7 [ex@32473 a="1" b="x \\"q\\" \\] y"][other k="v" k="w"] GET / 200`,
    `<13>1 ${ts} h app - - - \ufeffwith a BOM`,
    `<13>1 ${ts} h app - - -`,
    `<34>Nov 28 12:00:00 old-host su[7]: 'su root' failed`,
    'no header at all, just text',
    Buffer.concat([Buffer.from(`<13>1 ${ts} h app - - - bad `), Buffer.from([0xff, 0xfe]), Buffer.from(' bytes')]),
  ]);
  evs[5]!.flags |= EventFlag.INVALID_UTF8;
  const [cut] = framed([`<13>1 ${ts} h app - - - cut shor`]);
  cut!.flags |= EventFlag.TRUNCATED;
  evs.push(cut!);
  // Changed by transforms: the stored form must carry the new values, not the bytes'.
  const [changed] = framed([`<134>1 ${ts} web-01 nginx - - [a b="c"] original text`], TLS);
  changed!.message = 'rewritten text';
  changed!.structuredData = { z: { y: 'x' } };
  changed!.timestamp = '2026-11-28T12:00:01.5+01:00';
  changed!.hostname = 'renamed';
  changed!.fields = { geo: { country: 'NL' }, n: 3 };
  evs.push(changed!);
  evs.push(LogEvent.fromValues({ name: 'api', transport: 'http', address: null, port: null, tlsPeer: null }, T0, { hostname: 'h', message: 'from values', structuredData: { s: { p: 'q' } }, timestamp: ts, fields: { a: 1 } }));
  evs.push(LogEvent.fromValues({ name: 'api', transport: 'http', address: null, port: null, tlsPeer: null }, T0, { message: null }));
  return evs;
}

async function store(dir: string, events: LogEvent[]): Promise<StoredRow[]> {
  const s = await EmbeddedStore.open(dir, { worker: false, openSealer: async () => new TestSealer(testSealerOptions(dir)) });
  await s.write(events);
  await s.close();
  const out: StoredRow[] = [];
  for (const p of listPartitions(dir)) {
    const db = new Database(p.file, { readonly: true });
    out.push(...(db.prepare('SELECT * FROM events').all() as StoredRow[]));
    db.close();
  }
  return out.sort((a, b) => a.seq - b.seq);
}

test('every stored row reads back as the EventJson of its event (bytes, transforms, values)', async () => {
  const evs = sample();
  const rows = await store(tempDir('event-form'), evs);
  assert.equal(rows.length, evs.length);
  for (let i = 0; i < evs.length; i++) {
    const want = JSON.parse(JSON.stringify(evs[i]!.toJSON()));
    assert.deepEqual(eventJson(rows[i] as EventRow), want, `event ${i}`);
    // Same key order as toJSON: API and export output stays byte-identical.
    assert.equal(JSON.stringify(eventJson(rows[i] as EventRow)), JSON.stringify(want), `event ${i} key order`);
  }
  // Read from the bytes: the row does not repeat the message.
  assert.ok(!rows[0]!.event.includes('GET /'), rows[0]!.event);
  assert.ok(rows[7]!.event.includes('rewritten text'));
});

test('a format 1 row (whole EventJson) reads back the same, searches the same and hashes as an SLR1 record', async () => {
  const dir = tempDir('event-form-v1');
  const rows = await store(dir, sample());
  const file = listPartitions(dir)[0]!.file;
  const reader = new SqliteStoreReader(dir);
  const q = { query: parseQuery('text OR bytes OR BOM OR root OR values OR GET'), range: { from: T0 - 86_400_000, to: T0 + 86_400_000 }, limit: 100 };
  const before = await reader.search(q);
  await reader.close();
  const db = new Database(file);
  for (const r of rows) {
    const whole = JSON.stringify(eventJson(r as EventRow));
    const old = { ...r, event: whole };
    const bytes = recordBytes(old);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'SLR1');
    assert.notDeepEqual(bytes, recordBytes(r));
    db.prepare('UPDATE events SET event = ?, hash = ? WHERE seq = ?').run(whole, crypto.createHash('sha256').update(bytes).digest(), r.seq);
  }
  db.close();
  const again = new SqliteStoreReader(dir);
  const after = await again.search(q);
  await again.close();
  assert.ok(before.events.length >= 5);
  assert.deepEqual(after.events, before.events);
});

test('a format 1 store.json is taken over as format 2; a format this sluice does not know fails with a clear error', async () => {
  const dir = tempDir('event-form-marker');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ format: 1, kind: 'sluice-store', partition: 'day' }));
  await store(dir, sample().slice(0, 1));
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'store.json'), 'utf8')).format, 2);
  fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ format: 3, kind: 'sluice-store', partition: 'day' }));
  await assert.rejects(store(dir, []), (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_STORE' && /format 3 .*not one this sluice reads/.test(e.message));
});
