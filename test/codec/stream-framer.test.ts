// RFC 6587 framing: octet counting and newline framing, mixed, split anywhere, bounded.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamFramer, type Framing, type FramingProblem, type OversizePolicy } from '../../src/codec/framing/stream-framer.js';

interface Out { frames: { text: string; truncated: boolean }[]; problems: FramingProblem[] }

function framer(max = 1024, policy: OversizePolicy = 'truncate', framing: Framing = 'auto'): { f: StreamFramer; out: Out } {
  const out: Out = { frames: [], problems: [] };
  const f = new StreamFramer(max, policy, framing,
    (buf, s, e, truncated) => out.frames.push({ text: buf.toString('latin1', s, e), truncated }),
    (p) => out.problems.push(p));
  return { f, out };
}

function feed(input: string, chunkSizes: number[] | 'bytewise' | 'whole', max?: number, policy?: OversizePolicy, framing?: Framing): Out {
  const { f, out } = framer(max, policy, framing);
  const buf = Buffer.from(input, 'latin1');
  if (chunkSizes === 'whole') f.push(buf);
  else if (chunkSizes === 'bytewise') for (let i = 0; i < buf.length; i++) f.push(buf.subarray(i, i + 1));
  else {
    let p = 0;
    let k = 0;
    while (p < buf.length) {
      const n = chunkSizes[k++ % chunkSizes.length]!;
      f.push(buf.subarray(p, p + n));
      p += n;
    }
  }
  f.end();
  return out;
}

const MIXED = '<13>a line\n11 <13>counted\n<13>another line\r\n5 <1>x\n<13>last without LF';
const MIXED_FRAMES = ['<13>a line', '<13>counted', '<13>another line', '<1>x', '<13>last without LF'];

describe('StreamFramer', () => {
  test('mixed octet-counted and newline frames on one stream', () => {
    assert.deepEqual(feed(MIXED, 'whole').frames.map((f) => f.text), MIXED_FRAMES);
  });

  test('the same stream split at every byte and at odd chunk sizes gives the same frames', () => {
    for (const split of ['bytewise', [1, 2, 3], [7], [13, 1], [64]] as const) {
      const out = feed(MIXED, split as never);
      assert.deepEqual(out.frames.map((f) => f.text), MIXED_FRAMES, `split ${JSON.stringify(split)}`);
      assert.deepEqual(out.problems, []);
    }
  });

  test('an octet-counted body may contain LF, and a trailing LF inside the count is dropped', () => {
    const out = feed('10 <13>a\nb\nc\n9 <13>last\n', 'whole');
    assert.deepEqual(out.frames.map((f) => f.text), ['<13>a\nb\nc', '<13>last']);
  });

  test('blank lines and stray CR/NUL between frames are skipped', () => {
    assert.deepEqual(feed('\n\r\n\0<13>x\n\n\n', 'whole').frames.map((f) => f.text), ['<13>x']);
  });

  test('oversize octet frame, truncate: first max bytes kept, rest skipped, next frame fine', () => {
    const out = feed('20 <13>0123456789ABCDEF<13>next\n', [3, 5, 100], 10, 'truncate');
    assert.deepEqual(out.frames, [{ text: '<13>012345', truncated: true }, { text: '<13>next', truncated: false }]);
    assert.deepEqual(out.problems, ['oversize']);
  });

  test('oversize octet frame, reject: dropped whole, counted once', () => {
    const out = feed('20 <13>0123456789ABCDEF<13>next\n', 'bytewise', 10, 'reject');
    assert.deepEqual(out.frames.map((f) => f.text), ['<13>next']);
    assert.deepEqual(out.problems, ['oversize']);
  });

  test('a 2 GB claim is skipped without buffering it', () => {
    const { f, out } = framer(1024, 'truncate');
    f.push(Buffer.from('2147483648 <13>start'));
    const filler = Buffer.alloc(1 << 20, 0x41);
    for (let i = 0; i < 20; i++) f.push(filler); // 20 MiB: a buffering framer would hold it
    f.end();
    assert.equal(out.frames.length, 1, 'only the truncated head becomes a message');
    assert.equal(out.frames[0]!.text.length, 1024);
    assert.ok(out.frames[0]!.truncated);
    assert.deepEqual(out.problems, ['oversize']);
  });

  test('more than 10 digits is not an octet count: read as a line, counted', () => {
    const out = feed('99999999999 <13>x\n<13>ok\n', 'whole');
    assert.deepEqual(out.frames.map((f) => f.text), ['99999999999 <13>x', '<13>ok']);
    assert.deepEqual(out.problems, ['bad_octet_count']);
  });

  test('digits without a following space: a line, counted once even when split', () => {
    const out = feed('123abc\n<13>ok\n', 'bytewise');
    assert.deepEqual(out.frames.map((f) => f.text), ['123abc', '<13>ok']);
    assert.deepEqual(out.problems, ['bad_octet_count']);
  });

  test('overlong line, truncate and reject, then the stream goes on', () => {
    const long = '<13>' + 'x'.repeat(100);
    let out = feed(long + '\n<13>ok\n', [7], 20, 'truncate');
    assert.deepEqual(out.frames, [{ text: long.slice(0, 20), truncated: true }, { text: '<13>ok', truncated: false }]);
    assert.deepEqual(out.problems, ['oversize']);
    out = feed(long + '\n<13>ok\n', [7], 20, 'reject');
    assert.deepEqual(out.frames.map((f) => f.text), ['<13>ok']);
    assert.deepEqual(out.problems, ['oversize']);
  });

  test('stream ends inside an octet frame: counted, the partial body kept as truncated', () => {
    const out = feed('50 <13>only part', 'whole');
    assert.deepEqual(out.problems, ['incomplete_frame']);
    assert.deepEqual(out.frames, [{ text: '<13>only part', truncated: true }]);
  });

  test('lf framing never reads digits as a count', () => {
    const out = feed('12 not a count\n', 'whole', 1024, 'truncate', 'lf');
    assert.deepEqual(out.frames.map((f) => f.text), ['12 not a count']);
  });

  test('octet framing counts a frame without a count, and still delivers it', () => {
    const out = feed('<13>no count\n', 'whole', 1024, 'truncate', 'octet');
    assert.deepEqual(out.frames.map((f) => f.text), ['<13>no count']);
    assert.deepEqual(out.problems, ['bad_octet_count']);
  });

  test('frames are views into the chunk when they fit (no copy)', () => {
    const chunk = Buffer.from('<13>a\n<13>b\n');
    const seen: Buffer[] = [];
    const f = new StreamFramer(100, 'truncate', 'auto', (buf) => seen.push(buf), () => {});
    f.push(chunk);
    assert.equal(seen.length, 2);
    assert.ok(seen.every((b) => b === chunk));
  });
});
