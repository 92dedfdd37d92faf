// TLS clients pick up renewed client certificate files: the connection after a renewal
// presents the new certificate; a renewed key that does not match keeps the old pair.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import tls from 'node:tls';
import { fingerprint256, makeTestPki } from '../helpers/certs.js';
import { startPipeline } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { LogEvent } from '../../src/event/log-event.js';

let pipeline: Pipeline | null = null;
let server: tls.Server | null = null;
after(async () => { await pipeline?.stop(); server?.close(); });

test('a syslog/TLS destination presents the renewed client certificate on its next connection', async () => {
  const dir = tempDir('tls-client-reload');
  const pki = await makeTestPki(path.join(dir, 'pki'));
  const copy = (from: string, to: string) => fs.copyFileSync(from, path.join(dir, to));
  copy(pki.clientCert, 'client.pem');
  copy(pki.clientKey, 'client.key');
  // The receiver: which client certificate each connection showed, and the lines it got.
  const seen: string[] = [];
  const lines: string[] = [];
  const sockets = new Set<tls.TLSSocket>();
  server = tls.createServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert), ca: fs.readFileSync(pki.caCert), requestCert: true, rejectUnauthorized: true }, (s) => {
    sockets.add(s);
    seen.push(s.getPeerCertificate().fingerprint256);
    s.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  pipeline = await startPipeline(`
api: false
data_dir: ./state
sources: {}
destinations:
  siem:
    type: syslog
    url: "tls://127.0.0.1:${port}"
    format: rfc5424
    tls: { ca: ${pki.caCert}, cert: client.pem, key: client.key }
    retry: { initial: 20ms, max: 100ms }
log: []
`, dir);
  const runner = pipeline.runners.get('siem')!;
  const SRC = { name: 't', transport: 'internal' as const, address: null, port: null, tlsPeer: null };
  const push = (m: string) => runner.push([LogEvent.fromValues(SRC, Date.now(), { message: m, hostname: 'h', appname: 'a' })], null, true);
  // Plain syslog over TLS has no acknowledgement: what is written while the receiver's close
  // is on its way is gone, so the test sends again until the receiver has one (bounded).
  const deliver = async (m: string) => {
    for (let i = 0; i < 50 && !lines.some((l) => l.includes(m)); i++) {
      push(`${m}-${i}`);
      await waitFor(() => lines.some((l) => l.includes(m)), m, 300).catch(() => {});
    }
    assert.ok(lines.some((l) => l.includes(m)), `${m} delivered`);
  };

  push('one');
  await waitFor(() => lines.some((l) => l.endsWith('one')), 'the first event');
  assert.deepEqual(seen, [fingerprint256(pki.clientCert)]);

  // A key that does not match the certificate in place: refused, the old pair stays.
  copy(pki.otherClientKey, 'client.key');
  for (const s of sockets) s.destroy();
  await deliver('two');
  assert.equal(seen.at(-1), fingerprint256(pki.clientCert), 'a mismatched pair is not used');

  copy(pki.otherClientCert, 'client.pem');
  for (const s of sockets) s.destroy();
  await deliver('three');
  assert.equal(seen.at(-1), fingerprint256(pki.otherClientCert), 'the renewed pair is presented');
});
