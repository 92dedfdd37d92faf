// `sluice validate` checks that the daemon's user can read the TLS files and write where
// the config writes, by permission bits for --user, by access(2) without it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { makeTestPki } from '../helpers/certs.js';
import { SLUICE_BIN, writeConfig } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wait.js';

function validate(cwd: string, args: string[]) {
  return spawnSync(process.execPath, [SLUICE_BIN, 'validate', ...args], { cwd, encoding: 'utf8' });
}

describe('sluice validate: file access', () => {
  test('a key only root can read, and a data_dir nobody may write, are named for --user nobody', async (t: TestContext) => {
    // Reason: only root can make files that another user cannot read; CI runs as root.
    if (process.getuid?.() !== 0) { t.skip('needs root to make files another user cannot read'); return; }
    const dir = tempDir('validate-access');
    fs.chmodSync(dir, 0o755);
    const pki = await makeTestPki(path.join(dir, 'pki'));
    fs.chmodSync(path.join(dir, 'pki'), 0o755);
    fs.chmodSync(pki.serverCert, 0o644);
    fs.chmodSync(pki.serverKey, 0o600);
    fs.mkdirSync(path.join(dir, 'state'), { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'logs'), { mode: 0o777 });
    fs.chmodSync(path.join(dir, 'logs'), 0o777);
    const cfg = writeConfig(dir, `
data_dir: ./state
sources:
  net: { type: syslog, listen: ["tls://127.0.0.1:0"], tls: { cert: ${pki.serverCert}, key: ${pki.serverKey} } }
destinations:
  files: { type: file, path: "logs/\${HOST}/messages.log" }
log:
  - { from: net, to: files }
`);
    const asRoot = validate(dir, ['-c', cfg]);
    assert.equal(asRoot.status, 0, asRoot.stderr);
    assert.match(asRoot.stdout, /files readable and writable/);

    const asNobody = validate(dir, ['-c', cfg, '--user', 'nobody']);
    assert.equal(asNobody.status, 78, asNobody.stdout);
    assert.match(asNobody.stderr, /the TLS key of source net: user nobody cannot read .*server\.key \(mode 0600, owner 0:0\)/);
    assert.match(asNobody.stderr, /data_dir: user nobody cannot write in .*state/);
    assert.doesNotMatch(asNobody.stderr, /TLS cert of source net/, 'the certificate is world-readable');
    assert.doesNotMatch(asNobody.stderr, /the files of destination files/, 'logs/ is writable by all');

    fs.chmodSync(pki.serverKey, 0o644);
    fs.chmodSync(path.join(dir, 'state'), 0o777);
    const fixed = validate(dir, ['-c', cfg, '--user', 'nobody']);
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, /by nobody/);
  });

  test('a missing certificate and an unknown user are clear errors', () => {
    const dir = tempDir('validate-missing');
    const cfg = writeConfig(dir, `
sources:
  net: { type: syslog, listen: ["tls://127.0.0.1:0"], tls: { cert: nope.pem, key: nope.key } }
`);
    const r = validate(dir, ['-c', cfg]);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /the TLS cert of source net: .*nope\.pem: does not exist/);
    const u = validate(dir, ['-c', cfg, '--user', 'no-such-user-here']);
    assert.equal(u.status, 1);
    assert.match(u.stderr, /--user: no such user: no-such-user-here/);
  });
});
