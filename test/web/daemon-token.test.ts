// The daemon's first start: the admin token printed once on stderr, accepted by the API; a token
// made by `sluice token create` while the daemon runs is accepted without a restart.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { freePort, SLUICE_BIN, spawnSluice, writeConfig } from '../helpers/daemon.js';
import { tempDir, waitFor } from '../helpers/wait.js';

describe('daemon: tokens at first start', () => {
  it('prints the admin token once, on stderr; the token signs in; tokens made later work at once', async () => {
    const dir = tempDir('daemon-token');
    const port = await freePort();
    const cfg = writeConfig(dir, `data_dir: ${dir}/data\napi: { listen: "http://127.0.0.1:${port}" }\nsources: {}\ndestinations: {}\nlog: []\n`);
    const url = `http://127.0.0.1:${port}`;
    let p = await spawnSluice(['run', '-c', cfg], { cwd: dir });
    let admin = '';
    try {
      await waitFor(() => p.stderr.some((l) => /^slc_/.test(l)), 'the admin token on stderr');
      const tokens = p.stderr.filter((l) => /^slc_/.test(l));
      assert.equal(tokens.length, 1);
      admin = tokens[0]!;
      assert.ok(p.stderr.some((l) => /first start: made an admin token/.test(l)));
      assert.ok(!p.stdout.join('').includes(admin), 'not on stdout');
      assert.equal((await fetch(`${url}/api/session`)).status, 401);
      const s = await fetch(`${url}/api/session`, { headers: { authorization: `Bearer ${admin}` } });
      assert.equal(s.status, 200);
      assert.equal(((await s.json()) as { role: string }).role, 'admin');
      const made = spawnSync(process.execPath, [SLUICE_BIN, 'token', 'create', '--role', 'read', '-c', cfg], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      assert.equal(made.status, 0, made.stderr);
      const read = made.stdout.trim().split('\n').at(-1)!;
      const r = await fetch(`${url}/api/settings`, { headers: { authorization: `Bearer ${read}` } });
      assert.equal(r.status, 403, 'known to the running daemon (read role), not 401');
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.ok(!metrics.includes(admin) && !metrics.includes(read));
    } finally {
      await p.stop();
    }
    assert.ok(!p.stderr.some((l) => l.includes(admin) && !/^slc_/.test(l)), 'the token is only on its own line');
    // A second start prints no token.
    p = await spawnSluice(['run', '-c', cfg], { cwd: dir });
    try {
      assert.ok(!p.stderr.some((l) => /slc_/.test(l)));
      assert.equal((await fetch(`${url}/api/session`, { headers: { authorization: `Bearer ${admin}` } })).status, 200);
    } finally {
      await p.stop();
    }
  });
});
