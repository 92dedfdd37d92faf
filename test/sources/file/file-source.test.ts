// The file source in-process: lines as messages, globs, exclusions, multiline, limits, bad files,
// inode reuse, copies, and checkpoints that follow acknowledgement order.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigText } from '../../../src/config/load.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { OrderedCommit } from '../../../src/sources/ordered-commit.js';
import { globMatch } from '../../../src/sources/file/glob.js';
import { readLines, sleep, tempDir, waitFor } from '../../helpers/wait.js';

const running: Pipeline[] = [];
after(async () => { for (const p of running) await p.stop(); });

async function start(dir: string, source: Record<string, unknown>, extra = ''): Promise<{ p: Pipeline; out: string; metrics: Metrics }> {
  const out = path.join(dir, 'out.ndjson');
  const yaml = JSON.stringify({
    api: false,
    data_dir: path.join(dir, 'data'),
    sources: { tail: { type: 'file', poll_interval: '20ms', scan_interval: '50ms', rotate_wait: '200ms', ...source } },
    destinations: { out: { type: 'file', path: out, format: 'json' } },
    log: [{ from: 'tail', to: 'out' }],
  }) + extra;
  const metrics = new Metrics();
  const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 'test.yaml')), { baseDir: dir, metrics });
  running.push(p);
  return { p, out, metrics };
}

async function stop(p: Pipeline): Promise<void> {
  await p.stop();
  running.splice(running.indexOf(p), 1);
}

function events(out: string): Record<string, any>[] {
  return readLines(out).map((l) => JSON.parse(l));
}

