// Nothing acknowledged is lost: TCP in → disk buffer → HTTPS out, with kill -9 twice and the receiver down.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, test } from 'node:test';
import zlib from 'node:zlib';
import { send, type SendReport } from '../../src/cli/send/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { spawnSluice, writeConfig, type SluiceProcess, freePort } from '../helpers/daemon.js';
import { sleep, tempDir, waitFor } from '../helpers/wait.js';

const TOTAL = 100_000;
let sluice: SluiceProcess | null = null;
let receiver: https.Server | null = null;
after(async () => {
  await sluice?.stop();
  receiver?.closeAllConnections();
  receiver?.close();
});


test('100,000 events over TCP survive two kill -9 and a receiver outage, at least once', { timeout: 240_000 }, async (t) => {
  const dir = tempDir('durability');
  const pki = await makeTestPki(path.join(dir, 'pki'));
  const [inPort, outPort] = [await freePort(), await freePort()];
  const cfg = writeConfig(dir, `
api: false
data_dir: ${dir}/data
sources:
  net: { type: syslog, listen: ["tcp://127.0.0.1:${inPort}"], close_confirmation: true }
destinations:
  central:
    type: http
    url: "https://127.0.0.1:${outPort}/ingest"
    mode: ndjson
    body: message
    gzip: true
    tls: { ca: ${pki.caCert} }
    max_batch_events: 2000
    buffer: { type: disk, max_bytes: 256MiB }
    retry: { initial: 50ms, max: 500ms }
log:
  - { from: net, to: central }
`);
  const start = () => spawnSluice(['run', '-c', cfg], { cwd: dir, ready: /\[sluice\] started/ });
  sluice = await start();

  // The receiver: counts every seq it is given; down (refusing) until after the first crash.
  const seen = new Map<number, number>();
  let requests = 0;
  const receive = (body: Buffer) => {
    for (const line of zlib.gunzipSync(body).toString('utf8').split('\n')) {
      const m = /seq=(\d+)/.exec(line);
      if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
  };
  const startReceiver = async () => {
    receiver = https.createServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => { requests++; receive(Buffer.concat(chunks)); res.writeHead(200).end('{"response":"ok"}'); });
    });
    await new Promise<void>((r) => receiver!.listen(outPort, '127.0.0.1', r));
  };

  // The sender confirms every 2,000 messages by a graceful close and resends what a crash cut off.
  let sentSoFar = 0;
  const sending: Promise<SendReport> = send(`tcp://127.0.0.1:${inPort}`, {
    count: TOTAL, rate: 20_000, size: 200, format: 'rfc5424', connections: 1, confirmEvery: 2000, giveUpMs: 60_000,
  }, (n) => { sentSoFar = n; });
  sending.catch(() => {}); // awaited below; a failure before that must not be unhandled

  await waitFor(() => sentSoFar >= TOTAL * 0.3, '30 % sent', 60_000, 50);
  await sluice.kill9();
  t.diagnostic(`kill -9 #1 after ${sentSoFar} confirmed messages (receiver still down)`);
  sluice = await start();
  await startReceiver();

  await waitFor(() => sentSoFar >= TOTAL * 0.65, '65 % sent', 60_000, 50);
  await sluice.kill9();
  t.diagnostic(`kill -9 #2 after ${sentSoFar} confirmed messages, ${seen.size} delivered so far`);
  await sleep(300);
  sluice = await start();

  const report = await sending;
  assert.equal(report.sent, TOTAL);
  const missing = () => {
    const ranges: string[] = [];
    for (let i = 0; i < TOTAL; i++) {
      if (seen.has(i)) continue;
      let j = i;
      while (j + 1 < TOTAL && !seen.has(j + 1)) j++;
      ranges.push(i === j ? `${i}` : `${i}-${j}`);
      i = j;
    }
    return ranges.join(', ');
  };
  await waitFor(() => seen.size === TOTAL, `all ${TOTAL} seqs at the receiver`, 60_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}; missing: ${missing()}`);
  });
  let duplicates = 0;
  for (const n of seen.values()) duplicates += n - 1;
  t.diagnostic(`delivered ${TOTAL} unique events in ${requests} requests; ${duplicates} duplicates at the receiver; ${report.resent} resent by the sender after the crashes`);
  for (let i = 0; i < TOTAL; i++) assert.ok(seen.has(i), `seq ${i} delivered`);
});
