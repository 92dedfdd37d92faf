// Both UDP readers (the recvmmsg addon and node:dgram) deliver the same datagrams the same way.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { loadUdpAddon } from '../../src/sources/syslog/udp-addon.js';
import { havePeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import {
  cleanup, counterReaches, dropped, errors, expectAll, fileLines, HEADER, logs, msg, startSyslog, track, udpSend,
} from '../integration/bad-input-common.js';

afterEach(cleanup);

const T = { timeout: 60_000 };
const addon = loadUdpAddon();

/** The addon is built by `npm install`; without it its tests skip (and fail under SLUICE_REQUIRE_ALL=1). */
function readerAvailable(t: TestContext, reader: string): boolean {
  return reader === 'dgram' || havePeer(t, 'the recvmmsg addon', addon.addon, `the recvmmsg addon is not built: ${addon.error} (npm install builds it)`);
}

/** Sends datagrams paced (a pause every 200), so the kernel's socket buffer never overflows. */
async function sendPaced(port: number, host: string, datagrams: Buffer[], localAddress?: string): Promise<void> {
  const s = track(dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4'));
  if (localAddress) await new Promise<void>((r) => s.bind(0, localAddress, () => r()));
  for (let i = 0; i < datagrams.length; i++) {
    await new Promise<void>((resolve, reject) => s.send(datagrams[i]!, port, host, (e) => (e ? reject(e) : resolve())));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));
  }
}

function lines(tag: string, n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(msg(`${tag} seq=${i}`)));
}

for (const reader of ['recvmmsg', 'dgram'] as const) {
  describe(`udp_reader: ${reader}`, () => {
    it('delivers every datagram of a bounded burst from two senders once, each with its own source address', T, async (t) => {
      if (!readerAvailable(t, reader)) return;
      const h = await startSyslog(`udp-${reader}-burst`, { listen: ['udp://127.0.0.1:0'], udp_reader: reader }, (dir) => ({
        destinations: { out: { type: 'file', path: `${dir}/out.log`, template: '${SOURCEIP} ${MSG}\n' } },
      }));
      const N = 4000;
      await Promise.all([
        sendPaced(h.udp.port, h.udp.host, lines('a', N), '127.0.0.1'),
        sendPaced(h.udp.port, h.udp.host, lines('b', N), '127.0.0.2'),
      ]);
      await waitFor(() => fileLines(h.out).length >= 2 * N, `${2 * N} lines`, 20_000);
      const got = fileLines(h.out);
      assert.equal(got.length, 2 * N, 'each datagram written exactly once');
      for (const [tag, ip] of [['a', '127.0.0.1'], ['b', '127.0.0.2']] as const) {
        const seqs = new Set(got.filter((l) => l.startsWith(`${ip} ${tag} seq=`)).map((l) => Number(l.split('seq=')[1])));
        assert.equal(seqs.size, N, `all of ${tag} attributed to ${ip}`);
      }
    });

    it('counts oversize datagrams (up to 60,000 bytes) and truncates or rejects them as configured; the others pass', T, async (t) => {
      if (!readerAvailable(t, reader)) return;
      const h = await startSyslog(`udp-${reader}-oversize`, { listen: ['udp://127.0.0.1:0'], udp_reader: reader, max_message_bytes: 1024 });
      await udpSend(h.udp, [msg('small seq=0'), msg('big ' + 'x'.repeat(5000)), msg('huge ' + 'y'.repeat(60_000)), msg('small seq=1')]);
      await expectAll(h.out, 'small', 2);
      await counterReaches(h, 'truncated datagrams', () => dropped(h, 'truncated'), 2);
      assert.equal(await errors(h, 'oversize'), 2);
      const cut = fileLines(h.out).filter((l) => l.startsWith('big ') || l.startsWith('huge '));
      assert.equal(cut.length, 2);
      for (const l of cut) assert.equal(l.length, 1024 - HEADER.length, 'cut at max_message_bytes');

      const r = await startSyslog(`udp-${reader}-reject`, { listen: ['udp://127.0.0.1:0'], udp_reader: reader, max_message_bytes: 1024, oversize: 'reject' });
      await udpSend(r.udp, [msg('big ' + 'x'.repeat(5000)), msg('small seq=0')]);
      await expectAll(r.out, 'small', 1);
      await counterReaches(r, 'rejected datagrams', () => dropped(r, 'oversize'), 1);
      assert.equal(fileLines(r.out).length, 1);
    });

    it('counts garbage (not syslog, invalid UTF-8, empty) and keeps going', T, async (t) => {
      if (!readerAvailable(t, reader)) return;
      const h = await startSyslog(`udp-${reader}-garbage`, { listen: ['udp://127.0.0.1:0'], udp_reader: reader, format: 'rfc5424' });
      await udpSend(h.udp, [
        Buffer.from('not syslog at all'),
        Buffer.concat([Buffer.from(HEADER + 'bad utf8 '), Buffer.from([0xc3, 0x28, 0xff])]),
        Buffer.alloc(0),
        Buffer.from('\n\r\0'),
        Buffer.from(msg('good seq=0')),
      ]);
      await expectAll(h.out, 'good', 1);
      // A character split across two datagrams sent together (so likely in one batch, which is
      // then valid UTF-8 as a whole): invalid each on its own.
      await udpSend(h.udp, [
        Buffer.concat([Buffer.from(HEADER + 'split '), Buffer.from([0xc3])]),
        Buffer.from([0xa9]),
        Buffer.from(msg('valid \u00e9\u4e2d')),
        Buffer.from(msg('good seq=1')),
      ]);
      await expectAll(h.out, 'good', 2);
      await counterReaches(h, 'parse errors', () => errors(h, 'parse_error'), 2);
      assert.equal(await errors(h, 'parse_error'), 2, 'the text and the lone continuation byte');
      assert.equal(await errors(h, 'invalid_utf8'), 3, 'the bad bytes and both halves of the split character');
      const out = fileLines(h.out);
      assert.ok(out.includes('not syslog at all'), 'an unparsed datagram is kept whole as MSG');
      assert.ok(out.includes(Buffer.from('valid \u00e9\u4e2d').toString('latin1')), 'valid multi-byte text passes unflagged');
      assert.equal(out.length, 7, 'empty datagrams make no event');
    });

    it('listens on IPv6 (::1) and names the sender', T, async (t) => {
      if (!readerAvailable(t, reader)) return;
      const h = await startSyslog(`udp-${reader}-v6`, { listen: ['udp://[::1]:0'], udp_reader: reader }, (dir) => ({
        destinations: { out: { type: 'file', path: `${dir}/out.log`, template: '${SOURCEIP} ${MSG}\n' } },
      }));
      await sendPaced(h.udp.port, '::1', lines('v6', 300));
      await waitFor(() => fileLines(h.out).length >= 300, '300 lines', 15_000);
      assert.equal(fileLines(h.out).filter((l) => l.startsWith('::1 v6 seq=')).length, 300);
    });
  });
}

it('udp_reader: auto reads with node:dgram when the listen host is a name to resolve, and says so', T, async () => {
  logs.length = 0;
  const h = await startSyslog('udp-auto-name', { listen: ['udp://localhost:0'] });
  await udpSend({ host: '127.0.0.1', port: h.udp.port }, [msg('named seq=0')]);
  await expectAll(h.out, 'named', 1);
  // Without the addon that is the reason given instead.
  const why = addon.addon !== null ? 'localhost is a name to resolve' : 'the recvmmsg addon is not built';
  assert.ok(logs.some((l) => l.includes('UDP reader uses node:dgram') && l.includes(why)), `the fallback is logged with why (${why})`);
});
