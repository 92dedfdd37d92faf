// Crash tests for the disk buffer: kill -9 a writer mid-run, reopen, and find every acknowledged event; torn tails.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it, type TestContext } from 'node:test';
import { DiskBuffer } from '../../src/buffer/disk.js';
import { setLogSink } from '../../src/log.js';
import { drain, numberedEvents, pushAndWait, seqOf, tempDir } from './helpers.js';

setLogSink(() => {});

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function newDir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}

function addRanges(into: Set<number>, text: string): void {
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let s = a!; s <= (b ?? a!); s++) into.add(s);
  }
}

interface ChildRun {
  acked: Set<number>;
  committed: Set<number>;
  recovered: number;
}

/**
 * Runs the writer until it has acknowledged at least `killAtAcks` events (or `killAfterMs`
 * have passed since its first ack), then SIGKILLs it. Bounded by a hard timeout.
 */
async function runAndKill(dir: string, mode: 'push' | 'push-commit', firstSeq: number, segmentBytes: number, killAtAcks: number, killAfterMs: number, batch = 50, pad = 0): Promise<ChildRun> {
  const args = [WRITER, dir, mode, String(firstSeq), String(segmentBytes), String(batch), String(pad)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ChildRun = { acked: new Set(), committed: new Set(), recovered: -1 };
  let rest = '';
  let stderr = '';
  let firstAckAt = 0;
  let killed = false;
  const kill = (): void => {
    if (!killed) { killed = true; child.kill('SIGKILL'); }
  };
  const hard = setTimeout(kill, 15_000);
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!; // an unfinished line is not counted
    for (const l of lines) {
      if (l.startsWith('A ')) addRanges(run.acked, l.slice(2));
      else if (l.startsWith('C ')) addRanges(run.committed, l.slice(2));
      else if (l.startsWith('R ')) run.recovered = Number(l.slice(2));
    }
    if (run.acked.size > 0 && firstAckAt === 0) {
      firstAckAt = Date.now();
      setTimeout(kill, killAfterMs);
    }
    if (run.acked.size >= killAtAcks) kill();
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, s) => res([c, s])));
  clearTimeout(hard);
  assert.equal(signal, 'SIGKILL', `the writer should be killed, not exit (code ${code}): ${stderr}`);
  assert.ok(run.acked.size > 0, `the writer acknowledged nothing: ${stderr}`);
  return run;
}

