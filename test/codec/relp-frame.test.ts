// RELP frame codec: frames split at every byte, malformed headers, the size limit, the encoder, rsp and offers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { encodeFrame, MAX_TXNR, nextTxnr, RelpFrameParser, writeFrame, type OversizeMode } from '../../src/codec/relp/frame.js';
import { clientOffers, formatOffers, offeredVersion, parseOffers, parseRsp, rspText } from '../../src/codec/relp/messages.js';

interface Frame { txnr: number; command: string; data: string; truncated: boolean }

function parser(max = 1024, mode: OversizeMode = 'error'): { p: RelpFrameParser; frames: Frame[] } {
  const frames: Frame[] = [];
  const p = new RelpFrameParser(max, mode, (txnr, command, buf, s, e, truncated) => {
    frames.push({ txnr, command, data: buf.toString('latin1', s, e), truncated });
  });
  return { p, frames };
}

/** Feeds `input` split into pieces at the given cut points; returns frames and the error. */
function feedCuts(input: string, cuts: number[], max?: number, mode?: OversizeMode): { frames: Frame[]; error: string | null } {
  const { p, frames } = parser(max, mode);
  const buf = Buffer.from(input, 'latin1');
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    p.push(buf.subarray(prev, c));
    prev = c;
  }
  return { frames, error: p.error };
}

/** A frame as text, with DATALEN counted here. */
const f = (txnr: number, command: string, data: string): string =>
  data === '' ? `${txnr} ${command} 0\n` : `${txnr} ${command} ${Buffer.byteLength(data)} ${data}\n`;

// As rsyslog 8.2302 / librelp 1.11 sends it (86 bytes of offers).
const OPEN = '1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n';
const STREAM = OPEN +
  f(2, 'syslog', '<13>1 - host app - - - hi') +
  f(3, 'syslog', '<13>a\nb\nc end') + // DATA may contain LF
  '4 close 0\n' +
  '0 serverclose 0\n';
const EXPECTED: Frame[] = [
  { txnr: 1, command: 'open', data: 'relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog', truncated: false },
  { txnr: 2, command: 'syslog', data: '<13>1 - host app - - - hi', truncated: false },
  { txnr: 3, command: 'syslog', data: '<13>a\nb\nc end', truncated: false },
  { txnr: 4, command: 'close', data: '', truncated: false },
  { txnr: 0, command: 'serverclose', data: '', truncated: false },
];

describe('RelpFrameParser', () => {
  test('a stream of frames in one chunk', () => {
    const r = feedCuts(STREAM, []);
    assert.equal(r.error, null);
    assert.deepEqual(r.frames, EXPECTED);
  });

  test('the same stream split at every single byte position gives the same frames', () => {
    for (let i = 1; i < STREAM.length; i++) {
      const r = feedCuts(STREAM, [i]);
      assert.equal(r.error, null, `cut at ${i}`);
      assert.deepEqual(r.frames, EXPECTED, `cut at ${i}`);
    }
  });

  test('byte by byte, and in odd chunk sizes', () => {
    const all = Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(feedCuts(STREAM, all).frames, EXPECTED);
    for (const step of [2, 3, 7, 13]) {
      const cuts = all.filter((i) => i % step === 0);
      assert.deepEqual(feedCuts(STREAM, cuts).frames, EXPECTED, `step ${step}`);
    }
  });

  test('a frame within one chunk is a view into that chunk (no copy)', () => {
    const chunk = Buffer.from('7 syslog 3 abc\n', 'latin1');
    let seen: Buffer | null = null;
    const p = new RelpFrameParser(100, 'error', (_t, _c, buf) => { seen = buf; });
    p.push(chunk);
    assert.equal(seen, chunk);
  });

  test('midFrame tells whether a frame has begun', () => {
    const { p } = parser();
    assert.equal(p.midFrame, false);
    p.push(Buffer.from('1'));
    assert.equal(p.midFrame, true);
    p.push(Buffer.from(' close 0\n'));
    assert.equal(p.midFrame, false);
  });

  const MALFORMED: [string, RegExp][] = [
    ['x open 0\n', /expected a digit of TXNR/],
    [' 1 open 0\n', /expected a digit of TXNR/],
    ['1234567890 syslog 1 a\n', /TXNR has more than 9 digits/],
    ['1  syslog 1 a\n', /expected a letter of COMMAND/],
    ['1 sys-log 1 a\n', /expected a letter of COMMAND or a space/],
    ['1 ' + 'a'.repeat(33) + ' 0\n', /COMMAND is longer than 32 letters/],
    ['1 syslog x\n', /expected a digit of DATALEN/],
    ['1 syslog 1234567890 a\n', /DATALEN has more than 9 digits/],
    ['1 syslog 3abc\n', /expected a space after DATALEN 3/],
    ['1 syslog 3 abcd\n', /expected LF (after 3 bytes of DATA|at the end of the frame), got 'd'/],
    ['1 close 0 \n', /expected LF at the end of the frame, got 0x20/],
    ['1 close 0\r\n', /expected LF at the end of the frame, got 0x0d/],
    ['1 syslog 2000 ', /DATALEN 2000 is over the limit of 1024 bytes/],
  ];

  for (const [input, re] of MALFORMED) {
    test(`malformed: ${JSON.stringify(input)}`, () => {
      // The verdict must not depend on where the chunks were cut.
      for (let i = 0; i <= input.length; i++) {
        const r = feedCuts(input, i === 0 ? [] : [i]);
        assert.match(r.error ?? '', re, `cut at ${i}`);
        assert.match(r.error ?? '', /^malformed RELP frame at byte \d+ of the stream: /);
        assert.deepEqual(r.frames, []);
      }
    });
  }

  test('an error names the stream offset, and nothing after it is parsed', () => {
    const { p, frames } = parser();
    assert.equal(p.push(Buffer.from('1 close 0\n')), true);
    assert.equal(p.push(Buffer.from('2 cl@se 0\n3 close 0\n')), false);
    assert.equal(p.error, "malformed RELP frame at byte 14 of the stream: expected a letter of COMMAND or a space, got '@'");
    assert.equal(p.push(Buffer.from('4 close 0\n')), false);
    assert.deepEqual(frames.map((f) => f.txnr), [1]);
  });

  test('the largest allowed DATA passes; one byte more fails before anything is buffered', () => {
    const ok = feedCuts(`1 syslog 8 ${'x'.repeat(8)}\n`, [5], 8);
    assert.equal(ok.error, null);
    assert.equal(ok.frames[0]!.data, 'xxxxxxxx');
    const big = feedCuts('1 syslog 9 ', [], 8);
    assert.match(big.error ?? '', /DATALEN 9 is over the limit of 8 bytes/);
  });

  test('truncate mode keeps the first max bytes, reads past the rest, and goes on', () => {
    const input = `1 syslog 20 ${'a'.repeat(10)}${'b'.repeat(10)}\n2 syslog 2 ok\n`;
    for (let i = 0; i <= input.length; i++) {
      const r = feedCuts(input, i === 0 ? [] : [i], 10, 'truncate');
      assert.equal(r.error, null, `cut at ${i}`);
      assert.deepEqual(r.frames, [
        { txnr: 1, command: 'syslog', data: 'a'.repeat(10), truncated: true },
        { txnr: 2, command: 'syslog', data: 'ok', truncated: false },
      ], `cut at ${i}`);
    }
  });

  test('halt() stops delivery in the middle of a chunk', () => {
    const frames: number[] = [];
    const p = new RelpFrameParser(100, 'error', (t) => { frames.push(t); if (t === 2) p.halt(); });
    assert.equal(p.push(Buffer.from('1 close 0\n2 close 0\n3 close 0\n')), false);
    assert.deepEqual(frames, [1, 2]);
    assert.equal(p.error, null);
  });
});

