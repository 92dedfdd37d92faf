// Bad input on a live pipeline (garbage, overlong lines, invalid UTF-8, slow and cut senders): counted, never fatal.

import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { spawn } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { REPO, SLUICE_BIN } from '../helpers/daemon.js';
import { sleep, waitFor } from '../helpers/wait.js';
import {
  cleanup, connect, counterReaches, dropped, errors, expectAll, fileLines, goodLines, HEADER, logs, msg,
  sendAndClose, startSyslog, udpSend, write,
} from './bad-input-common.js';
import { prng } from '../helpers/prng.js';

afterEach(cleanup);

/** Every case is bounded: a hang fails the case instead of the file. */
const T = { timeout: 40_000 };

/** Random bytes with NULs, 0xff and lone CRs, no frame start that reads as an octet count, no LF except `lfs` inside. */
function garbage(rnd: () => number, n: number, lfs: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    let c = Math.floor(rnd() * 256);
    if (c === 0x0a) c = 0xff;
    b[i] = c;
  }
  for (let i = 0; i < n; i += 17) b[i] = [0x00, 0xff, 0x0d, 0xfe, 0xc0][(i / 17) % 5]!;
  for (let k = 1; k <= lfs; k++) b[Math.floor((n * k) / (lfs + 1))] = 0x0a;
  // A frame starts after LF (CR, NUL and LF skipped there): make sure it does not start with 1-9.
  b[0] = 0xff;
  for (let i = 0; i < n - 1; i++) {
    if (b[i] !== 0x0a) continue;
    let j = i + 1;
    while (j < n && (b[j] === 0x0a || b[j] === 0x0d || b[j] === 0x00)) j++;
    if (j < n && b[j]! >= 0x31 && b[j]! <= 0x39) b[j] = 0xff;
  }
  return b;
}

describe('garbage bytes', () => {
  it('random binary on TCP and UDP is counted once per interval in the log; valid lines before it and after the next LF arrive; other peers are served', T, async () => {
    const h = await startSyslog('garbage');
    const logStart = logs.length;
    const rnd = prng(0x5eed);
    const junk = garbage(rnd, 8192, 3);
    assert.ok(junk.includes(0) && junk.includes(0xff) && junk.includes(0x0d), 'expected the garbage to hold NUL, 0xff and CR bytes');

    const bad = await connect(h.tcp);
    const other = await connect(h.tcp);
    await write(bad, goodLines('before', 20));
    await write(bad, junk);
    // A well-behaved peer sends while the bad one is mid-garbage (its last garbage line is still open).
    const otherDone = sendAndClose(other, goodLines('other', 300));
    const datagrams = Array.from({ length: 30 }, (_, i) => garbage(prng(i + 1), 200 + i * 37, 0));
    datagrams.push(Buffer.from([0x00, 0xff, 0x0d, 0xfe, 0x0d]), Buffer.from([0xff]));
    await udpSend(h.udp, datagrams);
    await sendAndClose(bad, '\n', goodLines('after', 20));
    await otherDone;
    await udpSend(h.udp, goodLines('udp', 20).split('\n').filter(Boolean));

    await expectAll(h.out, 'before', 20);
    await expectAll(h.out, 'after', 20);
    await expectAll(h.out, 'other', 300);
    await expectAll(h.out, 'udp', 20);
    // 4 garbage lines on TCP and 32 datagrams, all invalid UTF-8.
    const n = await counterReaches(h, 'sluice_errors_total{error_type="invalid_utf8"}', () => errors(h, 'invalid_utf8'), 36);
    assert.equal(n, 36, 'expected each of the 4 TCP garbage lines and 32 garbage datagrams to count invalid_utf8 once');
    const logged = logs.slice(logStart).filter((l) => l.includes('error_type=invalid_utf8'));
    assert.equal(logged.length, 1, `expected invalid_utf8 to be logged once per interval, not per message; got:\n${logged.join('\n')}`);
    // The garbage is kept (as received), not silently discarded.
    const lines = fileLines(h.out);
    assert.ok(lines.includes(junk.subarray(junk.lastIndexOf(0x0a) + 1).toString('latin1')), 'expected the last garbage line stored byte for byte');
  });
});

