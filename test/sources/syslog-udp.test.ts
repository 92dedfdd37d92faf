// UDP listener: a reader thread drains the socket; batches wait unparsed while a destination is full.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { after, test } from 'node:test';
import { freePort, metricFromText, spawnSluice, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { sleep, tempDir, waitFor } from '../helpers/wait.js';

let sluice: SluiceProcess | null = null;
after(async () => { await sluice?.stop(); });

/** Nice values of the process's threads, from /proc (field 19 of each task's stat). */
function threadNiceValues(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('a full destination holds UDP datagrams unparsed and delivers every one once it drains; the reader thread runs at udp_reader_nice', { timeout: 60_000 }, async () => {
  const dir = tempDir('udp-backlog');
  const [udpPort, outPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = writeConfig(dir, `
api: { listen: "http://127.0.0.1:${apiPort}" }
sources:
  net: { type: syslog, listen: ["udp://127.0.0.1:${udpPort}"], udp_reader_nice: 5 }
destinations:
  relay:
    type: syslog
    url: "tcp://127.0.0.1:${outPort}"
    framing: lf
    buffer: { type: memory, max_bytes: 32KiB }
    retry: { initial: 50ms, max: 200ms }
log:
  - { from: net, to: relay }
`);
  sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir });

  // Raising priority needs privileges; lowering it (5) works for anyone, so the thread is found either way.
  const nice = threadNiceValues(sluice.pid);
  assert.equal(nice.filter((n) => n === 5).length, 1, `one thread (the UDP reader) at nice 5, the rest untouched: ${nice.join(' ')}`);

  // The receiver is not there yet: the 32 KiB buffer fills with the first ~100 messages.
  const client = dgram.createSocket('udp4');
  const TOTAL = 3000;
  for (let i = 0; i < TOTAL; i++) {
    const msg = Buffer.from(`<14>1 2026-11-23T10:00:00Z host app - - - seq=${i} ${'x'.repeat(120)}`);
    await new Promise<void>((resolve, reject) => client.send(msg, udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    if (i % 100 === 99) await sleep(5); // paced, so the kernel's socket buffer never overflows
  }
  client.close();
  const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const taken = metricFromText(text, 'sluice_events_received_total', { component: 'net' });
  assert.ok(taken < TOTAL, `while the buffer is full, datagrams wait unparsed (${taken} of ${TOTAL} taken in)`);

  const seen = new Set<number>();
  const server = net.createServer((sock) => {
    let rest = '';
    sock.on('data', (d) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const l of lines) { const m = /seq=(\d+)/.exec(l); if (m) seen.add(Number(m[1])); }
    });
  });
  await new Promise<void>((r) => server.listen(outPort, '127.0.0.1', r));
  try {
    await waitFor(() => seen.size === TOTAL, `all ${TOTAL} datagrams relayed`, 30_000, 50);
  } finally {
    server.close();
  }
  const after = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  assert.equal(metricFromText(after, 'sluice_events_received_total', { component: 'net' }), TOTAL);
  assert.equal(metricFromText(after, 'sluice_events_dropped_total'), 0, 'nothing dropped');
  await sluice.stop();
  sluice = null;
});

test('udp_reader_nice below 0: granted to the reader thread alone when privileged, else the listener runs and says why once', { timeout: 30_000 }, async (t) => {
  const dir = tempDir('udp-nice');
  const cfg = writeConfig(dir, `
api: false
sources:
  net: { type: syslog, listen: ["udp://127.0.0.1:0"], udp_reader_nice: -5 }
destinations:
  out: { type: file, path: "${dir}/out.log" }
log:
  - { from: net, to: out }
`);
  sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir });
  const nice = threadNiceValues(sluice.pid);
  const refused = sluice.stderr.filter((l) => l.includes('UDP reader thread keeps the process'));
  t.diagnostic(`uid ${process.getuid?.()}, thread nice values: ${nice.join(' ')}`);
  if (process.getuid?.() === 0) {
    assert.equal(nice.filter((n) => n === -5).length, 1, 'one thread at -5');
    assert.equal(refused.length, 0);
  } else {
    assert.equal(nice.filter((n) => n === -5).length, 0);
    assert.equal(refused.length, 1, 'the refusal is logged once');
  }
  await sluice.stop();
  sluice = null;
});
