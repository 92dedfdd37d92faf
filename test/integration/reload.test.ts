// Live reload: 100,000 events over TCP and TLS while the config is reloaded three times (a
// destination added, a filter changed, the certificate renewed): none lost, none
// duplicated, the open connection kept, new connections served the new certificate; an
// invalid config keeps the running one and says why.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { send, type SendReport } from '../../src/cli/send/index.js';
import { fingerprint256, makeTestPki } from '../helpers/certs.js';
import { freePort, SLUICE_BIN, spawnSluice, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const PER_TRANSPORT = 50_000;

let sluice: SluiceProcess | null = null;
after(async () => { await sluice?.stop(); });

function config(o: { tcp: number; tls: number; api: number; dir: string; errors?: string }): string {
  return `
data_dir: ${o.dir}/state
api: { listen: "http://127.0.0.1:${o.api}" }
sources:
  net:
    type: syslog
    listen: ["tcp://127.0.0.1:${o.tcp}", "tls://127.0.0.1:${o.tls}"]
    tls: { cert: tls/server.pem, key: tls/server.key }
    close_confirmation: true
destinations:
  all: { type: file, path: out/all.log, template: "\${MSG}\\n" }
${o.errors ? '  errors: { type: file, path: out/errors.log, template: "${MSG}\\n" }\n' : ''}log:
  - { from: net, to: all }
${o.errors ? `  - { from: net, filter: '${o.errors}', to: errors }\n` : ''}`;
}

/** The certificate the server presents to a new connection. */
async function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(ca), servername: 'localhost' }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** seq → how many times it was written, for one run id. */
function seqCounts(file: string, runId: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of readLines(file)) {
    if (!l.includes(`run=${runId}`)) continue;
    const m = /seq=(\d+)/.exec(l);
    if (m) out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0) + 1);
  }
  return out;
}

