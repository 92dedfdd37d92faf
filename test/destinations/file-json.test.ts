// The file destination's format: json writes the JSON event of DESIGN.md, one per line.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

let p: Pipeline | null = null;
after(async () => { await p?.stop(); });

test('file destination format: json keeps any source\'s event whole, one per line', async () => {
  const dir = tempDir('file-json');
  const out = path.join(dir, 'events.ndjson');
  const yaml = JSON.stringify({
    api: false, data_dir: path.join(dir, 'data'),
    sources: { web: { type: 'http', listen: ['http://127.0.0.1:0'] } },
    destinations: { out: { type: 'file', path: out, format: 'json' } },
    log: [{ from: 'web', to: 'out' }],
  });
  p = await Pipeline.start(loadConfigText(yaml, path.join(dir, 't.yaml')), { baseDir: dir });
  const { port } = endpoint(p, 'web', 'http');
  const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify([{ message: 'one', host: 'h1', user: { id: 7 } }, { message: 'two\nlines' }]) });
  assert.equal(r.status, 200);
  await waitFor(() => readLines(out).length === 2, 'two JSON lines');
  const [a, b] = readLines(out).map((l) => JSON.parse(l));
  assert.equal(a.message, 'one');
  assert.equal(a.hostname, 'h1');
  assert.deepEqual(a.fields.user, { id: 7 });
  assert.equal(a.source.name, 'web');
  assert.ok('received_at' in a && 'structured_data' in a && 'severity' in a);
  assert.equal(b.message, 'two\nlines', 'a newline inside the message stays inside its JSON line');
});
