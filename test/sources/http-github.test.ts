// Must show (issue 16, 5, GitHub): a bad signature gets 401 and is counted, a replayed delivery is
// dropped, a good one is stored with its event type and audit fields.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { Metrics } from '../../src/metrics/registry.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint } from '../helpers/daemon.js';
import { readLines, sleep, tempDir, waitFor } from '../helpers/wait.js';

const SECRET = 'It\'s a Secret to Everybody';
const running: Pipeline[] = [];
after(async () => { for (const p of running) await p.stop(); });

describe('http source, mode github', () => {
  test('signature checked, replays dropped, events mapped', async () => {
    const dir = tempDir('github');
    const out = path.join(dir, 'out.ndjson');
    const metrics = new Metrics();
    const yaml = JSON.stringify({
      api: false, data_dir: path.join(dir, 'data'),
      sources: { gh: { type: 'http', mode: 'github', listen: ['http://127.0.0.1:0'], secret: SECRET } },
      destinations: { out: { type: 'file', path: out, format: 'json' } },
      log: [{ from: 'gh', to: 'out' }],
    });
    const p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir, metrics });
    running.push(p);
    const { port } = endpoint(p, 'gh', 'http');
    const url = `http://127.0.0.1:${port}/webhook`;
    const body = JSON.stringify({
      action: 'created', hook_id: 1, repository: { full_name: 'acme/widgets' }, sender: { login: 'octocat' },
      organization: { login: 'acme' }, member: { login: 'mallory' },
    });
    const sign = (b: string, key = SECRET) => 'sha256=' + createHmac('sha256', key).update(b).digest('hex');
    const post = (headers: Record<string, string>, b = body) => fetch(url, { method: 'POST', body: b, headers: { 'content-type': 'application/json', 'x-github-event': 'member', ...headers } });

    // The example of GitHub's documentation: "Hello, World!" with this secret.
    assert.equal(sign('Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');

    let r = await post({ 'x-github-delivery': 'd-1', 'x-hub-signature-256': sign(body, 'wrong secret') });
    assert.equal(r.status, 401);
    r = await post({ 'x-github-delivery': 'd-1' });
    assert.equal(r.status, 401);
    r = await post({ 'x-github-delivery': 'd-1', 'x-hub-signature-256': 'sha256=zz' });
    assert.equal(r.status, 401);
    r = await post({ 'x-github-delivery': 'd-1', 'x-hub-signature-256': sign(body) }, body + ' ');
    assert.equal(r.status, 401, 'a body changed after signing');
    assert.equal(await metrics.value('sluice_connections_refused_total', { component: 'gh', reason: 'bad_signature' }), 3);
    assert.equal(await metrics.value('sluice_connections_refused_total', { component: 'gh', reason: 'no_signature' }), 1);

    r = await post({ 'x-github-delivery': 'd-1', 'x-hub-signature-256': sign(body) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { response: string }).response, 'ok');
    r = await post({ 'x-github-delivery': 'd-1', 'x-hub-signature-256': sign(body) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { response: string }).response, 'duplicate');
    assert.equal(await metrics.value('sluice_events_dropped_total', { component: 'gh', reason: 'replay' }), 1);

    await waitFor(() => readLines(out).length >= 1, 'the stored delivery');
    await sleep(200);
    const evs = readLines(out).map((l) => JSON.parse(l));
    assert.equal(evs.length, 1);
    const e = evs[0];
    assert.equal(e.msgid, 'member');
    assert.equal(e.appname, 'github');
    assert.equal(e.message, 'member.created acme/widgets by octocat');
    assert.deepEqual(e.fields.github, { event: 'member', delivery: 'd-1', action: 'created', repository: 'acme/widgets', actor: 'octocat', organization: 'acme' });
    assert.equal(e.fields.payload.member.login, 'mallory');
    await p.stop();
  });

  test('mode github without a secret is a config error', () => {
    assert.throws(() => loadConfigText(JSON.stringify({
      sources: { gh: { type: 'http', mode: 'github', listen: ['http://127.0.0.1:0'] } },
      destinations: { out: { type: 'stdout' } }, log: [{ from: 'gh', to: 'out' }],
    }), 't.yaml', {}), /secret/);
  });
});