describe('overlong newline-framed line', () => {
  for (const policy of ['truncate', 'reject'] as const) {
    it(`oversize: ${policy} — counted, ${policy === 'truncate' ? 'the first max_message_bytes kept' : 'dropped'}; lines before and after on the same connection arrive`, T, async () => {
      const max = 1024;
      const h = await startSyslog(`overlong-${policy}`, { max_message_bytes: max, oversize: policy });
      const shortLong = msg('long-a ' + 'x'.repeat(5000));
      const hugeLong = msg('long-b ' + 'y'.repeat(300_000));
      const s = await connect(h.tcp);
      const other = await connect(h.tcp);
      await write(s, goodLines('before', 10));
      await write(s, shortLong + '\n');
      await write(s, goodLines('middle', 10));
      const otherDone = sendAndClose(other, goodLines('other', 200));
      await write(s, hugeLong + '\n');
      await sendAndClose(s, goodLines('after', 10));
      await otherDone;

      await expectAll(h.out, 'before', 10);
      await expectAll(h.out, 'middle', 10);
      await expectAll(h.out, 'after', 10);
      await expectAll(h.out, 'other', 200);
      assert.equal(await errors(h, 'oversize'), 2, 'expected one oversize error per overlong line');
      const lines = fileLines(h.out).filter((l) => l.startsWith('long-'));
      if (policy === 'truncate') {
        assert.equal(await dropped(h, 'truncated'), 2, 'expected events_dropped{reason="truncated"} to count both cut lines');
        assert.deepEqual(lines, [shortLong.slice(HEADER.length, max), hugeLong.slice(HEADER.length, max)],
          'expected each overlong line cut to its first max_message_bytes (MSG = those bytes after the header)');
      } else {
        assert.equal(await dropped(h, 'oversize'), 2, 'expected events_dropped{reason="oversize"} to count both rejected lines');
        assert.deepEqual(lines, [], 'expected no part of a rejected line in the file');
      }
    });
  }
});

describe('truncation and UTF-8', () => {
  it('a line cut inside a multi-byte character is either cut at a character boundary or counted invalid_utf8', T, async () => {
    const max = 1024;
    const h = await startSyslog('cut-utf8', { max_message_bytes: max, oversize: 'truncate' });
    // Pad so that max_message_bytes ends on the first byte of a 2-byte "é".
    const pad = (max - Buffer.byteLength(HEADER + 'cut ')) % 2 === 1 ? '' : 'x';
    const line = msg('cut ' + pad + 'é'.repeat(2000));
    await sendAndClose(await connect(h.tcp), line + '\n', goodLines('ok', 3));
    await expectAll(h.out, 'ok', 3);
    const stored = fileLines(h.out).find((l) => l.startsWith('cut '));
    assert.ok(stored !== undefined, 'expected the truncated line in the file');
    const bytes = Buffer.from(stored, 'latin1');
    if (!isUtf8(bytes)) {
      assert.equal(await errors(h, 'invalid_utf8'), 1, `expected a truncated message that ends in a partial character (…${bytes.subarray(-3).toString('hex')}) to count invalid_utf8`);
    }
  });
});

