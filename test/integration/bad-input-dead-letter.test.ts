// A file destination that can never write (path under a regular file, under /proc): dead-lettered or retried, counted; the daemon keeps serving.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { metricFromText, spawnSluice, writeConfig } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import {
  cleanup, connect, dropped, expectAll, goodLines, metric, sendAndClose, startSyslog, udpSend,
} from './bad-input-common.js';

afterEach(cleanup);

const T = { timeout: 40_000 };

interface DeadLetter { at: string; destination: string; reason: string; event: { message: string | null; source: { transport: string } } }

function deadLetters(file: string): DeadLetter[] {
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { return []; }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter);
}

describe('a destination path under a regular file (ENOTDIR, even for root)', () => {
  it('events go to <data_dir>/dead-letter/<name>.ndjson with the reason, counted as rejected; the other destination gets all; later peers are served', T, async () => {
    let blocker = '';
    const h = await startSyslog('dead-letter', {}, (dir) => {
      blocker = path.join(dir, 'blocker');
      fs.writeFileSync(blocker, 'a regular file, not a directory\n');
      return {
        destinations: { blocked: { type: 'file', path: path.join(blocker, 'sub', 'out.log'), template: '${MSG}\n' } },
        log: [{ from: 'net', to: 'blocked' }],
      };
    });
    const dl = path.join(h.dir, 'data', 'dead-letter', 'blocked.ndjson');

    await sendAndClose(await connect(h.tcp), goodLines('tcp', 50));
    await udpSend(h.udp, goodLines('udp', 10).split('\n').filter(Boolean));
    await expectAll(h.out, 'tcp', 50);
    await expectAll(h.out, 'udp', 10);
    await waitFor(() => deadLetters(dl).length >= 60, `60 records in ${dl}`);

    const records = deadLetters(dl);
    assert.equal(records.length, 60, 'expected each event dead-lettered exactly once');
    for (const r of records) {
      assert.equal(r.destination, 'blocked', 'expected the record to name the destination');
      assert.match(r.reason, /ENOTDIR/, `expected the reason to carry the errno, got ${JSON.stringify(r.reason)}`);
      assert.ok(r.reason.includes(path.join(blocker, 'sub', 'out.log')), `expected the reason to name the path, got ${JSON.stringify(r.reason)}`);
      assert.ok(!Number.isNaN(Date.parse(r.at)), 'expected an ISO timestamp in "at"');
    }
    const messages = new Set(records.map((r) => r.event.message));
    for (let i = 0; i < 50; i++) assert.ok(messages.has(`tcp seq=${i}`), `expected "tcp seq=${i}" in the dead-letter file`);
    for (let i = 0; i < 10; i++) assert.ok(messages.has(`udp seq=${i}`), `expected "udp seq=${i}" in the dead-letter file`);
    assert.equal(await dropped(h, 'rejected', 'blocked'), 60, 'expected sluice_events_dropped_total{component="blocked",reason="rejected"} = 60');
    assert.equal(await metric(h, 'sluice_events_sent_total', { component: 'out' }), 60, 'expected the healthy destination to deliver all 60');
    assert.equal(fs.readFileSync(blocker, 'utf8'), 'a regular file, not a directory\n', 'expected the blocking file untouched');

    // Still serving: a new connection afterwards is delivered and dead-lettered the same way.
    await sendAndClose(await connect(h.tcp), goodLines('later', 20));
    await expectAll(h.out, 'later', 20);
    await waitFor(() => deadLetters(dl).length >= 80, `80 records in ${dl}`);
    assert.equal(await dropped(h, 'rejected', 'blocked'), 80, 'expected the later events counted as rejected too');
    assert.equal(await metric(h, 'sluice_retries_total', { component: 'blocked' }), 0, 'expected a permanent error not to be retried');
  });
});

describe('a destination path under /proc (mkdir there fails with ENOENT)', () => {
  // Run as a child process: if sluice wedges on this path, the test kills it instead of hanging.
  it('the failure surfaces (dead-lettered or retried and counted) within 8 s, and the other destination and later peers are served', T, async () => {
    const dir = tempDir('proc-dest');
    const procPath = `/proc/sluice-test-${process.pid}/out.log`;
    const out = path.join(dir, 'out.log');
    const cfg = writeConfig(dir, JSON.stringify({
      data_dir: path.join(dir, 'data'),
      api: { listen: 'http://127.0.0.1:0' },
      sources: { net: { type: 'syslog', listen: ['tcp://127.0.0.1:0'] } },
      destinations: {
        out: { type: 'file', path: out, template: '${MSG}\n' },
        blocked: { type: 'file', path: procPath, template: '${MSG}\n' },
      },
      log: [{ from: 'net', to: ['out', 'blocked'] }],
    }, null, 1));
    const sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir });
    try {
      await sluice.waitForLog(/\[api\] serving/);
      const api = /on=(\S+)/.exec(sluice.stderr.find((l) => l.includes('[api] serving'))!)![1]!;
      const tcp = sluice.endpoint('net', 'tcp');
      const scrape = async () => (await fetch(`${api}/metrics`)).text();
      await sendAndClose(await connect(tcp), goodLines('first', 20));
      await expectAll(out, 'first', 20);
      let seen = '';
      await waitFor(async () => {
        const text = await scrape();
        const rejected = metricFromText(text, 'sluice_events_dropped_total', { component: 'blocked', reason: 'rejected' });
        const retries = metricFromText(text, 'sluice_retries_total', { component: 'blocked' });
        seen = `rejected=${rejected} retries=${retries}`;
        return rejected >= 20 || retries >= 1;
      }, `the ${procPath} failure dead-lettered or retried (counted in /metrics)`, 8_000).catch((e) => {
        throw new Error(`${(e as Error).message}; saw ${seen}; sluice stderr:\n${sluice.stderr.slice(-10).join('\n')}`);
      });
      await sendAndClose(await connect(tcp), goodLines('later', 20));
      await expectAll(out, 'later', 20);
    } finally {
      await sluice.kill9();
    }
  });
});
