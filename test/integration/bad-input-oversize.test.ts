// Octet frames that claim gigabytes: counted, memory bounded, other peers served, truncate/reject as documented.

import assert from 'node:assert/strict';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import {
  cleanup, connect, counterReaches, dropped, errors, expectAll, fileLines, goodLines, HEADER, msg, sendAndClose,
  startSyslog, udpSend, write, type Harness,
} from './bad-input-common.js';

afterEach(cleanup);

const T = { timeout: 50_000 };
const MAX = 4096;
// More than the RSS limit, so a framer that buffered the claimed frame could not pass.
const FILLER_BYTES = 128 * 1024 * 1024;
const RSS_LIMIT = 100 * 1024 * 1024;

/**
 * Writes `claim`, then streams 128 MiB of 'A' (no LF) honouring back-pressure; after the first
 * MiB the claim must be counted, and a second peer sends 200 lines meanwhile. Returns the peak RSS growth.
 */
async function streamClaim(h: Harness, s: net.Socket, claim: string, counted: () => Promise<number>): Promise<{ rssGrowth: number; other: Promise<void> }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  try {
    await write(s, claim);
    const chunk = Buffer.alloc(64 * 1024, 'A');
    let other: Promise<void> | null = null;
    for (let sent = 0; sent < FILLER_BYTES; sent += chunk.length) {
      await write(s, chunk);
      peak = Math.max(peak, process.memoryUsage().rss);
      // After 1 MiB (more than max_message_bytes, so truncate has its prefix): counted, and another peer sends meanwhile.
      if (sent === 16 * chunk.length) {
        await counterReaches(h, 'the claim counted', counted, 1);
        other = connect(h.tcp).then((o) => sendAndClose(o, goodLines('other', 200)));
      }
    }
    return { rssGrowth: peak - base, other: other! };
  } finally {
    clearInterval(sample);
  }
}

/**
 * One peer sends 10 good lines, then a frame claiming 2 GB and 128 MiB of it, while another
 * peer sends 200 lines; both peers' good lines arrive. Returns the RSS growth seen meanwhile.
 */
async function claimTwoGigabytes(oversize: 'reject' | 'truncate') {
  const h = await startSyslog(`claim-${oversize}`, { max_message_bytes: MAX, oversize });
  const s = await connect(h.tcp);
  await write(s, goodLines('before', 10));
  const { rssGrowth, other } = await streamClaim(h, s, '2147483648 ' + msg('huge '), () => errors(h, 'oversize'));
  await other;
  await expectAll(h.out, 'other', 200);
  await sendAndClose(s);
  await expectAll(h.out, 'before', 10);
  return { h, rssGrowth };
}

describe('a frame that claims 2 GB', () => {
  it('oversize: reject — counted once, dropped, memory bounded while 128 MiB of it streams, another peer served meanwhile', T, async () => {
    const { h, rssGrowth } = await claimTwoGigabytes('reject');
    assert.ok(rssGrowth < RSS_LIMIT, `expected RSS growth under ${RSS_LIMIT >> 20} MiB while streaming 128 MiB into the claimed frame, was ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(await errors(h, 'oversize'), 1, 'expected one oversize error for the one frame');
    assert.equal(await dropped(h, 'oversize'), 1, 'expected events_dropped{reason="oversize"} = 1');
    assert.deepEqual(fileLines(h.out).filter((l) => l.startsWith('huge') || l.startsWith('AAAA')), [], 'expected nothing of a rejected frame in the file');
    // Served afterwards too.
    const after = await connect(h.tcp);
    await sendAndClose(after, goodLines('after', 10));
    await expectAll(h.out, 'after', 10);
  });

  it('oversize: truncate — the first max_message_bytes are written as one message, the rest skipped, memory bounded', T, async () => {
    const { h, rssGrowth } = await claimTwoGigabytes('truncate');
    assert.ok(rssGrowth < RSS_LIMIT, `expected RSS growth under ${RSS_LIMIT >> 20} MiB, was ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(await errors(h, 'oversize'), 1, 'expected one oversize error');
    assert.equal(await dropped(h, 'truncated'), 1, 'expected events_dropped{reason="truncated"} = 1');
    const want = ('huge ' + 'A'.repeat(MAX)).slice(0, MAX - HEADER.length);
    const huge = fileLines(h.out).filter((l) => l.startsWith('huge') || l.startsWith('AAAA'));
    assert.equal(huge.length, 1, 'expected exactly one (truncated) message from the claimed frame');
    assert.equal(huge[0], want, 'expected MSG = the frame\'s first max_message_bytes after the header');
  });

  it('an 11-digit count is bad_octet_count, read as a line, cut as oversize; lines after its LF on the same connection arrive', T, async () => {
    const h = await startSyslog('claim-11-digits', { max_message_bytes: MAX, oversize: 'reject' });
    const s = await connect(h.tcp);
    await write(s, goodLines('before', 10));
    const { rssGrowth, other } = await streamClaim(h, s, '99999999999 ' + msg('huge '), () => errors(h, 'bad_octet_count'));
    await other;
    await sendAndClose(s, '\n', goodLines('after', 10));
    await expectAll(h.out, 'before', 10);
    await expectAll(h.out, 'after', 10);
    await expectAll(h.out, 'other', 200);
    assert.ok(rssGrowth < RSS_LIMIT, `expected RSS growth under ${RSS_LIMIT >> 20} MiB, was ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(await errors(h, 'bad_octet_count'), 1, 'expected one bad_octet_count for the 11-digit count');
    assert.equal(await errors(h, 'oversize'), 1, 'expected the 128 MiB line it became to count oversize once');
    assert.deepEqual(fileLines(h.out).filter((l) => l.includes('AAAA')), [], 'expected the rejected line not in the file');
  });
});

describe('an oversize octet frame that does end', () => {
  for (const policy of ['truncate', 'reject'] as const) {
    it(`oversize: ${policy} — frames after it on the same connection and oversize datagrams are handled as documented`, T, async () => {
      const h = await startSyslog(`octet-${policy}`, { max_message_bytes: MAX, oversize: policy });
      const s = await connect(h.tcp);
      const octet = (body: string) => `${Buffer.byteLength(body)} ${body}`;
      const big = msg('big ' + 'B'.repeat(100_000));
      let before = '';
      let after = '';
      for (let i = 0; i < 10; i++) before += octet(msg(`before seq=${i}`));
      for (let i = 0; i < 10; i++) after += octet(msg(`after seq=${i}`));
      await sendAndClose(s, before, octet(big), after);
      await udpSend(h.udp, [msg('dgram ' + 'D'.repeat(10_000)), msg('udp seq=0')]);
      await expectAll(h.out, 'before', 10);
      await expectAll(h.out, 'after', 10);
      await expectAll(h.out, 'udp', 1);
      assert.equal(await errors(h, 'oversize'), 2, 'expected oversize counted for the TCP frame and the datagram');
      const kept = fileLines(h.out).filter((l) => l.startsWith('big') || l.startsWith('dgram'));
      if (policy === 'truncate') {
        assert.equal(await dropped(h, 'truncated'), 2, 'expected events_dropped{reason="truncated"} = 2');
        assert.deepEqual(kept.sort(), [big.slice(HEADER.length, MAX), msg('dgram ' + 'D'.repeat(10_000)).slice(HEADER.length, MAX)].sort(),
          'expected each cut to its first max_message_bytes');
      } else {
        assert.equal(await dropped(h, 'oversize'), 2, 'expected events_dropped{reason="oversize"} = 2');
        assert.deepEqual(kept, [], 'expected neither rejected message in the file');
      }
    });
  }
});
