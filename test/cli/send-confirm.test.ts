// `sluice send --confirm-every`: a segment is confirmed by the receiver's close, resent otherwise.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import { CLOSE_CONFIRMATION } from '../../src/sources/syslog/close-confirmation.js';

const servers: net.Server[] = [];
after(() => { for (const s of servers) s.close(); });

/** A receiver that resets its first `resets` connections after some bytes, then reads properly. */
async function flakyReceiver(resets: number): Promise<{ port: number; lines: string[]; connections: () => number }> {
  const lines: string[] = [];
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const mine = ++n;
    let buf = '';
    sock.on('data', (d) => {
      if (mine <= resets) {
        // Take part of what arrived, then "crash": what was read before is kept,
        // as a receiver that had queued it would.
        buf += d.toString();
        const done = buf.split('\n').slice(0, 3);
        lines.push(...done);
        sock.resetAndDestroy();
        return;
      }
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
    });
    // Like sluice: confirm after taking everything, then close.
    sock.on('end', () => { if (buf) lines.push(buf); sock.end(CLOSE_CONFIRMATION); });
    sock.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, lines, connections: () => n };
}

const seqs = (lines: string[]) => lines.map((l) => /seq=(\d+)/.exec(l)?.[1]).filter((s): s is string => s !== undefined).map(Number);

test('every message arrives at least once when connections break before confirming', async () => {
  const rx = await flakyReceiver(2);
  const report = await send(`tcp://127.0.0.1:${rx.port}`, { count: 3000, rate: 0, size: 0, format: 'rfc5424', connections: 1, confirmEvery: 1000, giveUpMs: 20_000 });
  assert.equal(report.sent, 3000);
  assert.equal(report.resent, 2000, 'two broken segments of 1000 were sent again');
  const got = seqs(rx.lines);
  const unique = new Set(got);
  for (let i = 0; i < 3000; i++) assert.ok(unique.has(i), `seq ${i} arrived`);
  assert.ok(got.length > unique.size, 'duplicates from the broken attempts are visible, not hidden');
  assert.equal(rx.connections(), 5, '3 segments + 2 retries');
});

test('a receiver that never comes back makes the run fail after --give-up', async () => {
  const rx = await flakyReceiver(1_000_000);
  await assert.rejects(
    send(`tcp://127.0.0.1:${rx.port}`, { count: 100, rate: 0, size: 0, format: 'rfc5424', connections: 1, confirmEvery: 50, giveUpMs: 500 }),
    /SLUICE_ERR_SEND_BROKEN|broke/,
  );
});

test('udp has nothing to confirm with', async () => {
  await assert.rejects(send('udp://127.0.0.1:9', { count: 1, rate: 0, size: 0, format: 'rfc5424', connections: 1, confirmEvery: 1 }), /stream transport/);
});

test('a receiver that closes without the confirmation (a crash looks like that) does not confirm', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('data', () => {});
    sock.on('end', () => sock.end()); // a FIN, as a killed process's kernel sends
    sock.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await assert.rejects(
    send(`tcp://127.0.0.1:${port}`, { count: 10, rate: 0, size: 0, format: 'rfc5424', connections: 1, confirmEvery: 10, giveUpMs: 300 }),
    /without confirming/,
  );
});
