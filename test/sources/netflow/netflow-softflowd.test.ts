// Must show (issue 16, 4): softflowd -r on a capture the test writes exports NetFlow v5, v9 and
// IPFIX to sluice and to nfdump's nfcapd (the oracle): flow count, addresses, ports, protocol,
// packets and bytes equal. Bad datagrams (unknown template, truncated, garbage) are counted.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigText } from '../../../src/config/load.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { endpoint, freePort } from '../../helpers/daemon.js';
import { findCommand, havePeer } from '../../helpers/peers.js';
import { readLines, sleep, tempDir, waitFor } from '../../helpers/wait.js';
import { packetBytes, writePcap, type TestFlow } from './pcap.js';

const running: Pipeline[] = [];
after(async () => { for (const p of running) await p.stop(); });

async function start(dir: string): Promise<{ p: Pipeline; out: string; metrics: Metrics; port: number }> {
  const out = path.join(dir, 'flows.ndjson');
  const yaml = JSON.stringify({
    api: false,
    data_dir: path.join(dir, 'data'),
    sources: { flow: { type: 'netflow', listen: ['udp://127.0.0.1:0'] } },
    destinations: { out: { type: 'file', path: out, format: 'json' } },
    log: [{ from: 'flow', to: 'out' }],
  });
  const metrics = new Metrics();
  const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 'test.yaml')), { baseDir: dir, metrics });
  running.push(p);
  return { p, out, metrics, port: endpoint(p, 'flow', 'udp').port };
}

function testFlows(): TestFlow[] {
  const flows: TestFlow[] = [];
  for (let i = 0; i < 40; i++) {
    flows.push({
      src: `10.1.${i >> 4}.${(i & 15) + 1}`, dst: `192.168.${i % 3}.${100 + i}`,
      sport: 30000 + i * 7, dport: [80, 443, 53, 514][i % 4]!, proto: i % 4 === 2 ? 17 : 6,
      packets: 1 + (i % 6), payload: 10 * i,
    });
  }
  return flows;
}

type Key = string;
const key = (sa: string, da: string, sp: number, dp: number, pr: number): Key => `${sa}:${sp}>${da}:${dp}/${pr}`;

function runSoftflowd(pcap: string, port: number, version: string): void {
  // -c none: with a control socket, softflowd 1.1.0 blocks in accept() and never reads the file.
  execFileSync('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', version, '-d', '-c', 'none', '-p', pcap + '.pid'], { timeout: 30_000, stdio: 'ignore' });
}

/** Flows nfcapd stored, by key: [packets, bytes]. */
async function nfcapdFlows(dir: string, pcap: string, version: string): Promise<Map<Key, [number, number]>> {
  const store = path.join(dir, `nf-${version}`);
  fs.mkdirSync(store);
  const port = await freePort();
  const nfcapd = spawn('nfcapd', ['-w', store, '-p', String(port), '-b', '127.0.0.1'], { stdio: 'ignore' });
  try {
    await sleep(500);
    runSoftflowd(pcap, port, version);
    await sleep(500);
  } finally {
    nfcapd.kill('SIGTERM');
    await new Promise((r) => nfcapd.once('exit', r));
  }
  const file = fs.readdirSync(store).filter((f) => f.startsWith('nfcapd.'))[0]!;
  const csv = execFileSync('nfdump', ['-r', path.join(store, file), '-o', 'csv', '-q'], { encoding: 'utf8' });
  const out = new Map<Key, [number, number]>();
  const lines = csv.trim().split('\n');
  const head = lines[0]!.startsWith('ts,') ? lines.shift()!.split(',') : 'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt'.split(',');
  const col = (n: string) => head.indexOf(n);
  for (const l of lines) {
    const c = l.split(',');
    if (c.length < 13 || !/^\d/.test(c[col('sa')]!)) continue;
    out.set(key(c[col('sa')]!, c[col('da')]!, Number(c[col('sp')]), Number(c[col('dp')]), protocolNumber(c[col('pr')]!)), [Number(c[col('ipkt')]), Number(c[col('ibyt')])]);
  }
  return out;
}

/** nfdump prints protocols by name. */
function protocolNumber(p: string): number {
  const names: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1 };
  return names[p.trim().toUpperCase()] ?? Number(p);
}