describe('RELP frame encoder', () => {
  test('frames with and without data round-trip through the parser', () => {
    const w = new ByteWriter(16);
    writeFrame(w, 1, 'open', clientOffers());
    writeFrame(w, 2, 'syslog', Buffer.from('xx<13>hello\nworld yy'), 2, 17);
    writeFrame(w, 3, 'close', null);
    writeFrame(w, 4, 'rsp', '');
    const text = w.view().toString('latin1');
    assert.equal(text, `1 open 51 relp_version=0\nrelp_software=sluice\ncommands=syslog\n2 syslog 15 <13>hello\nworld\n3 close 0\n4 rsp 0\n`);
    const r = feedCuts(text, []);
    assert.equal(r.error, null);
    assert.deepEqual(r.frames.map((f) => [f.txnr, f.command, f.data]), [
      [1, 'open', 'relp_version=0\nrelp_software=sluice\ncommands=syslog'],
      [2, 'syslog', '<13>hello\nworld'],
      [3, 'close', ''],
      [4, 'rsp', ''],
    ]);
  });

  test('encodeFrame counts bytes, not characters', () => {
    assert.equal(encodeFrame(5, 'rsp', '200 OK').toString(), '5 rsp 6 200 OK\n');
    assert.equal(encodeFrame(0, 'serverclose').toString(), '0 serverclose 0\n');
    assert.equal(encodeFrame(9, 'syslog', 'é').toString(), '9 syslog 2 é\n');
  });

  test('txnr wraps from 999999999 to 1', () => {
    assert.equal(nextTxnr(1), 2);
    assert.equal(nextTxnr(MAX_TXNR - 1), MAX_TXNR);
    assert.equal(nextTxnr(MAX_TXNR), 1);
  });
});

describe('RELP rsp data and offers', () => {
  const rsp = (s: string) => parseRsp(Buffer.from(s), 0, Buffer.byteLength(s));

  test('rsp: 200 OK, 500 with a reason, the answer to open, the empty answer to close', () => {
    assert.deepEqual(rsp('200 OK'), { code: 200, text: 'OK', body: '' });
    assert.deepEqual(rsp('500 queue full'), { code: 500, text: 'queue full', body: '' });
    assert.deepEqual(rsp('200 OK\nrelp_version=0\ncommands=syslog'), { code: 200, text: 'OK', body: 'relp_version=0\ncommands=syslog' });
    assert.deepEqual(rsp(''), { code: 0, text: '', body: '' });
    assert.match(rsp('OK') as string, /3-digit code/);
    assert.match(rsp('2x0 OK') as string, /3-digit code/);
    assert.match(rsp('2000') as string, /not followed by a space/);
  });

  test('offers: librelp\'s format, several values, unknown names kept', () => {
    const o = parseOffers('relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog,eventlog\nfuture');
    assert.equal(offeredVersion(o), 0);
    assert.deepEqual(o.get('relp_software'), ['librelp', '1.11.0', 'http://librelp.adiscon.com']);
    assert.deepEqual(o.get('commands'), ['syslog', 'eventlog']);
    assert.deepEqual(o.get('future'), []);
    assert.equal(offeredVersion(parseOffers('relp_version=x')), null);
    assert.equal(offeredVersion(parseOffers('commands=syslog')), null);
    assert.equal(formatOffers([['relp_version', ['0']], ['commands', ['syslog']]]), 'relp_version=0\ncommands=syslog');
  });

  test('rsp text is one printable line of at most 80 characters', () => {
    assert.equal(rspText('a\nb\r\tc'), 'a b c');
    assert.equal(rspText('x'.repeat(100)).length, 80);
  });
});
