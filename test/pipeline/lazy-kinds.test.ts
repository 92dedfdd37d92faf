// A pipeline loads the implementations of the component types its config uses, and no others
// (the idle memory of a syslog -> file daemon must not pay for SQLite, PostgreSQL, the brokers'
// clients, the AWS SDK or the browser driver). Each case runs in a fresh process, where the
// CommonJS module cache shows which of those packages were loaded.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wait.js';

const HEAVY = ['better-sqlite3', 'pg', 'pg-copy-streams', 'amqplib', 'nats', '@aws-sdk', 'playwright-core'];

/** Starts a pipeline on `yaml` in a new process; the heavy packages it loaded. */
async function heavyPackagesLoaded(yaml: string): Promise<string[]> {
  const dir = tempDir('lazy-kinds');
  const script = `
    import { createRequire } from 'node:module';
    const { loadConfigText } = await import(${JSON.stringify(path.join(REPO, 'dist/src/config/load.js'))});
    const { Pipeline } = await import(${JSON.stringify(path.join(REPO, 'dist/src/pipeline/pipeline.js'))});
    const p = await Pipeline.start(loadConfigText(process.env.CFG, 'lazy.yaml', {}), { baseDir: process.env.DIR });
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const heavy = JSON.parse(process.env.HEAVY).filter((n) => cache.some((f) => f.includes('/node_modules/' + n + '/')));
    await p.stop();
    process.stdout.write(JSON.stringify(heavy));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, CFG: yaml, DIR: dir, HEAVY: JSON.stringify(HEAVY) }, timeout: 60_000,
  });
  return JSON.parse(stdout) as string[];
}

const SYSLOG_IN = 'sources: { net: { type: syslog, listen: ["tcp://127.0.0.1:0"] } }\napi: false\ndata_dir: data\n';

test('a syslog -> file pipeline loads none of SQLite, PostgreSQL, the broker clients, the AWS SDK, playwright', async () => {
  assert.deepEqual(await heavyPackagesLoaded(`${SYSLOG_IN}destinations: { out: { type: file, path: out.log } }\nlog: [ { from: net, to: out } ]\n`), []);
});

test('a config with the store destination loads SQLite (and still none of the others)', async () => {
  assert.deepEqual(await heavyPackagesLoaded(`${SYSLOG_IN}destinations: { db: { type: store } }\nlog: [ { from: net, to: db } ]\n`), ['better-sqlite3']);
});
