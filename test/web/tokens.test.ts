// The token file: hashed, atomic, locked read-modify-write, picked up on change.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { hashToken, TokenStore } from '../../src/web/auth/tokens.js';
import { SLUICE_BIN } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wait.js';

describe('token store', () => {
  it('creates, verifies, revokes; a second store on the same file sees changes at once', () => {
    const dir = tempDir('tokens');
    const a = new TokenStore(dir);
    const b = new TokenStore(dir);
    const admin = a.ensureAdmin()!;
    assert.ok(admin);
    assert.equal(a.ensureAdmin(), null, 'only at first start');
    assert.equal(b.verify(admin)?.role, 'admin');
    const { token, record } = b.create('read', 'r1');
    assert.equal(a.verify(token)?.id, record.id);
    assert.equal(a.verify(token + 'x'), null);
    assert.equal(a.verify('not-a-token'), null);
    assert.throws(() => a.create('read', 'r1'), /exists already/);
    assert.throws(() => a.create('read', 'bad name'), /must be/);
    assert.equal(b.revoke('r1')?.id, record.id);
    assert.equal(a.verify(token), null);
    assert.equal(a.revoke('r1'), null);
    const text = fs.readFileSync(a.file, 'utf8');
    assert.ok(text.includes(hashToken(admin)) && !text.includes(admin));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['tokens.json'], 'no temp or lock file left behind');
  });

  it('concurrent `sluice token create` runs lose none of each other\'s tokens', async () => {
    const dir = tempDir('tokens-race');
    const runs = Array.from({ length: 6 }, (_, i) => new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [SLUICE_BIN, 'token', 'create', '--role', 'read', '--name', `t${i}`, '--data-dir', dir], { stdio: 'ignore' });
      p.on('exit', (code) => resolve(code));
    }));
    assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(new TokenStore(dir).list().map((r) => r.name).sort(), ['t0', 't1', 't2', 't3', 't4', 't5']);
  });
});
