// Tokens, roles, sessions and CSRF on the API, over real HTTP; `sluice token` against a running server.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setLogSink } from '../../src/log.js';
import { TOKEN_FILE } from '../../src/web/auth/tokens.js';
import { bearer, startApi, type TestApi } from '../helpers/api.js';
import { SLUICE_BIN } from '../helpers/daemon.js';
import { WebTestStore } from '../helpers/web-store.js';

const READ_ROUTES = ['/api/search', '/api/hits', '/api/facets', '/api/fields', '/api/context?seq=1', '/api/tail', '/api/export', '/api/session'];
const ADMIN_ROUTES: [string, string][] = [['GET', '/api/tokens'], ['POST', '/api/tokens'], ['DELETE', '/api/tokens/admin'], ['GET', '/api/settings']];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (r: Response): Promise<any> => r.json();

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SLUICE_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('web API: tokens and roles', () => {
  let store: WebTestStore;
  let t: TestApi;
  const logLines: string[] = [];
  before(async () => {
    setLogSink((l) => logLines.push(l));
    store = await WebTestStore.open();
    await store.add([{ message: 'hello' }]);
    t = await startApi(store.reader);
  });
  after(async () => {
    await t.stop();
    await store.close();
    setLogSink((l) => process.stderr.write(l + '\n'));
  });

  it('first start made one admin token, printed once, stored hashed with mode 0600', async () => {
    assert.equal(t.printed.length, 1);
    assert.match(t.admin, /^slc_[A-Za-z0-9_-]{43}$/);
    const file = `${t.dataDir}/${TOKEN_FILE}`;
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes(t.admin), 'the token itself is not in the file');
    assert.equal(JSON.parse(text).tokens.length, 1);
    // A second start on the same data_dir prints nothing.
    const again = await startApi(store.reader, { dataDir: t.dataDir });
    await again.stop();
    assert.equal(again.printed.length, 0);
  });

  it('no token: 401 on every /api route and on the UI', async () => {
    for (const p of READ_ROUTES) {
      const r = await fetch(t.url + p);
      assert.equal(r.status, 401, p);
      assert.equal((await json(r)).error.code, 'SLUICE_ERR_UNAUTHORIZED');
    }
    for (const [method, p] of ADMIN_ROUTES) assert.equal((await fetch(t.url + p, { method })).status, 401, `${method} ${p}`);
    const ui = await fetch(t.url + '/');
    assert.equal(ui.status, 401);
    const page = await ui.text();
    assert.match(page, /id="login"/, 'the UI answers with the sign-in form');
    assert.doesNotMatch(page, /id="rows"/);
    assert.equal((await fetch(t.url + '/ui/app.js')).status, 401, "the app's code needs a session too");
    assert.equal((await fetch(t.url + '/ui/login.js')).status, 200, "the sign-in page's script does not");
    assert.ok((await t.metrics.value('sluice_api_auth_failures_total', { reason: 'missing' })) >= READ_ROUTES.length);
  });

  it('/metrics and /health stay open on loopback; closed when open_metrics is false', async () => {
    assert.equal((await fetch(t.url + '/health')).status, 200);
    assert.equal((await fetch(t.url + '/metrics')).status, 200);
    const closed = await startApi(store.reader, { openMetrics: false });
    try {
      assert.equal((await fetch(closed.url + '/metrics')).status, 401);
      assert.equal((await fetch(closed.url + '/metrics', { headers: bearer(closed.admin) })).status, 200);
    } finally {
      await closed.stop();
    }
  });

  it('a read token may search, tail and export but gets 403 on admin routes', async () => {
    const r = await fetch(`${t.url}/api/tokens`, { method: 'POST', headers: { ...bearer(t.admin), 'content-type': 'application/json' }, body: JSON.stringify({ role: 'read', name: 'reader' }) });
    assert.equal(r.status, 201);
    const made = await json(r);
    assert.equal(made.role, 'read');
    const read = made.token as string;
    for (const p of ['/api/search', '/api/hits', '/api/facets', '/api/fields', '/api/context?seq=1', '/api/export']) {
      const x = await fetch(t.url + p, { headers: bearer(read) });
      assert.equal(x.status, 200, p);
      await x.arrayBuffer();
    }
    const ac = new AbortController();
    const tail = await fetch(`${t.url}/api/tail`, { headers: bearer(read), signal: ac.signal });
    assert.equal(tail.status, 200);
    ac.abort();
    for (const [method, p] of ADMIN_ROUTES) {
      const x = await fetch(t.url + p, { method, headers: bearer(read) });
      assert.equal(x.status, 403, `${method} ${p}`);
      assert.equal((await json(x)).error.code, 'SLUICE_ERR_FORBIDDEN');
    }
    const list = await json(await fetch(`${t.url}/api/tokens`, { headers: bearer(t.admin) }));
    assert.deepEqual(list.tokens.map((x: { name: string }) => x.name).sort(), ['admin', 'reader']);
    assert.ok(list.tokens.every((x: Record<string, unknown>) => !('hash' in x) && !('token' in x)));
  });

  it('sluice token create/revoke work on the running server without a restart', () => {
    const made = cli(['token', 'create', '--role', 'read', '--name', 'cli-reader', '--data-dir', t.dataDir]);
    assert.equal(made.status, 0, made.stderr);
    const token = made.stdout.trim().split('\n').at(-1)!;
    assert.match(token, /^slc_/);
    return (async () => {
      assert.equal((await fetch(`${t.url}/api/search`, { headers: bearer(token) })).status, 200);
      const listed = cli(['token', 'list', '--data-dir', t.dataDir]);
      assert.match(listed.stdout, /cli-reader/);
      assert.ok(!listed.stdout.includes(token));
      const rv = cli(['token', 'revoke', 'cli-reader', '--data-dir', t.dataDir]);
      assert.equal(rv.status, 0, rv.stderr);
      const after = await fetch(`${t.url}/api/search`, { headers: bearer(token) });
      assert.equal(after.status, 401, 'revoked takes effect at the next request');
      assert.equal(cli(['token', 'revoke', 'cli-reader', '--data-dir', t.dataDir]).status, 1);
      assert.notEqual(cli(['token', 'create', '--role', 'root', '--data-dir', t.dataDir]).status, 0);
    })();
  });

  it('revoking through the API also ends the sessions of that token', async () => {
    const made = await json(await fetch(`${t.url}/api/tokens`, { method: 'POST', headers: { ...bearer(t.admin), 'content-type': 'application/json' }, body: JSON.stringify({ role: 'read', name: 'temp' }) }));
    const login = await fetch(`${t.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: made.token }) });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await fetch(`${t.url}/api/search`, { headers: { cookie } })).status, 200);
    const del = await fetch(`${t.url}/api/tokens/${made.id}`, { method: 'DELETE', headers: bearer(t.admin) });
    assert.equal(del.status, 200);
    assert.equal((await fetch(`${t.url}/api/search`, { headers: { cookie } })).status, 401);
    assert.equal((await fetch(`${t.url}/api/search`, { headers: bearer(made.token) })).status, 401);
  });

  it('login sets an HttpOnly SameSite=Strict cookie; state changes need Origin and the CSRF header', async () => {
    const login = await fetch(`${t.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: t.url }, body: JSON.stringify({ token: t.admin }) });
    assert.equal(login.status, 200);
    const { csrf, role } = await json(login);
    assert.equal(role, 'admin');
    const set = login.headers.get('set-cookie')!;
    assert.match(set, /^sluice_session=[A-Za-z0-9_-]{43};/);
    assert.match(set, /; HttpOnly/);
    assert.match(set, /; SameSite=Strict/);
    assert.match(set, /; Path=\//);
    const cookie = set.split(';')[0]!;
    assert.equal((await fetch(`${t.url}/`, { headers: { cookie } })).status, 200, 'the UI with a session');
    const body = JSON.stringify({ role: 'read', name: 'via-cookie' });
    const ct = { 'content-type': 'application/json' };
    const noHeader = await fetch(`${t.url}/api/tokens`, { method: 'POST', headers: { ...ct, cookie, origin: t.url }, body });
    assert.equal(noHeader.status, 403);
    const wrongOrigin = await fetch(`${t.url}/api/tokens`, { method: 'POST', headers: { ...ct, cookie, origin: 'http://evil.example', 'x-csrf-token': csrf }, body });
    assert.equal(wrongOrigin.status, 403);
    const wrongCsrf = await fetch(`${t.url}/api/tokens`, { method: 'POST', headers: { ...ct, cookie, origin: t.url, 'x-csrf-token': csrf + 'x' }, body });
    assert.equal(wrongCsrf.status, 403);
    assert.ok((await t.metrics.value('sluice_api_auth_failures_total', { reason: 'csrf' })) >= 3);
    const ok = await fetch(`${t.url}/api/tokens`, { method: 'POST', headers: { ...ct, cookie, origin: t.url, 'x-csrf-token': csrf }, body });
    assert.equal(ok.status, 201);
    const crossLogin = await fetch(`${t.url}/api/login`, { method: 'POST', headers: { ...ct, origin: 'http://evil.example' }, body: JSON.stringify({ token: t.admin }) });
    assert.equal(crossLogin.status, 403);
    const out = await fetch(`${t.url}/api/logout`, { method: 'POST', headers: { cookie, origin: t.url, 'x-csrf-token': csrf } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
    assert.equal((await fetch(`${t.url}/api/search`, { headers: { cookie } })).status, 401);
  });

  it('on loopback only loopback Host names are answered (DNS rebinding)', async () => {
    const port = new URL(t.url).port;
    const status = (host: string) => new Promise<number>((resolve, reject) => {
      const r = http.get({ host: '127.0.0.1', port, path: '/metrics', headers: { host } }, (res) => { res.resume(); resolve(res.statusCode!); });
      r.on('error', reject);
    });
    assert.equal(await status(`evil.example:${port}`), 421);
    assert.equal(await status(`127.0.0.1:${port}`), 200);
    assert.equal(await status(`localhost:${port}`), 200);
  });

  it('security headers on the UI and the API', async () => {
    for (const p of ['/', '/api/search', '/ui/app.js']) {
      const r = await fetch(t.url + p, { headers: bearer(t.admin) });
      const csp = r.headers.get('content-security-policy')!;
      assert.match(csp, /default-src 'self'/, p);
      assert.match(csp, /script-src 'self'(;|$)/, p);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, p);
      assert.match(csp, /frame-ancestors 'none'/, p);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
      await r.arrayBuffer();
    }
  });

  it('tokens never appear in logs or metrics', async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.ok(!metrics.includes('slc_'), 'no token in /metrics');
    assert.ok(!logLines.some((l) => l.includes('slc_')), 'no token in the log');
  });
});

describe('web API: failed sign-ins are slowed and counted', () => {
  let store: WebTestStore;
  let t: TestApi;
  before(async () => { store = await WebTestStore.open(); t = await startApi(store.reader); });
  after(async () => { await t.stop(); await store.close(); });

  it('after 5 bad tokens from one address it answers 429 with Retry-After, even for a good token', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${t.url}/api/search`, { headers: bearer(`slc_wrong${i}`) });
      assert.equal(r.status, 401, `attempt ${i + 1}`);
    }
    const limited = await fetch(`${t.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: t.admin }) });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`${t.url}/api/search`, { headers: bearer(t.admin) })).status, 429);
    assert.equal(await t.metrics.value('sluice_api_auth_failures_total', { reason: 'invalid' }), 5);
    assert.equal(await t.metrics.value('sluice_api_auth_failures_total', { reason: 'rate_limited' }), 2);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(text, /sluice_api_auth_failures_total\{reason="invalid"\} 5/);
  });
});