describe('parse errors and resets', () => {
  it('format: rfc5424 — a non-5424 message counts parse_error and is kept whole as MSG; valid ones are parsed', T, async () => {
    const h = await startSyslog('parse-error', { format: 'rfc5424' });
    const legacy = '<13>May  1 12:00:00 web-01 app[42]: legacy seq=0';
    await sendAndClose(await connect(h.tcp), goodLines('ok', 5), legacy + '\n', 'no pri at all\n', goodLines('ok', 5, 5));
    await udpSend(h.udp, [legacy]);
    await expectAll(h.out, 'ok', 10);
    await waitFor(() => fileLines(h.out).filter((l) => l === legacy).length >= 2, 'the legacy message kept whole (tcp and udp)');
    assert.ok(fileLines(h.out).includes('no pri at all'), 'expected a message without PRI kept whole');
    assert.equal(await errors(h, 'parse_error'), 3, 'expected parse_error counted for the 2 legacy messages and the one without PRI, not for valid ones');
  });

  it('a peer that resets mid-line: connection_reset counted; the lines it sent before are kept; others served', T, async () => {
    const h = await startSyslog('reset');
    const s = await connect(h.tcp);
    await write(s, goodLines('before', 20));
    await expectAll(h.out, 'before', 20);
    await new Promise<void>((resolve, reject) => s.write(HEADER + 'half a li', (e) => (e ? reject(e) : resolve())));
    // (Node sends a FIN rather than a RST when resetAndDestroy() follows a write too closely.)
    await sleep(100);
    const gone = new Promise<void>((r) => s.once('close', () => r()));
    s.resetAndDestroy();
    await gone;
    await counterReaches(h, 'connection_reset', () => errors(h, 'connection_reset'), 1);
    assert.equal(await errors(h, 'connection_reset'), 1, 'expected one connection_reset');
    await sendAndClose(await connect(h.tcp), goodLines('after', 20));
    await expectAll(h.out, 'after', 20);
    await waitFor(async () => (await h.p.metrics.value('sluice_connections_open', { component: 'net' })) === 0, 'no connection left open');
  });
});

describe('invalid UTF-8', () => {
  const bad = [
    Buffer.from('bad1 \xc3\x28 end', 'latin1'), // 2-byte lead followed by ASCII
    Buffer.from('bad2 \xc0\xaf end', 'latin1'), // overlong "/"
    Buffer.from('bad3 \x80\xbf end', 'latin1'), // lone continuation bytes
    Buffer.from('bad4 \xed\xa0\x80 end', 'latin1'), // UTF-16 surrogate
    Buffer.from('bad5 end \xe2\x82', 'latin1'), // cut 3-byte sequence at the end
  ];
  const frame = (b: Buffer) => Buffer.concat([Buffer.from(HEADER), b]);

  it('TCP and UDP: stored byte for byte, invalid_utf8 counted per message, valid peers unaffected', T, async () => {
    const h = await startSyslog('utf8');
    const s = await connect(h.tcp);
    await sendAndClose(s, goodLines('tcp-ok', 5), ...bad.flatMap((b) => [frame(b), '\n']), goodLines('tcp-ok', 5, 5));
    await udpSend(h.udp, bad.map(frame));
    await udpSend(h.udp, goodLines('udp-ok', 5).split('\n').filter(Boolean));
    await expectAll(h.out, 'tcp-ok', 10);
    await expectAll(h.out, 'udp-ok', 5);
    for (const b of bad) {
      const want = b.toString('latin1');
      await waitFor(() => fileLines(h.out).filter((l) => l === want).length >= 2, `"${b.toString('hex')}" stored twice (tcp and udp)`);
      assert.equal(fileLines(h.out).filter((l) => l === want).length, 2, `expected the bytes ${b.toString('hex')} exactly as received, once per transport`);
    }
    assert.equal(await errors(h, 'invalid_utf8'), 10, 'expected invalid_utf8 counted once per bad message (5 TCP + 5 UDP) and never for valid ones');
  });

  it('a bad byte in the first of three TCP chunks of one line is still detected', T, async () => {
    const h = await startSyslog('utf8-chunks');
    const s = await connect(h.tcp);
    // Three writes with pauses between them so the line reaches sluice in three reads.
    await write(s, HEADER + 'split ');
    await write(s, Buffer.from('\xc3\x28', 'latin1'));
    await sleep(150);
    await write(s, 'middle');
    await sleep(150);
    await write(s, ' end\n');
    await sendAndClose(s, goodLines('ok', 3));
    await expectAll(h.out, 'ok', 3);
    assert.ok(fileLines(h.out).includes('split \xc3\x28middle end'), 'expected the line stored byte for byte');
    assert.equal(await errors(h, 'invalid_utf8'), 1, 'expected invalid_utf8 counted for a line whose bad bytes came two reads before its LF');
  });

  it('`sluice parse --framing none` prints JSON with U+FFFD and exits 0', T, async () => {
    const input = frame(Buffer.from('x \xc3\x28 \xc0\xaf \x80 end', 'latin1'));
    const child = spawn(process.execPath, [SLUICE_BIN, 'parse', '--framing', 'none'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `expected exit 0; stderr: ${err}`);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 1, `expected one JSON event for --framing none, got:\n${out}`);
    const ev = JSON.parse(lines[0]!) as { message: string; appname: string };
    assert.equal(ev.appname, 'app', 'expected the header parsed despite the bad bytes in MSG');
    assert.ok(ev.message.includes('\uFFFD'), `expected U+FFFD in the message, got ${JSON.stringify(ev.message)}`);
    assert.equal(ev.message, Buffer.from('x \xc3\x28 \xc0\xaf \x80 end', 'latin1').toString('utf8'), 'expected each invalid sequence replaced by U+FFFD and the rest intact');
  });
});

