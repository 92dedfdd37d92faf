// Must show (issue 16, 2): a journal made by systemd-journal-remote from export-format input the
// test writes: every entry read once across a restart, fields mapped, a binary value kept; an
// invalid cursor falls back to the head with a counted warning.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigText } from '../../../src/config/load.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { findCommand, havePeer } from '../../helpers/peers.js';
import { readLines, sleep, tempDir, waitFor } from '../../helpers/wait.js';

const JOURNAL_REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find((f) => fs.existsSync(f)) ?? findCommand('systemd-journal-remote');
const BOOT = '0123456789abcdef0123456789abcdef';
const running: Pipeline[] = [];
after(async () => { for (const p of running) await p.stop(); });

/** Journal export format: KEY=value lines; binary values as KEY\n, 64-bit LE length, bytes, \n. */
function exportEntries(from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = from; i < to; i++) {
    const text = [
      `__REALTIME_TIMESTAMP=${1_700_000_000_000_000 + i * 1_000_000}`,
      `__MONOTONIC_TIMESTAMP=${1000 + i}`,
      `_BOOT_ID=${BOOT}`,
      `MESSAGE=entry seq=${i}`,
      `PRIORITY=${i % 8}`,
      `SYSLOG_FACILITY=3`,
      `SYSLOG_IDENTIFIER=${i % 2 ? 'web' : 'db'}`,
      `_PID=${100 + i}`,
      `_HOSTNAME=host-${i % 3}`,
      `_SYSTEMD_UNIT=${i % 2 ? 'web' : 'db'}.service`,
      `CUSTOM_FIELD=value ${i}`,
    ].join('\n') + '\n';
    parts.push(Buffer.from(text));
    if (i === from) {
      const bin = Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x41]);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(bin.length));
      parts.push(Buffer.from('BINARY_DATA\n'), len, bin, Buffer.from('\n'));
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function makeJournal(dir: string, name: string, from: number, to: number): void {
  const input = path.join(dir, `${name}.export`);
  fs.writeFileSync(input, exportEntries(from, to));
  execFileSync(JOURNAL_REMOTE!, ['-o', path.join(dir, 'journal', `${name}.journal`), input], { stdio: 'ignore', timeout: 30_000 });
}

async function start(dir: string, metrics = new Metrics()): Promise<Pipeline> {
  const yaml = JSON.stringify({
    api: false, data_dir: path.join(dir, 'data'),
    sources: { jd: { type: 'journald', directory: path.join(dir, 'journal'), read_from: 'beginning' } },
    destinations: { out: { type: 'file', path: path.join(dir, 'out.ndjson'), format: 'json' } },
    log: [{ from: 'jd', to: 'out' }],
  });
  const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir, metrics });
  running.push(p);
  return p;
}

async function stop(p: Pipeline): Promise<void> {
  await p.stop();
  running.splice(running.indexOf(p), 1);
}

describe('journald source', () => {
  test('entries mapped, binary kept, each read once across a restart, invalid cursor falls back to the head', { timeout: 60_000 }, async (t) => {
    if (!havePeer(t, 'journalctl', findCommand('journalctl'))) return;
    if (!havePeer(t, 'systemd-journal-remote', JOURNAL_REMOTE)) return;
    const dir = tempDir('journald');
    fs.mkdirSync(path.join(dir, 'journal'));
    const out = path.join(dir, 'out.ndjson');
    makeJournal(dir, 'first', 0, 30);
    let p = await start(dir);
    await waitFor(() => readLines(out).length >= 30, '30 entries');
    await sleep(300);
    await stop(p);
    const ck = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'checkpoints', 'jd.json'), 'utf8'));
    assert.match(ck.cursor, /^s=[0-9a-f]+;i=1e;/, 'the cursor of the 30th entry');

    const evs = readLines(out).map((l) => JSON.parse(l));
    const e0 = evs.find((e) => e.message === 'entry seq=0')!;
    assert.equal(e0.timestamp, '2023-11-14T22:13:20.000Z');
    assert.equal(e0.severity, 0);
    assert.equal(e0.facility, 3);
    assert.equal(e0.appname, 'db');
    assert.equal(e0.procid, '100');
    assert.equal(e0.hostname, 'host-0');
    assert.equal(e0.source.transport, 'journald');
    assert.equal(e0.fields._SYSTEMD_UNIT, 'db.service');
    assert.equal(e0.fields.CUSTOM_FIELD, 'value 0');
    assert.deepEqual(e0.fields.BINARY_DATA, [0, 1, 255, 254, 65], 'a binary value stays bytes');
    assert.equal(e0.fields.MESSAGE, undefined, 'MESSAGE is the message, not a field');
    const e5 = evs.find((e) => e.message === 'entry seq=5')!;
    assert.equal(e5.severity, 5);
    assert.equal(e5.appname, 'web');

    // More entries while stopped (a second journal file in the directory): only those are read.
    makeJournal(dir, 'second', 30, 50);
    p = await start(dir);
    await waitFor(() => readLines(out).length >= 50, '50 entries');
    await sleep(500);
    await stop(p);
    const seqs = readLines(out).map((l) => Number(/seq=(\d+)/.exec(JSON.parse(l).message)![1]));
    assert.equal(seqs.length, 50, 'no entry twice');
    assert.deepEqual([...new Set(seqs)].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));

    // A cursor journalctl refuses: warning counted, read from the head again.
    fs.writeFileSync(path.join(dir, 'data', 'checkpoints', 'jd.json'), JSON.stringify({ version: 1, cursor: 'not-a-cursor' }));
    const metrics = new Metrics();
    p = await start(dir, metrics);
    await waitFor(() => readLines(out).length >= 100, 'the journal read again from its head');
    assert.equal(await metrics.value('sluice_errors_total', { component: 'jd', error_type: 'invalid_cursor' }), 1);
    await stop(p);
  });

  test('unit filter', { timeout: 30_000 }, async (t) => {
    if (!havePeer(t, 'systemd-journal-remote', JOURNAL_REMOTE)) return;
    const dir = tempDir('journald-unit');
    fs.mkdirSync(path.join(dir, 'journal'));
    makeJournal(dir, 'only', 0, 10);
    const out = path.join(dir, 'out.ndjson');
    const yaml = JSON.stringify({
      api: false, data_dir: path.join(dir, 'data'),
      sources: { jd: { type: 'journald', directory: path.join(dir, 'journal'), read_from: 'beginning', units: ['web.service'] } },
      destinations: { out: { type: 'file', path: out, format: 'json' } },
      log: [{ from: 'jd', to: 'out' }],
    });
    const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir });
    running.push(p);
    await waitFor(() => readLines(out).length >= 5, 'web entries');
    await sleep(300);
    assert.deepEqual(readLines(out).map((l) => JSON.parse(l).fields._SYSTEMD_UNIT), Array(5).fill('web.service'));
    await stop(p);
  });
});
