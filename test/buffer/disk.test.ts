// Tests for the disk buffer: order, acks, segments, checkpoint and reopen, full policies, read-back, damage.

import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { DiskBuffer, type DiskBufferOptions } from '../../src/buffer/disk.js';
import { setLogSink } from '../../src/log.js';
import { drain, numberedEvents, pushAndWait, seqOf, sourceAck, tempDir, until } from './helpers.js';

const logs: string[] = [];
setLogSink((l) => logs.push(l));

const dirs: string[] = [];
const open: DiskBuffer[] = [];

async function make(opts: Partial<DiskBufferOptions> & { dir?: string } = {}): Promise<DiskBuffer> {
  const dir = opts.dir ?? (await tempDir());
  if (!dirs.includes(dir)) dirs.push(dir);
  const b = new DiskBuffer({ maxBytes: 64 * 1024 * 1024, whenFull: 'block', ...opts, dir });
  await b.open();
  open.push(b);
  return b;
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith('segment-')).sort();
}

afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('DiskBuffer', () => {
  it('gives back events in push order across takes of any size, and counts down to zero', async () => {
    const b = await make();
    let seq = 0;
    for (const n of [1, 5, 50, 3, 200, 7]) {
      const r = await pushAndWait(b, numberedEvents(seq, n));
      assert.deepEqual(r, { accepted: true, outcome: 'delivered' });
      seq += n;
    }
    assert.equal(b.events, seq);
    assert.ok(b.bytes > 0);
    const got: number[] = [];
    for (const max of [1, 2, 4, 60, 1000]) {
      const t = b.take(max);
      assert.ok(t !== null && t.length <= max);
      got.push(...t.map(seqOf));
      b.commit();
    }
    got.push(...(await drain(b, 13)).map(seqOf));
    assert.deepEqual(got, Array.from({ length: seq }, (_, i) => i));
    assert.equal(b.events, 0);
    assert.equal(b.bytes, 0);
  });

  it('hands out the pushed objects themselves while they are cached', async () => {
    const b = await make();
    const evs = numberedEvents(0, 10);
    await pushAndWait(b, evs);
    const t = b.take(100);
    assert.equal(t, evs);
    b.commit();
  });

  it('releases the ack only after the write completed, with the bytes in the file', async () => {
    const b = await make();
    const dir = dirs[dirs.length - 1]!;
    const a = sourceAck();
    assert.equal(b.push(numberedEvents(0, 20), a.ack, true), true);
    a.ack.release();
    assert.equal(a.settled(), null, 'not settled synchronously');
    assert.equal(await a.outcome, 'delivered');
    const [seg] = await segments(dir);
    const content = await readFile(join(dir, seg!));
    assert.ok(content.includes(Buffer.from('seq=19')), 'event bytes are in the segment when the ack settles');
  });

  it('groups pushes made while a write is in flight into few writes, keeping order', async () => {
    const b = await make();
    const acks = [];
    for (let i = 0; i < 500; i++) {
      const a = sourceAck();
      b.push(numberedEvents(i * 2, 2), a.ack, true);
      a.ack.release();
      acks.push(a.outcome);
    }
    assert.deepEqual(new Set(await Promise.all(acks)), new Set(['delivered']));
    assert.deepEqual((await drain(b, 64)).map(seqOf), Array.from({ length: 1000 }, (_, i) => i));
  });

  it('calls onReadable once a write completes after take() found nothing', async () => {
    const b = await make();
    let called = 0;
    b.onReadable = () => { called++; };
    assert.equal(b.take(10), null);
    await pushAndWait(b, numberedEvents(0, 3));
    await until(() => called > 0, 2000, 'onReadable');
    assert.deepEqual(b.take(2)!.map(seqOf), [0, 1]);
    assert.throws(() => b.take(1), /take before commit/);
    b.commit();
    assert.deepEqual(b.take(2)!.map(seqOf), [2]);
    b.commit();
  });

  it('rolls over to new segments and deletes those fully committed', async () => {
    const b = await make({ segmentBytes: 4096 });
    const dir = dirs[dirs.length - 1]!;
    for (let i = 0; i < 100; i++) await pushAndWait(b, numberedEvents(i * 5, 5));
    const before = await segments(dir);
    assert.ok(before.length >= 10, `expected many segments, got ${before.length}`);
    for (const f of before) assert.ok((await stat(join(dir, f))).size <= 4096, `${f} over the segment size`);
    const got = await drain(b, 37);
    assert.deepEqual(got.map(seqOf), Array.from({ length: 500 }, (_, i) => i));
    await until(async () => (await segments(dir)).length <= 1, 5000, 'segment deletion');
  });

  it('reopens at the checkpoint: committed events stay gone, taken-but-uncommitted come back', async () => {
    const dir = await tempDir();
    const b = await make({ dir, segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await pushAndWait(b, numberedEvents(i * 10, 10));
    let committed = 0;
    for (; committed < 73;) {
      const t = b.take(Math.min(9, 73 - committed))!;
      committed += t.length;
      b.commit();
    }
    assert.equal(b.take(20)!.length, 20); // taken, never committed
    await b.close();
    const c = await make({ dir, segmentBytes: 4096 });
    assert.equal(c.recoveredEvents, 200 - 73);
    assert.equal(c.events, 127);
    const got = await drain(c, 50);
    assert.deepEqual(got.map(seqOf), Array.from({ length: 127 }, (_, i) => 73 + i));
    await c.close();
    const d = await make({ dir });
    assert.equal(d.recoveredEvents, 0);
    assert.equal(d.events, 0);
  });

  it('keeps the position inside a large record across reopen', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    await pushAndWait(b, numberedEvents(0, 100));
    b.take(30);
    b.commit();
    await b.close();
    const c = await make({ dir });
    assert.equal(c.recoveredEvents, 70);
    const got = await drain(c, 1000);
    assert.deepEqual(got.map(seqOf), Array.from({ length: 70 }, (_, i) => 30 + i));
    assert.deepEqual(got[0]!.toJSON(), numberedEvents(0, 100)[30]!.toJSON());
  });

  it('delivers recovered events before new ones', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    await pushAndWait(b, numberedEvents(0, 50));
    await b.close();
    const c = await make({ dir });
    await pushAndWait(c, numberedEvents(50, 50));
    assert.deepEqual((await drain(c, 16)).map(seqOf), Array.from({ length: 100 }, (_, i) => i));
  });

  it('reads a backlog back from disk when it is not cached, decoding exactly', async () => {
    const b = await make({ cacheBytes: 1, segmentBytes: 8192 });
    const evs: ReturnType<typeof numberedEvents> = [];
    for (let i = 0; i < 40; i++) {
      const batch = numberedEvents(i * 25, 25, i % 3 === 0 ? 500 : 0);
      batch[0]!.fields = { batch: i };
      batch[1]!.hostname = `override-${i}`;
      evs.push(...batch);
      await pushAndWait(b, batch);
    }
    assert.equal(b.take(10), null, 'nothing cached: a read from disk starts');
    const got = await drain(b, 30);
    assert.equal(got.length, evs.length);
    for (let i = 0; i < evs.length; i++) assert.deepEqual(got[i]!.toJSON(), evs[i]!.toJSON());
    assert.notEqual(got[0], evs[0], 'decoded copies, not the pushed objects');
  });

  it('drop_newest: refuses pushes while full, with a rejected ack, and drains below 80 %', async () => {
    const b = await make({ maxBytes: 20_000, whenFull: 'drop_newest' });
    let pushed = 0;
    while (!b.full && pushed < 10_000) {
      const r = await pushAndWait(b, numberedEvents(pushed, 10));
      assert.deepEqual(r, { accepted: true, outcome: 'delivered' });
      pushed += 10;
    }
    assert.ok(b.full && b.bytes >= 20_000);
    assert.deepEqual(await pushAndWait(b, numberedEvents(99_999, 1), true), { accepted: false, outcome: 'rejected' });
    assert.equal(b.push(numberedEvents(99_999, 1), null, true), false);
    let drained = 0;
    b.onDrain = () => { drained++; };
    for (let guard = 0; b.full && guard < 1000; guard++) {
      b.take(5);
      b.commit();
    }
    assert.equal(drained, 1);
    assert.ok(b.bytes < 16_000);
    assert.deepEqual(await pushAndWait(b, numberedEvents(pushed, 1)), { accepted: true, outcome: 'delivered' });
  });

  it('block: still accepts a source that can wait while full, refuses one that cannot', async () => {
    const b = await make({ maxBytes: 5000, whenFull: 'block' });
    for (let i = 0; !b.full && i < 1000; i++) await pushAndWait(b, numberedEvents(i * 10, 10));
    assert.ok(b.full);
    assert.deepEqual(await pushAndWait(b, numberedEvents(0, 5), true), { accepted: true, outcome: 'delivered' });
    assert.deepEqual(await pushAndWait(b, numberedEvents(0, 5), false), { accepted: false, outcome: 'rejected' });
  });

  it('starts full when the recovered backlog is over the limit', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    for (let i = 0; i < 10; i++) await pushAndWait(b, numberedEvents(i * 10, 10));
    const bytes = b.bytes;
    await b.close();
    const c = await make({ dir, maxBytes: bytes - 1, whenFull: 'drop_newest' });
    assert.equal(c.bytes, bytes);
    assert.ok(c.full);
    assert.equal(c.push(numberedEvents(0, 1), null, true), false);
  });

  it('works with fsync always and on an interval', async () => {
    for (const fsync of ['always', 5] as const) {
      const b = await make({ fsync, segmentBytes: 4096 });
      for (let i = 0; i < 30; i++) await pushAndWait(b, numberedEvents(i * 4, 4));
      assert.deepEqual((await drain(b, 7)).map(seqOf), Array.from({ length: 120 }, (_, i) => i));
    }
  });

  it('flushes pending writes on close and refuses pushes after', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    const a = sourceAck();
    b.push(numberedEvents(0, 10), a.ack, true);
    a.ack.release();
    await b.close();
    assert.equal(a.settled(), 'delivered');
    assert.deepEqual(await pushAndWait(b, numberedEvents(10, 1)), { accepted: false, outcome: 'rejected' });
    const c = await make({ dir });
    assert.equal(c.recoveredEvents, 10);
  });

  /** Three or more closed segments of 5-event records; returns the second segment's path and bytes. */
  async function damagedMiddle(): Promise<{ dir: string; name: string; data: Buffer }> {
    const dir = await tempDir();
    const b = await make({ dir, segmentBytes: 4096 });
    for (let i = 0; i < 60; i++) await pushAndWait(b, numberedEvents(i * 5, 5));
    await b.close();
    const segs = await segments(dir);
    assert.ok(segs.length >= 4);
    return { dir, name: segs[1]!, data: await readFile(join(dir, segs[1]!)) };
  }

  it('skips a damaged record in the middle alone when its length still leads to the next one', async () => {
    const { dir, name, data } = await damagedMiddle();
    const second = 8 + 8 + data.readUInt32LE(8);
    data[second + 8 + 40] ^= 0xff; // payload byte: CRC fails, length intact
    await writeFile(join(dir, name), data);
    logs.length = 0;
    const c = await make({ dir, segmentBytes: 4096 });
    assert.equal(c.corruptRecords, 1);
    assert.equal(c.truncatedTailRecords, 0);
    assert.ok(logs.some((l) => l.includes('corrupt record skipped') && l.includes(name) && l.includes(`offset=${second}`)), 'the log names file and offset');
    assert.equal(c.recoveredEvents, 295);
    const got = (await drain(c, 50)).map(seqOf);
    assert.equal(got.length, 295);
    assert.deepEqual(got, [...got].sort((x, y) => x - y));
    assert.equal(c.bytes, 0);
  });

  it('skips the rest of a middle segment when a record length is damaged, and keeps going', async () => {
    const { dir, name, data } = await damagedMiddle();
    const second = 8 + 8 + data.readUInt32LE(8);
    data.writeUInt32LE(0x7fffffff, second); // length out of range: no way to find the next record
    await writeFile(join(dir, name), data);
    const c = await make({ dir, segmentBytes: 4096 });
    assert.equal(c.corruptRecords, 1);
    const got = (await drain(c, 50)).map(seqOf);
    assert.equal(got.length, c.recoveredEvents);
    assert.ok(got.length < 295 && got.length >= 300 - 60, `lost the rest of one segment (${300 - got.length})`);
    assert.ok(got.includes(0) && got.includes(299));
  });

  it('renames a segment with a bad header aside and delivers the others', async () => {
    const dir = await tempDir();
    const b = await make({ dir, segmentBytes: 4096 });
    for (let i = 0; i < 30; i++) await pushAndWait(b, numberedEvents(i * 5, 5));
    await b.close();
    const segs = await segments(dir);
    await writeFile(join(dir, segs[0]!), Buffer.from('this is not a segment at all, just text'));
    const c = await make({ dir, segmentBytes: 4096 });
    assert.equal(c.corruptRecords, 1);
    assert.ok((await readdir(dir)).includes(segs[0]! + '.corrupt'));
    const got = (await drain(c, 50)).map(seqOf);
    assert.ok(got.length > 0 && got.includes(149));
  });

  it('survives damage that appears after open, skipping only the bad range', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    for (let i = 0; i < 10; i++) await pushAndWait(b, numberedEvents(i * 10, 10));
    await b.close();
    const c = await make({ dir });
    assert.equal(c.recoveredEvents, 100);
    const [seg] = await segments(dir);
    const data = await readFile(join(dir, seg!));
    data[data.length - 50] ^= 0xff; // inside the last record
    await writeFile(join(dir, seg!), data);
    const got = (await drain(c, 1000)).map(seqOf);
    assert.deepEqual(got, Array.from({ length: 90 }, (_, i) => i));
    assert.equal(c.corruptRecords, 1);
    assert.equal(c.events, 0);
    assert.equal(c.bytes, 0);
  });

  it('removes an empty segment file left by a crash at creation', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    await pushAndWait(b, numberedEvents(0, 5));
    await b.close();
    await appendFile(join(dir, 'segment-0000000099.log'), Buffer.alloc(0));
    const c = await make({ dir });
    assert.equal(c.recoveredEvents, 5);
    assert.ok(!(await readdir(dir)).includes('segment-0000000099.log'));
    assert.deepEqual((await drain(c)).map(seqOf), [0, 1, 2, 3, 4]);
  });

  it('refuses the batches of a failed write (rejected ack, counted out) and carries on in a new segment', async () => {
    const dir = await tempDir();
    const b = await make({ dir });
    // The first segment's path is taken by a directory: creating the file fails.
    await mkdir(join(dir, 'segment-0000000001.log'));
    logs.length = 0;
    assert.deepEqual(await pushAndWait(b, numberedEvents(0, 10)), { accepted: true, outcome: 'rejected' });
    assert.equal(b.events, 0);
    assert.equal(b.bytes, 0);
    assert.ok(logs.some((l) => l.includes('cannot write to the disk buffer') && l.includes('segment-0000000001.log')));
    assert.deepEqual(await pushAndWait(b, numberedEvents(10, 10)), { accepted: true, outcome: 'delivered' });
    assert.deepEqual((await drain(b)).map(seqOf), Array.from({ length: 10 }, (_, i) => 10 + i));
    await b.close();
    await rm(join(dir, 'segment-0000000001.log'), { recursive: true });
    const c = await make({ dir });
    assert.equal(c.recoveredEvents, 0);
  });

  it('fails to open with the directory and the cause in the message', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const b = new DiskBuffer({ dir: file, maxBytes: 1000, whenFull: 'block' });
    await assert.rejects(b.open(), (e: Error) => e.message.includes(`disk buffer ${file}: cannot open`) && /EEXIST|ENOTDIR/.test(e.message));
  });

  it('validates its options with the directory in the message', () => {
    assert.throws(() => new DiskBuffer({ dir: '/x', maxBytes: 0, whenFull: 'block' }), /disk buffer \/x: max_bytes/);
    assert.throws(() => new DiskBuffer({ dir: '/x', maxBytes: 1, whenFull: 'block', segmentBytes: 10 }), /segment size/);
    assert.throws(() => new DiskBuffer({ dir: '/x', maxBytes: 1, whenFull: 'block' }).push([], null, true), /push before open/);
  });
});