describe('file source', () => {
  test('globs', () => {
    assert.ok(globMatch('/var/log/*.log', '/var/log/a.log'));
    assert.ok(!globMatch('/var/log/*.log', '/var/log/x/a.log'));
    assert.ok(globMatch('/var/log/**/*.log', '/var/log/x/y/a.log'));
    assert.ok(globMatch('/var/log/app.{log,txt}', '/var/log/app.txt'));
    assert.ok(globMatch('/var/log/app.log.[0-9]', '/var/log/app.log.3'));
    assert.ok(!globMatch('/var/log/app.log.[!0-9]', '/var/log/app.log.3'));
  });

  test('ordered commit: a later batch settling first does not move the checkpoint past an earlier one', () => {
    const c = new OrderedCommit(0);
    const a = c.ticket(100);
    const b = c.ticket(200);
    const d = c.ticket(300);
    assert.equal(b(), false);
    assert.equal(c.committed, 0);
    assert.equal(a(), true);
    assert.equal(c.committed, 200);
    d();
    assert.equal(c.committed, 300);
  });

  test('each line is a message; new files found while running; exclude and compressed skipped; read_from end', async () => {
    const dir = tempDir('file-basic');
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    fs.writeFileSync(path.join(logs, 'old.log'), 'before start\n');
    fs.writeFileSync(path.join(logs, 'a.log.1.gz'), 'compressed\n');
    const { p, out } = await start(dir, { include: ['logs/*.log', 'logs/*.log.*'], exclude: ['skip-*'], read_from: 'end' });
    fs.appendFileSync(path.join(logs, 'old.log'), 'after start\r\n');
    fs.writeFileSync(path.join(logs, 'new.log'), 'first of new\nsecond of new\nno newline yet');
    fs.writeFileSync(path.join(logs, 'skip-me.log'), 'excluded\n');
    await waitFor(() => events(out).length >= 3, 'three lines');
    await sleep(200);
    const evs = events(out);
    const msgs = evs.map((e) => e.message).sort();
    assert.deepEqual(msgs, ['after start', 'first of new', 'second of new']);
    const e = evs.find((x) => x.message === 'first of new')!;
    assert.equal(e.source.transport, 'file');
    assert.equal(e.fields.file, path.join(logs, 'new.log'));
    assert.equal(e.timestamp, null);
    assert.ok(e.hostname);
    await stop(p);
  });

  test('multiline joins by start pattern and timeout; long lines cut and counted; binary lines flagged', async () => {
    const dir = tempDir('file-multi');
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, '');
    const { p, out, metrics } = await start(dir, { include: [f], multiline: { start: '^\\d{4}-', timeout: '150ms' }, max_line_bytes: 100 });
    fs.appendFileSync(f, '2024-01-01 boom\n  at a()\n  at b()\n2024-01-01 next\n' + 'x'.repeat(300) + '\n');
    fs.appendFileSync(f, Buffer.from([0x32, 0x30, 0x32, 0x34, 0x2d, 0xff, 0xfe, 0x0a]));
    await waitFor(() => events(out).length >= 3, 'multiline events');
    await sleep(300);
    const evs = events(out);
    assert.equal(evs[0]!.message, '2024-01-01 boom\n  at a()\n  at b()');
    assert.ok(evs[1]!.message.startsWith('2024-01-01 next\n' + 'x'.repeat(50)), evs[1]!.message);
    assert.ok(evs[1]!.message.length <= 100);
    assert.equal(evs[1]!.fields.truncated, true);
    assert.ok(evs[2]!.message.startsWith('2024-'));
    assert.ok(await metrics.value('sluice_errors_total', { component: 'tail', error_type: 'oversize' }) >= 1);
    assert.ok(await metrics.value('sluice_errors_total', { component: 'tail', error_type: 'invalid_utf8' }) >= 1);
    await stop(p);
  });

  test('a huge line without newlines is cut, the rest skipped, and reading goes on', async () => {
    const dir = tempDir('file-huge');
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'a\n' + 'y'.repeat(3 * 1024 * 1024) + '\nb\n');
    const { p, out, metrics } = await start(dir, { include: [f], max_line_bytes: 1000 });
    await waitFor(() => events(out).some((e) => e.message === 'b'), 'line after the huge one');
    const evs = events(out);
    assert.deepEqual(evs.map((e) => e.message.length), [1, 1000, 1]);
    assert.equal(evs[1]!.fields.truncated, true);
    assert.ok(await metrics.value('sluice_errors_total', { component: 'tail', error_type: 'oversize' }) >= 1);
    await stop(p);
  });

  test('checkpoint: a restart resumes after the last delivered line; inode reuse with new content is read from 0', async () => {
    const dir = tempDir('file-ckpt');
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'one\ntwo\n');
    let r = await start(dir, { include: [f] });
    await waitFor(() => events(r.out).length === 2, 'two lines');
    await stop(r.p);
    const ck = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'checkpoints', 'tail.json'), 'utf8'));
    assert.equal(ck.files[0].offset, 8);
    fs.appendFileSync(f, 'three\n');
    r = await start(dir, { include: [f] });
    await waitFor(() => events(r.out).length === 3, 'third line');
    await stop(r.p);
    // Same inode, different first bytes (rewritten in place while stopped): a new file.
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, 'ONE\nTWO\nTHREE\nFOUR\n', 0);
    fs.closeSync(fd);
    r = await start(dir, { include: [f] });
    await waitFor(() => events(r.out).length === 7, 'rewritten file read from 0');
    assert.deepEqual(events(r.out).map((e) => e.message), ['one', 'two', 'three', 'ONE', 'TWO', 'THREE', 'FOUR']);
    await stop(r.p);
  });

  test('a copy of a file being read is read from the position reached in the original (no duplicates)', async () => {
    const dir = tempDir('file-copy');
    const f = path.join(dir, 'app.log');
    const head = 'header line that makes the fingerprint long enough '.repeat(8) + '\n';
    fs.writeFileSync(f, head + 'a\nb\n');
    const r = await start(dir, { include: [path.join(dir, 'app.log*')], fingerprint_bytes: 64 });
    await waitFor(() => events(r.out).length === 3, 'original lines');
    fs.appendFileSync(f, 'c\n');
    fs.copyFileSync(f, f + '.1');
    fs.truncateSync(f, 0);
    fs.appendFileSync(f, 'd\n');
    await waitFor(() => events(r.out).some((e) => e.message === 'd') && events(r.out).some((e) => e.message === 'c'), 'c from the copy, d from the truncated file');
    await sleep(300);
    const msgs = events(r.out).map((e) => e.message);
    assert.equal(msgs.filter((m) => m === 'a').length, 1, msgs.join('|'));
    assert.equal(msgs.filter((m) => m === 'c').length, 1, msgs.join('|'));
    await stop(r.p);
  });

  test('dangling links, FIFOs and directories matching the glob are passed over; the others are read', async () => {
    const dir = tempDir('file-odd');
    fs.writeFileSync(path.join(dir, 'ok.log'), 'fine\n');
    fs.mkdirSync(path.join(dir, 'dir.log'));
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling.log'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.log')]);
    const { p, out } = await start(dir, { include: [path.join(dir, '*.log')] });
    await waitFor(() => events(out).length >= 1, 'the readable file');
    await sleep(200);
    assert.deepEqual(events(out).map((e) => e.message), ['fine']);
    await stop(p);
  });

  test('rename rotation with only the live name included: the renamed file is read to its end, then released', async () => {
    const dir = tempDir('file-rename');
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'a1\n');
    const r = await start(dir, { include: [f] });
    await waitFor(() => events(r.out).length === 1, 'first line');
    const fd = fs.openSync(f, 'a');
    fs.renameSync(f, f + '.1');
    fs.writeSync(fd, 'a2 written to the renamed file\n');
    fs.writeFileSync(f, 'b1 in the new file\n');
    fs.writeSync(fd, 'a3 last line of the old file, no newline');
    fs.closeSync(fd);
    await waitFor(() => events(r.out).length === 4, 'lines of both files, the unterminated last one when released', 5000);
    const src = (r.p.sources.get('tail') as unknown as { openFiles(): string[] });
    await waitFor(() => src.openFiles().length === 1, 'the renamed file released');
    assert.deepEqual(events(r.out).map((e) => e.message).sort(), ['a1', 'a2 written to the renamed file', 'a3 last line of the old file, no newline', 'b1 in the new file']);
    fs.rmSync(f);
    await waitFor(() => src.openFiles().length === 0, 'a removed file released');
    await stop(r.p);
  });

  test('a file renamed while sluice was stopped is found by inode and read from its checkpoint', async () => {
    const dir = tempDir('file-renamed-stopped');
    const f = path.join(dir, 'app.log');
    fs.writeFileSync(f, 'one\n');
    let r = await start(dir, { include: [f] });
    await waitFor(() => events(r.out).length === 1, 'first line');
    await stop(r.p);
    fs.appendFileSync(f, 'two, before the rotation\n');
    fs.renameSync(f, f + '.1');
    fs.writeFileSync(f, 'three, in the new file\n');
    r = await start(dir, { include: [f] });
    await waitFor(() => events(r.out).length === 3, 'the rest of the renamed file and the new one');
    await sleep(200);
    assert.deepEqual(events(r.out).map((e) => e.message).sort(), ['one', 'three, in the new file', 'two, before the rotation']);
    await stop(r.p);
  });
});