describe('netflow source', () => {
  for (const version of ['5', '9', '10']) {
    test(`softflowd -v ${version}: sluice's flows equal nfcapd's and the capture's`, { timeout: 60_000 }, async (t) => {
      if (!havePeer(t, 'softflowd', findCommand('softflowd'))) return;
      if (!havePeer(t, 'nfcapd (nfdump)', findCommand('nfcapd'))) return;
      const dir = tempDir(`netflow-v${version}`);
      const pcap = path.join(dir, 'capture.pcap');
      const flows = testFlows();
      writePcap(pcap, flows);
      const oracle = await nfcapdFlows(dir, pcap, version);
      const { p, out, port } = await start(dir);
      runSoftflowd(pcap, port, version);
      await waitFor(() => readLines(out).length >= flows.length, `${flows.length} flow events`);
      await sleep(200);
      const events = readLines(out).map((l) => JSON.parse(l));
      const got = new Map<Key, [number, number]>();
      for (const e of events) {
        const f = e.fields;
        assert.equal(typeof f.sourceIPv4Address, 'string');
        assert.equal(typeof f.octetDeltaCount, 'number');
        assert.equal(f.netflowVersion, Number(version));
        got.set(key(f.sourceIPv4Address, f.destinationIPv4Address, f.sourceTransportPort, f.destinationTransportPort, f.protocolIdentifier),
          [f.packetDeltaCount, f.octetDeltaCount]);
      }
      assert.equal(events.length, flows.length);
      assert.equal(oracle.size, flows.length, 'nfcapd saw every flow');
      assert.deepEqual([...got.entries()].sort(), [...oracle.entries()].sort());
      for (const f of flows) {
        assert.deepEqual(got.get(key(f.src, f.dst, f.sport, f.dport, f.proto)), [f.packets, f.packets * packetBytes(f)]);
      }
      const e = events[0];
      assert.equal(e.appname, 'netflow');
      assert.equal(e.hostname, '127.0.0.1');
      assert.ok(e.timestamp === null || !Number.isNaN(Date.parse(e.timestamp)));
      await p.stop();
    });
  }

  test('an unknown template, truncated and garbage datagrams are counted; a template arriving late releases its data', async () => {
    const dir = tempDir('netflow-bad');
    const { p, out, metrics, port } = await start(dir);
    const s = dgram.createSocket('udp4');
    const send = (b: Buffer) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));
    const ipfixHeader = (len: number, seq: number) => {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(10, 0); h.writeUInt16BE(len, 2); h.writeUInt32BE(1_700_000_000, 4); h.writeUInt32BE(seq, 8); h.writeUInt32BE(7, 12);
      return h;
    };
    // Data for template 300 (two fields: sourceIPv4Address, octetDeltaCount 8 bytes, plus a variable-length interfaceName).
    const rec = Buffer.concat([Buffer.from([10, 9, 8, 7]), Buffer.from('0000000000000400', 'hex'), Buffer.from([3]), Buffer.from('eth')]);
    const dataSet = Buffer.concat([Buffer.from([0x01, 0x2c, 0, 4 + rec.length]), rec]);
    await send(Buffer.concat([ipfixHeader(16 + dataSet.length, 0), dataSet]));
    // Template for 999 never comes; its data is counted as unknown.
    const lost = Buffer.concat([Buffer.from([0x03, 0xe7, 0, 8]), Buffer.from([1, 2, 3, 4])]);
    await send(Buffer.concat([ipfixHeader(24, 1), lost]));
    // Template 300 with an enterprise field after: releases the buffered data.
    const tpl = Buffer.from([0, 2, 0, 4 + 4 + 12, 0x01, 0x2c, 0, 3, 0, 8, 0, 4, 0, 1, 0, 8, 0, 82, 0xff, 0xff]);
    await send(Buffer.concat([ipfixHeader(16 + tpl.length, 2), tpl]));
    // Truncated v5: claims 10 records, has none.
    const v5 = Buffer.alloc(30); v5.writeUInt16BE(5, 0); v5.writeUInt16BE(10, 2);
    await send(v5);
    await send(Buffer.from('not netflow at all'));
    await send(Buffer.from([0, 9]));
    // IPFIX set whose length runs past the message.
    const badSet = Buffer.concat([ipfixHeader(24, 3), Buffer.from([0x01, 0x2c, 0x10, 0x00, 0, 0, 0, 0])]);
    await send(badSet);
    s.close();
    await waitFor(async () => (await metrics.value('sluice_errors_total', { component: 'flow', error_type: 'malformed' })) >= 3, 'malformed counted');
    assert.ok(await metrics.value('sluice_errors_total', { component: 'flow', error_type: 'unknown_template' }) >= 2);
    assert.ok(await metrics.value('sluice_errors_total', { component: 'flow', error_type: 'unknown_version' }) >= 1);
    await waitFor(() => readLines(out).length === 1, 'the released flow');
    const f = JSON.parse(readLines(out)[0]!).fields;
    assert.equal(f.sourceIPv4Address, '10.9.8.7');
    assert.equal(f.octetDeltaCount, 1024);
    assert.equal(f.interfaceName, 'eth');
    await p.stop();
  });
});