test('reload three times under load over TCP and TLS: nothing lost or duplicated, connections kept, new certificate served', { timeout: 240_000 }, async (t) => {
  const dir = tempDir('reload');
  const pki = await makeTestPki(path.join(dir, 'pki'));
  fs.mkdirSync(path.join(dir, 'tls'));
  fs.copyFileSync(pki.serverCert, path.join(dir, 'tls/server.pem'));
  fs.copyFileSync(pki.serverKey, path.join(dir, 'tls/server.key'));
  const ports = { tcp: await freePort(), tls: await freePort(), api: await freePort(), dir };
  const cfgFile = writeConfig(dir, config(ports));
  sluice = await spawnSluice(['run', '-c', cfgFile], { cwd: dir });
  const oldFp = await servedFingerprint(ports.tls, pki.caCert);
  assert.equal(oldFp, fingerprint256(pki.serverCert));
  assert.equal(await metric(ports.api, 'sluice_config_generation'), 1);

  // A connection opened before any reload, used again after the last one.
  const kept = tls.connect({ host: '127.0.0.1', port: ports.tls, ca: fs.readFileSync(pki.caCert), servername: 'localhost' });
  await new Promise<void>((r, j) => { kept.once('secureConnect', r); kept.once('error', j); });
  kept.write('<13>Nov 23 12:00:00 host kept: before-reloads\n');

  const common = { count: PER_TRANSPORT, rate: 10_000, size: 200, format: 'rfc5424' as const, connections: 1, confirmEvery: 1000, giveUpMs: 60_000 };
  const sending: Promise<SendReport>[] = [
    send(`tcp://127.0.0.1:${ports.tcp}`, { ...common, runId: 'tcp' }),
    send(`tls://127.0.0.1:${ports.tls}`, { ...common, runId: 'tls', ca: pki.caCert, servername: 'localhost' }),
  ];
  for (const s of sending) s.catch(() => {});
  const all = path.join(dir, 'out/all.log');
  const written = () => readLines(all).length;

  // 1: a destination added (with its path).
  await waitFor(() => written() > 15_000, 'first events written', 60_000, 50);
  writeConfig(dir, config({ ...ports, errors: 'level(err..emerg)' }));
  sluice.proc.kill('SIGHUP');
  await sluice.waitForLog(/config reloaded generation=2/);
  const errors = path.join(dir, 'out/errors.log');
  kept.write('<11>Nov 23 12:00:00 host kept: err-after-add\n<12>Nov 23 12:00:00 host kept: warning-before-filter-change\n');
  await waitFor(() => readLines(errors).some((l) => l.includes('err-after-add')), 'the added destination takes what its path selects', 15_000);

  // An invalid config in between: refused, the running one stays.
  fs.writeFileSync(cfgFile, config({ ...ports, errors: 'level(err..emerg)' }).replace('type: file', 'type: fiel'));
  const r = spawnSync(process.execPath, [SLUICE_BIN, 'reload', '-c', cfgFile], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 78, 'sluice reload checks the config itself first');
  assert.match(r.stderr, /sluice\.yaml:\d+:\d+: unknown destination type "fiel"/);
  sluice.proc.kill('SIGHUP');
  await sluice.waitForLog(/reload refused; the running config stays .*unknown destination type/);
  assert.ok(await metric(ports.api, 'sluice_config_last_reload_failure_timestamp_seconds') > 0);

  // 2: a filter changed, through `sluice reload`.
  await waitFor(() => written() > 40_000, 'more events written', 60_000, 50);
  writeConfig(dir, config({ ...ports, errors: 'level(warning..emerg)' }));
  const r2 = spawnSync(process.execPath, [SLUICE_BIN, 'reload', '-c', cfgFile], { cwd: dir, encoding: 'utf8' });
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /reloaded: config generation 3/);
  kept.write('<12>Nov 23 12:00:00 host kept: warning-after-filter-change\n');
  await waitFor(() => readLines(errors).some((l) => l.includes('warning-after-filter-change')), 'the changed filter selects warnings now', 15_000);
  assert.ok(!readLines(errors).some((l) => l.includes('warning-before-filter-change')), 'the old filter did not');

  // 3: the certificate renewed in place (same CA, new key), then a reload.
  await waitFor(() => written() > 65_000, 'yet more events written', 60_000, 50);
  await run('openssl', ['req', '-x509', '-config', path.join(dir, 'pki/openssl-minimal.cnf'), '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-sha256', '-days', '2', '-subj', '/CN=localhost', '-CA', pki.caCert, '-CAkey', pki.caKey,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-addext', 'extendedKeyUsage=serverAuth',
    '-keyout', path.join(dir, 'tls/new.key'), '-out', path.join(dir, 'tls/new.pem')]);
  // Key first, then certificate: in between the pair does not match and must be refused.
  fs.renameSync(path.join(dir, 'tls/new.key'), path.join(dir, 'tls/server.key'));
  sluice.proc.kill('SIGHUP');
  await sluice.waitForLog(/renewed TLS certificate\/key refused; keeping the pair in use/);
  assert.equal(await servedFingerprint(ports.tls, pki.caCert), oldFp, 'a mismatched pair is not used');
  fs.renameSync(path.join(dir, 'tls/new.pem'), path.join(dir, 'tls/server.pem'));
  sluice.proc.kill('SIGHUP');
  await sluice.waitForLog(/TLS certificate reloaded/);
  const newFp = await servedFingerprint(ports.tls, pki.caCert);
  assert.equal(newFp, fingerprint256(path.join(dir, 'tls/server.pem')));
  assert.notEqual(newFp, oldFp);

  const reports = await Promise.all(sending);
  kept.write('<13>Nov 23 12:00:00 host kept: after-reloads\n');
  kept.end();
  await waitFor(() => readLines(all).some((l) => l.includes('after-reloads')), 'the kept connection still delivers', 15_000);

  for (const [i, id] of ['tcp', 'tls'].entries()) {
    assert.equal(reports[i]!.sent, PER_TRANSPORT);
    const counts = seqCounts(all, id);
    const missing = [...Array(PER_TRANSPORT).keys()].filter((n) => !counts.has(n));
    const dup = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
    t.diagnostic(`${id}: ${counts.size} distinct, ${missing.length} missing, ${dup.length} duplicated, ${reports[i]!.resent ?? 0} resent`);
    assert.deepEqual(missing.slice(0, 10), [], `${id}: none lost`);
    assert.deepEqual(dup.slice(0, 10), [], `${id}: none duplicated`);
  }
  assert.ok(readLines(errors).every((l) => !l.includes('run=')), 'sluice send\'s notices never matched the errors path');
  assert.ok(sluice.stderr.some((l) => /config reloaded generation=3 .*sources="?none"? destinations="?none"?/.test(l)), `a filter change keeps every component:\n${sluice.stderr.filter((l) => l.includes('reload')).join('\n')}`);
  assert.ok(await metric(ports.api, 'sluice_config_generation') >= 4);
  assert.ok(await metric(ports.api, 'sluice_config_last_reload_timestamp_seconds') > 0);
});
