// examples/siem-*.yaml validate; the QRadar one runs end to end into a TLS receiver written here (LEEF and seed-002 kv lines).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { makeTestPki } from '../helpers/certs.js';
import { endpoint, REPO, startPipeline } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import { localStamp } from '../codec/encode/helpers.js';

const EXAMPLES = path.join(REPO, 'examples');
const T = { timeout: 60_000 };

function readExample(name: string): string {
  return fs.readFileSync(path.join(EXAMPLES, name), 'utf8');
}

/** Replaces every occurrence, insisting there was one. */
function replaceAll(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the example should contain ${from}`);
  return text.split(from).join(to);
}

describe('examples/siem-*.yaml', () => {
  it('both examples validate, with the syslog destinations as configured', () => {
    const q = loadConfigText(readExample('siem-qradar.yaml'), path.join(EXAMPLES, 'siem-qradar.yaml'));
    const leef = q.destinations.get('qradar')!.config as unknown as Record<string, unknown>;
    assert.equal(leef.format, 'leef');
    assert.equal(leef.header, 'rfc3164');
    const kv = q.destinations.get('qradar_kv')!.config as unknown as Record<string, unknown>;
    assert.deepEqual([kv.format, kv.separator, kv.facility, kv.severity, kv.hostname, kv.tag], ['kv', '||', 1, 6, 'aliyun.example.com', 'tag']);
    const a = loadConfigText(readExample('siem-arcsight.yaml'), path.join(EXAMPLES, 'siem-arcsight.yaml'));
    const cef = a.destinations.get('arcsight')!.config as unknown as Record<string, unknown>;
    assert.deepEqual([cef.format, cef.framing, cef.vendor], ['cef', 'lf', 'Example']);
  });
});

describe('examples/siem-qradar.yaml end to end', () => {
  let dir: string;
  let server: tls.Server;
  let port: number;
  const frames: string[][] = [];
  let pipeline: Pipeline | null = null;

  before(async () => {
    dir = tempDir('siem-qradar');
    fs.mkdirSync(path.join(dir, 'tls'));
    const pki = await makeTestPki(path.join(dir, 'tls'));
    // QRadar's side: TLS with a client certificate required, RFC 5425 octet-counted frames.
    server = tls.createServer({
      key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert), ca: fs.readFileSync(pki.caCert),
      requestCert: true, rejectUnauthorized: true,
    }, (s) => {
      const mine: string[] = [];
      frames.push(mine);
      let pending = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        for (;;) {
          const sp = pending.indexOf(0x20);
          if (sp < 0) break;
          const n = Number(pending.toString('latin1', 0, sp));
          assert.ok(Number.isInteger(n) && n > 0, `octet count, got ${pending.toString('latin1', 0, sp)}`);
          if (pending.length < sp + 1 + n) break;
          mine.push(pending.toString('utf8', sp + 1, sp + 1 + n));
          pending = pending.subarray(sp + 1 + n);
        }
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;

    let yaml = readExample('siem-qradar.yaml');
    yaml = replaceAll(yaml, 'tls://qradar.example.net:6514', `tls://localhost:${port}`);
    yaml = replaceAll(yaml, '127.0.0.1:5140', '127.0.0.1:0');
    yaml = replaceAll(yaml, '127.0.0.1:5141', '127.0.0.1:0');
    pipeline = await startPipeline('api: false\n' + yaml, dir);
  });

  after(async () => {
    await pipeline?.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('security events arrive as LEEF 2.0, application logs as seed 002\'s "||" pairs; the rest is filtered', T, async () => {
    const devices = endpoint(pipeline!, 'devices', 'tcp');
    const apps = endpoint(pipeline!, 'apps', 'tcp');
    const send = (p: number, lines: string[]) => new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: p }, () => s.end(lines.join('\n') + '\n'));
      s.on('error', reject);
      s.on('close', () => resolve());
    });
    await send(devices.port, [
      '<38>1 2026-03-01T12:00:00.123Z fw-01 sshd 4242 LOGIN - Accepted publickey for alice', // auth.info: security
      '<131>1 2026-03-01T12:00:01Z web-01 nginx 17 - - upstream timed out', // local0.err: security
      '<134>1 2026-03-01T12:00:02Z web-01 nginx 17 - - GET / 200', // local0.info: not
    ]);
    await send(apps.port, ['<134>1 2026-03-01T12:00:03Z app-01 billing 99 - - invoice paid amount=12.50']);
    await waitFor(() => frames.flat().length >= 3, `3 messages at the receiver (has ${frames.flat().length})`, 30_000);
    await pipeline!.stop();
    pipeline = null;

    const all = frames.flat();
    const leef = all.filter((l) => l.includes(' LEEF:'));
    const kv = all.filter((l) => l.includes('||'));
    const fmt = "devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    assert.deepEqual(leef, [
      `<38>${localStamp(Date.parse('2026-03-01T12:00:00.123Z'))} fw-01 LEEF:2.0|Example|sluice-relay|1.0|LOGIN|x09|` +
        `devTime=2026-03-01T12:00:00.123+0000\t${fmt}\tsev=3\tsrc=127.0.0.1\tmsg=Accepted publickey for alice`,
      `<131>${localStamp(Date.parse('2026-03-01T12:00:01Z'))} web-01 LEEF:2.0|Example|sluice-relay|1.0|nginx|x09|` +
        `devTime=2026-03-01T12:00:01.000+0000\t${fmt}\tsev=7\tsrc=127.0.0.1\tmsg=upstream timed out`,
    ]);
    assert.deepEqual(kv, [
      '<14>1 2026-03-01T12:00:03Z aliyun.example.com tag 99 - - ' +
        'timestamp=2026-03-01T12:00:03Z||host=aliyun.example.com||app=tag||procid=99||severity=info||facility=user||message="invoice paid amount=12.50"',
    ]);
    assert.equal(all.length, 3, 'the local0.info event was filtered out');
  });
});
