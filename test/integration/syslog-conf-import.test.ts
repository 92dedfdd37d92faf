// The FreeBSD syslog.conf of seed 003, imported and run: every message lands where syslogd puts it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { endpoint, REPO, SLUICE_BIN, startPipeline } from '../helpers/daemon.js';
import { readLines, tempDir, waitFor } from '../helpers/wait.js';

// FreeBSD facility numbers (security is 13) and syslogd's reading of each line, written out
// by hand from syslog.conf(5): a later selector replaces the level of the facilities it names.
const KERN = 0, MAIL = 2, AUTH = 4, LPR = 6, NEWS = 7, CRON = 9, AUTHPRIV = 10, SECURITY = 13;
const EXPECTED: Record<string, (f: number, s: number) => boolean> = {
  console: (f, s) => (f === KERN) || (f === MAIL ? s <= 2 : f === AUTH ? s <= 5 : s <= 3),
  messages: (f, s) => (f === KERN) || (f === LPR ? s <= 6 : f === MAIL ? s <= 2 : f === NEWS ? s <= 3 : s <= 5),
  security: (f) => f === SECURITY,
  'auth.log': (f, s) => (f === AUTH || f === AUTHPRIV) && s <= 6,
  maillog: (f, s) => f === MAIL && s <= 6,
  'lpd-errs': (f, s) => f === LPR && s <= 6,
  cron: (f) => f === CRON,
};

let pipeline: Pipeline | null = null;
after(async () => { await pipeline?.stop(); });

test('import-syslog-conf of the seed\'s FreeBSD syslog.conf routes like syslogd', async () => {
  const dir = tempDir('import');
  const yaml = execFileSync(process.execPath, [SLUICE_BIN, 'import-syslog-conf', path.join(REPO, 'test/fixtures/freebsd-syslog.conf')], { encoding: 'utf8' });
  // Same config, with the files under a temp dir and a free port.
  const local = yaml
    .replace(/path: \/dev\/console/, 'path: console')
    .replace(/path: \/var\/log\//g, 'path: ')
    .replace('listen: [udp://127.0.0.1:5140, tcp://127.0.0.1:5140]', 'listen: [udp://127.0.0.1:0]');
  assert.notEqual(local, yaml, 'the imported config has the expected shape to adapt');
  pipeline = await startPipeline('api: false\n' + local.replace(/path: ([a-z.-]+)/g, `path: ${dir}/$1`), dir);
  const { port } = endpoint(pipeline, 'local', 'udp');

  const sock = dgram.createSocket('udp4');
  let sent = 0;
  for (let f = 0; f < 24; f++) {
    for (let s = 0; s < 8; s++) {
      await new Promise<void>((res, rej) => sock.send(`<${f * 8 + s}>Nov 23 12:00:00 host prog: f=${f} s=${s}`, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      sent++;
    }
  }
  sock.close();
  const want = (file: string) => {
    const out: string[] = [];
    for (let f = 0; f < 24; f++) for (let s = 0; s < 8; s++) if (EXPECTED[file]!(f, s)) out.push(`f=${f} s=${s}`);
    return out;
  };
  const total = Object.keys(EXPECTED).reduce((n, file) => n + want(file).length, 0);
  const got = (file: string) => readLines(path.join(dir, file)).map((l) => l.slice(l.indexOf('prog: ') + 6));
  await waitFor(() => Object.keys(EXPECTED).reduce((n, file) => n + got(file).length, 0) >= total, `${total} routed lines`);
  assert.equal(sent, 192);
  for (const file of Object.keys(EXPECTED)) {
    assert.deepEqual(got(file).sort(), want(file).sort(), `${file} holds exactly what syslogd would write there`);
  }
});