/** Reopens the buffer, drains it, and checks every acked-but-not-committed seq is there. */
async function verify(t: TestContext, dir: string, segmentBytes: number, acked: Set<number>, committed: Set<number>): Promise<void> {
  const b = new DiskBuffer({ dir, maxBytes: 1 << 30, whenFull: 'block', segmentBytes });
  await b.open();
  const recovered = b.recoveredEvents;
  const got = (await drain(b, 1000, 60_000)).map(seqOf);
  await b.close();
  const seen = new Map<number, number>();
  for (const s of got) seen.set(s, (seen.get(s) ?? 0) + 1);
  const missing = [...acked].filter((s) => !committed.has(s) && !seen.has(s));
  const duplicates = got.length - seen.size;
  const redeliveredCommitted = [...committed].filter((s) => seen.has(s)).length;
  const unacked = [...seen.keys()].filter((s) => !acked.has(s)).length;
  t.diagnostic(`acked ${acked.size}, committed ${committed.size}, recovered ${recovered} (${got.length} drained), ` +
    `duplicates ${duplicates}, committed re-delivered ${redeliveredCommitted}, written but unacked ${unacked}, ` +
    `torn tail ${b.truncatedTailRecords}, corrupt ${b.corruptRecords}`);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged events lost`);
  assert.equal(got.length, recovered);
  assert.equal(b.corruptRecords, 0, 'a crash leaves at most a torn tail, never damage elsewhere');
  assert.ok(b.truncatedTailRecords <= 1);
}

describe('DiskBuffer under kill -9', { timeout: 180_000 }, () => {
  for (const [i, killAt] of [[1, 2_000], [2, 20_000], [3, 200_000]] as const) {
    it(`push only, killed after ~${killAt} acks (run ${i}): every acked event comes back`, async (t) => {
      const dir = await newDir();
      const seg = i === 1 ? 16 * 1024 : 1024 * 1024;
      const run = await runAndKill(dir, 'push', 0, seg, killAt, 150 * i);
      await verify(t, dir, seg, run.acked, new Set());
    });
  }

  for (const [i, killAt] of [[1, 5_000], [2, 50_000], [3, 300_000]] as const) {
    it(`push and commit, killed after ~${killAt} acks (run ${i}): every acked, uncommitted event comes back`, async (t) => {
      const dir = await newDir();
      const seg = i === 2 ? 16 * 1024 : 256 * 1024;
      const run = await runAndKill(dir, 'push-commit', 0, seg, killAt, 200 * i);
      assert.ok(run.committed.size > 0, 'the checkpoint moved during the run');
      await verify(t, dir, seg, run.acked, run.committed);
    });
  }

  for (const i of [1, 2, 3]) {
    it(`large batches (multi-MB writes), killed early (run ${i}): a write cut by the kill is at most a torn tail`, async (t) => {
      const dir = await newDir();
      const seg = 32 * 1024 * 1024;
      const run = await runAndKill(dir, i === 2 ? 'push-commit' : 'push', 0, seg, Number.MAX_SAFE_INTEGER, 15 * i, 4000, 1000);
      await verify(t, dir, seg, run.acked, run.committed);
    });
  }

  it('two crashes in a row on the same directory, the second run consuming the first one\'s backlog', async (t) => {
    const dir = await newDir();
    const seg = 64 * 1024;
    const one = await runAndKill(dir, 'push', 0, seg, 30_000, 300);
    const two = await runAndKill(dir, 'push-commit', 10_000_000, seg, 30_000, 300);
    assert.ok(two.recovered > 0, 'the second run found the first run\'s events');
    const acked = new Set([...one.acked, ...two.acked]);
    await verify(t, dir, seg, acked, two.committed);
  });
});

describe('DiskBuffer recovery of a torn tail', () => {
  /** A buffer with 100 events in 10 records in one segment, closed; returns the segment path and its size. */
  async function tenRecords(): Promise<{ dir: string; file: string; size: number; records: number[] }> {
    const dir = await newDir();
    const b = new DiskBuffer({ dir, maxBytes: 1 << 30, whenFull: 'block' });
    await b.open();
    for (let i = 0; i < 10; i++) await pushAndWait(b, numberedEvents(i * 10, 10));
    await b.close();
    const [name] = (await readdir(dir)).filter((f) => f.startsWith('segment-'));
    const file = join(dir, name!);
    const data = await readFile(file);
    const records: number[] = [];
    for (let p = 8; p < data.length; p += 8 + data.readUInt32LE(p)) records.push(p);
    assert.equal(records.length, 10);
    return { dir, file, size: data.length, records };
  }

  async function reopenExpectAll(dir: string, file: string, size: number, truncated: number): Promise<void> {
    const b = new DiskBuffer({ dir, maxBytes: 1 << 30, whenFull: 'block' });
    await b.open();
    assert.equal(b.truncatedTailRecords, truncated);
    assert.equal(b.corruptRecords, 0);
    assert.equal(b.recoveredEvents, 100);
    assert.equal((await stat(file)).size, size, 'only the tail was cut');
    assert.deepEqual((await drain(b, 1000)).map(seqOf), Array.from({ length: 100 }, (_, i) => i));
    await b.close();
  }

  it('cuts garbage appended to the last segment', async () => {
    const { dir, file, size } = await tenRecords();
    await appendFile(file, Buffer.from('\x13\x00\x00\x00garbage that is not a record at all'));
    await reopenExpectAll(dir, file, size, 1);
  });

  it('cuts a half-written record at the end of the last segment', async () => {
    const { dir, file, size, records } = await tenRecords();
    const data = await readFile(file);
    const last = data.subarray(records[9]!);
    await appendFile(file, last.subarray(0, Math.floor(last.length / 2)));
    await reopenExpectAll(dir, file, size, 1);
  });

  it('cuts a record header cut short, and a zero-filled tail (power loss)', async () => {
    const a = await tenRecords();
    await appendFile(a.file, Buffer.from([0x40, 0x00, 0x00]));
    await reopenExpectAll(a.dir, a.file, a.size, 1);
    const b = await tenRecords();
    await appendFile(b.file, Buffer.alloc(4096));
    await reopenExpectAll(b.dir, b.file, b.size, 1);
  });

  it('keeps a clean file untouched', async () => {
    const { dir, file, size } = await tenRecords();
    await reopenExpectAll(dir, file, size, 0);
  });
});
