// Overload: senders offer ~10x what the destination takes; memory stays bounded, TCP is slowed, UDP excess is counted.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, test } from 'node:test';
import { send } from '../../src/cli/send/index.js';
import { metricFromText, spawnSluice, writeConfig, type SluiceProcess, freePort } from '../helpers/daemon.js';
import { sleep, tempDir, waitFor } from '../helpers/wait.js';

const RSS_LIMIT_MB = 200;
let sluice: SluiceProcess | null = null;
const closers: (() => void)[] = [];
after(async () => { for (const c of closers) c(); await sluice?.stop(); });


/** A receiver that reads one chunk per 10 ms until told to go fast; collects seq=N run=ID. */
function slowReceiver(port: number) {
  const seqs = new Map<string, Set<number>>();
  let fast = false;
  let rest = '';
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      rest += d.toString('latin1');
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        const m = /seq=(\d+) run=(\w+)/.exec(l);
        if (m) { let set = seqs.get(m[2]!); if (!set) seqs.set(m[2]!, (set = new Set())); set.add(Number(m[1])); }
      }
      if (!fast) { s.pause(); setTimeout(() => s.resume(), 10); }
    });
  });
  closers.push(() => { for (const s of sockets) s.destroy(); server.close(); });
  return {
    listen: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    goFast: () => { fast = true; for (const s of sockets) s.resume(); },
    seqs,
  };
}

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

test('10x overload: RSS under 200 MB, TCP back-pressured without loss, UDP excess dropped and counted', { timeout: 180_000 }, async (t) => {
  const dir = tempDir('overload');
  const [tcpPort, udpPort, outPort, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const rx = slowReceiver(outPort);
  await rx.listen();
  const cfg = writeConfig(dir, `
api: { listen: "http://127.0.0.1:${apiPort}" }
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:${tcpPort}", "udp://127.0.0.1:${udpPort}"] }
destinations:
  siem: { type: syslog, url: "tcp://127.0.0.1:${outPort}", framing: lf }
log:
  - { from: net, to: siem }
`);
  sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir });
  // UDP excess is dropped where it waits: by the UDP reader once its bounded backlog is full, or by a full buffer.
  const drops = async () => {
    const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    return {
      reader: metricFromText(text, 'sluice_events_dropped_total', { component: 'net', reason: 'reader_behind' }),
      buffer: metricFromText(text, 'sluice_events_dropped_total', { component: 'siem', reason: 'buffer_full' }),
    };
  };

  // The destination takes ~2 MB/s (~8,000 msg/s); each sender offers ~10x that for 8 s.
  const DURATION_MS = 8_000;
  const [tcp, udp] = await Promise.all([
    send(`tcp://127.0.0.1:${tcpPort}`, { count: 0, rate: 80_000, size: 256, format: 'rfc5424', connections: 1, durationMs: DURATION_MS, runId: 'tcpload' }),
    send(`udp://127.0.0.1:${udpPort}`, { count: 0, rate: 80_000, size: 256, format: 'rfc5424', connections: 1, durationMs: DURATION_MS, runId: 'udpload' }),
  ]);
  const peak = vmHwmMb(sluice.pid);
  const dropped = await drops();
  t.diagnostic(`offered over ${DURATION_MS / 1000} s: tcp accepted ${tcp.sent} of ${80 * DURATION_MS}, udp sent ${udp.sent}; udp dropped by sluice ${dropped.reader} (reader) + ${dropped.buffer} (buffer); sluice peak RSS ${peak.toFixed(0)} MB`);

  assert.ok(peak < RSS_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB stays under ${RSS_LIMIT_MB} MB`);
  assert.ok(tcp.sent < 80 * DURATION_MS * 0.6, `the TCP sender was slowed by back-pressure (${tcp.sent} of ${80 * DURATION_MS} offered)`);
  assert.ok(dropped.reader + dropped.buffer > 0, 'UDP excess is dropped and counted');

  // Let the destination catch up: every TCP message arrives; UDP arrivals + drops account for what sluice read.
  rx.goFast();
  await waitFor(() => (rx.seqs.get('tcpload')?.size ?? 0) >= tcp.sent, `all ${tcp.sent} TCP messages delivered`, 120_000, 200);
  await sleep(500);
  const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const received = metricFromText(text, 'sluice_events_received_total', { component: 'net' });
  const udpDelivered = rx.seqs.get('udpload')?.size ?? 0;
  assert.equal(received, tcp.sent + udpDelivered + dropped.buffer, 'every event taken in was delivered or counted as dropped');
  assert.ok(udpDelivered + dropped.reader + dropped.buffer <= udp.sent, 'no UDP message counted twice');
  assert.deepEqual(await drops(), dropped, 'no drops after the overload');
});
