// `sluice query` as a user runs it: a child process over a store another process writes.

import { withDefaultPorts } from '../helpers/default-ports.js';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { EmbeddedStore } from '../../src/store/sqlite/store.js';
import { SLUICE_BIN, spawnSluice, type SluiceProcess } from '../helpers/daemon.js';
import { parsed, rfc5424 } from '../helpers/store-events.js';
import { TestSealer, testSealerOptions } from '../helpers/test-sealer.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const ENV = process.env;
const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);

interface CliResult { code: number; stdout: string; stderr: string }

async function query(args: string[], cwd: string): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [SLUICE_BIN, 'query', ...args], { cwd, env: ENV, maxBuffer: 256 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

async function verify(args: string[], cwd: string): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [SLUICE_BIN, 'verify', ...args], { cwd, env: ENV });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

let storeDir = '';
let cwd = '';
before(async () => {
  cwd = tempDir('query-cli');
  storeDir = path.join(cwd, 'st');
  const store = await EmbeddedStore.open(storeDir, { openSealer: async () => new TestSealer(testSealerOptions(storeDir)) });
  const evs = [];
  for (let i = 0; i < 30; i++) {
    evs.push(parsed(rfc5424({ time: T0 + i * 3_600_000, host: `web-0${i % 3}`, app: i % 2 ? 'sshd' : 'nginx', pri: 8 + (i % 8), msg: `request ${i} ${i === 17 ? 'rareword' : 'common'} done` }), T0));
  }
  await store.write(evs);
  await store.close();
});

test('newest first as text lines; --limit; --format json is JSON only', async () => {
  const t = await query(['--store', storeDir, '--limit', '3', 'common'], cwd);
  assert.equal(t.code, 0, t.stderr);
  const tl = lines(t.stdout);
  assert.equal(tl.length, 3);
  assert.match(tl[0]!, /^2026-11-21T13:00:00\.000Z web-02 sshd: request 29 common done$/);
  assert.match(tl[1]!, /request 28 /);
  const j = await query(['--store', storeDir, '--format', 'json', '--limit', '100', 'rareword'], cwd);
  assert.equal(j.code, 0, j.stderr);
  const jl = lines(j.stdout);
  assert.equal(jl.length, 1);
  const ev = JSON.parse(jl[0]!);
  assert.equal(ev.message, 'request 17 rareword done');
  assert.equal(ev.hostname, 'web-02');
  const all = await query(['--store', storeDir, '--format', 'json', '--limit', '1000'], cwd);
  for (const l of lines(all.stdout)) assert.doesNotThrow(() => JSON.parse(l), 'every stdout line is JSON');
  assert.equal(lines(all.stdout).length, 30);
});

test('--from/--to and --since select by event time', async () => {
  const r = await query(['--store', storeDir, '--from', new Date(T0 + 10 * 3_600_000).toISOString(), '--to', new Date(T0 + 12 * 3_600_000).toISOString(), '--format', 'json'], cwd);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((l) => JSON.parse(l).message), ['request 11 common done', 'request 10 common done']);
  const s = await query(['--store', storeDir, '--since', '1h'], cwd);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(lines(s.stdout).length, 0, 'nothing in the last hour (the events are from 2026-11-20)');
});

test('| stats and | top print one JSON object per row', async () => {
  const r = await query(['--store', storeDir, '--format', 'json', '| stats count() by (host)'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const rows = lines(r.stdout).map((l) => JSON.parse(l));
  assert.deepEqual(rows.sort((a, b) => a.host.localeCompare(b.host)), [{ host: 'web-00', count: 10 }, { host: 'web-01', count: 10 }, { host: 'web-02', count: 10 }]);
  const top = await query(['--store', storeDir, 'common | top 1 app'], cwd);
  assert.equal(top.code, 0, top.stderr);
  assert.deepEqual(lines(top.stdout).map((l) => JSON.parse(l)), [{ app: 'nginx', count: 15 }]);
});

test('a parse error prints the query with a caret and exits 2', async () => {
  const r = await query(['--store', storeDir, 'host:web-01 AND (common'], cwd);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /host:web-01 AND \(common\n\s*\^/);
});

test('--follow prints matches stored after it started, until stopped', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, [SLUICE_BIN, 'query', '--store', storeDir, '--follow', '--limit', '2', '--format', 'json', 'followme OR rareword'], { cwd, env: ENV });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    await waitFor(() => lines(out).length >= 1, 'the initial match', 10_000);
    const store = await EmbeddedStore.open(storeDir, { openSealer: async () => new TestSealer(testSealerOptions(storeDir)) });
    await store.write([parsed(rfc5424({ time: Date.now(), msg: 'please followme now' })), parsed(rfc5424({ time: Date.now(), msg: 'not this one' }))]);
    await store.close();
    await waitFor(() => lines(out).length >= 2, 'the followed match', 10_000);
    const msgs = lines(out).map((l) => JSON.parse(l).message);
    assert.deepEqual(msgs, ['request 17 rareword done', 'please followme now']);
  } finally {
    child.kill('SIGINT');
  }
});

let daemon: SluiceProcess | null = null;
after(async () => { await daemon?.stop(); });

test('must-show 1: npm start on the embedded default, a logger message is found by sluice query', { timeout: 360_000 }, (t) => withDefaultPorts(async () => {
  const dir = tempDir('query-default');
  daemon = await spawnSluice(['run'], { cwd: dir });
  const word = `itsword${process.pid}`;
  await run('logger', ['--server', '127.0.0.1', '--port', '5140', '--tcp', `hello ${word} from logger`]);
  const sentAt = Date.now();
  let found: CliResult | null = null;
  await waitFor(async () => {
    const r = await query([word], dir);
    if (r.code === 0 && r.stdout.includes(word)) found = r;
    return found !== null;
  }, `sluice query ${word}`, 10_000, 50);
  t.diagnostic(`found ${Date.now() - sentAt} ms after logger returned (each poll spawns sluice query)`);
  assert.match(found!.stdout, new RegExp(`hello ${word} from logger`));
  const live = await verify([], dir);
  assert.equal(live.code, 0, `sluice verify while the daemon runs:\n${live.stdout}${live.stderr}`);
  await daemon.stop();
  assert.equal(daemon.exitCode, 0, daemon.stderr.join('\n'));
  const stopped = await verify([], dir);
  assert.equal(stopped.code, 0, `sluice verify after the stop:\n${stopped.stdout}${stopped.stderr}`);
}));