describe('slow and cut senders', () => {
  it('a byte-at-a-time sender is framed correctly while a fast peer is served', T, async () => {
    const h = await startSyslog('slow');
    const slowLf = await connect(h.tcp);
    const slowOctet = await connect(h.tcp);
    const fast = await connect(h.tcp);
    const lf = msg('slow-lf seq=0') + '\n';
    const body = msg('slow-octet seq=0');
    const octet = `${Buffer.byteLength(body)} ${body}`;
    const dribble = async (s: typeof slowLf, text: string) => {
      for (let i = 0; i < text.length; i++) { await write(s, text[i]!); await sleep(3); }
    };
    const fastDone = sendAndClose(fast, goodLines('fast', 500));
    await Promise.all([dribble(slowLf, lf), dribble(slowOctet, octet)]);
    await Promise.all([sendAndClose(slowLf), sendAndClose(slowOctet), fastDone]);
    await expectAll(h.out, 'fast', 500);
    await expectAll(h.out, 'slow-lf', 1);
    await expectAll(h.out, 'slow-octet', 1);
    assert.equal(await errors(h, 'bad_octet_count'), 0, 'expected no framing error for a slowly sent octet count');
    assert.equal(await errors(h, 'incomplete_frame'), 0, 'expected no incomplete_frame for complete frames');
  });

  it('a half-sent octet frame then close: incomplete_frame counted, the complete frames before it arrive', T, async () => {
    const h = await startSyslog('cut');
    const s = await connect(h.tcp);
    let data = '';
    for (let i = 0; i < 5; i++) {
      const body = msg(`octet seq=${i}`);
      data += `${Buffer.byteLength(body)} ${body}`;
    }
    const partial = msg('partial seq=5 and then the sender died');
    data += `${Buffer.byteLength(partial) + 100} ${partial}`;
    await sendAndClose(s, data);
    await expectAll(h.out, 'octet', 5);
    await counterReaches(h, 'incomplete_frame', () => errors(h, 'incomplete_frame'), 1);
    assert.equal(await errors(h, 'incomplete_frame'), 1, 'expected exactly one incomplete_frame for the cut frame');
    // Later connections are served as before.
    const next = await connect(h.tcp);
    await sendAndClose(next, goodLines('next', 10));
    await expectAll(h.out, 'next', 10);
  });

  it('a half-sent octet count (digits, no space) then close is counted as incomplete_frame', T, async () => {
    const h = await startSyslog('cut-count');
    const s = await connect(h.tcp);
    const body = msg('octet seq=0');
    await sendAndClose(s, `${Buffer.byteLength(body)} ${body}`, '12');
    await expectAll(h.out, 'octet', 1);
    await counterReaches(h, 'incomplete_frame', () => errors(h, 'incomplete_frame'), 1);
    assert.equal(await errors(h, 'incomplete_frame'), 1, 'expected one incomplete_frame for the cut count');
  });
});
