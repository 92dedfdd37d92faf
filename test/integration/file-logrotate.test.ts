// Must show (issue 16, 1): a writer appends 100,000 numbered lines while Debian's logrotate
// rotates by rename twice and by copytruncate once, and sluice is killed with kill -9 once in
// between: every line is delivered; duplicates are counted and come only from the crash.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { spawnSluice, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { findCommand, havePeer } from '../helpers/peers.js';
import { sleep, tempDir, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const TOTAL = 100_000;
let sluice: SluiceProcess | null = null;
after(async () => { await sluice?.stop(); });

test('logrotate rename x2 + copytruncate + kill -9: every line delivered', { timeout: 180_000 }, async (t) => {
  const logrotate = findCommand('logrotate') ?? (fs.existsSync('/usr/sbin/logrotate') ? '/usr/sbin/logrotate' : null);
  if (!havePeer(t, 'logrotate', logrotate)) return;
  const dir = tempDir('logrotate');
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const app = path.join(logs, 'app.log');
  const out = path.join(dir, 'out.log');
  const state = path.join(dir, 'logrotate.state');
  const conf = (mode: 'rename' | 'copytruncate'): string => {
    const f = path.join(dir, `${mode}.conf`);
    fs.writeFileSync(f, `${app} {\n  rotate 10\n  missingok\n  nocompress\n  ${mode === 'rename' ? 'create 0640' : 'copytruncate'}\n}\n`);
    return f;
  };
  const renameConf = conf('rename');
  const copyConf = conf('copytruncate');
  const cfg = writeConfig(dir, `
api: false
data_dir: ${dir}/data
sources:
  tail: { type: file, include: ["${logs}/app.log*"], poll_interval: 50ms, scan_interval: 100ms, rotate_wait: 2s }
destinations:
  out: { type: file, path: "${out}", template: "\${MSG}\\n" }
log:
  - { from: tail, to: out }
`);
  const startSluice = () => spawnSluice(['run', '-c', cfg], { cwd: dir });
  sluice = await startSluice();

  // The writer: numbered lines, reopening its file when the path changes inode (what a
  // postrotate signal makes a daemon do after a rename rotation); O_APPEND for copytruncate.
  let fd = fs.openSync(app, 'a');
  let ino = fs.fstatSync(fd).ino;
  let written = 0;
  const pad = ' padding-to-make-lines-longer'.repeat(2);
  const writeSome = (n: number): void => {
    let s = '';
    for (let i = 0; i < n && written < TOTAL; i++) s += `seq=${++written}${pad}\n`;
    fs.writeSync(fd, s);
    try {
      const now = fs.statSync(app).ino;
      if (now !== ino) { fs.closeSync(fd); fd = fs.openSync(app, 'a'); ino = fs.fstatSync(fd).ino; }
    } catch {
      // between rename and create: keep the old descriptor this turn
    }
  };
  const steps: { at: number; what: string; done: boolean }[] = [
    { at: 15_000, what: 'rename', done: false },
    { at: 35_000, what: 'kill', done: false },
    { at: 50_000, what: 'rename', done: false },
    { at: 70_000, what: 'copytruncate', done: false },
  ];
  while (written < TOTAL) {
    writeSome(200);
    for (const s of steps) {
      if (s.done || written < s.at) continue;
      s.done = true;
      if (s.what === 'kill') {
        await sluice.kill9();
        writeSome(2000);
        sluice = await startSluice();
      } else {
        await run(logrotate!, ['-f', '-s', state, s.what === 'rename' ? renameConf : copyConf]);
      }
    }
    await sleep(4);
  }
  fs.closeSync(fd);

  const seen = new Map<number, number>();
  const count = (): number => {
    seen.clear();
    let text = '';
    try { text = fs.readFileSync(out, 'utf8'); } catch { return 0; }
    for (const line of text.split('\n')) {
      const m = /^seq=(\d+) /.exec(line);
      if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
    return seen.size;
  };
  await waitFor(() => count() === TOTAL, `all ${TOTAL} lines in the output`, 90_000, 250).catch(() => {});
  const missing: number[] = [];
  for (let i = 1; i <= TOTAL; i++) if (!seen.has(i)) missing.push(i);
  const dups = [...seen.entries()].filter(([, n]) => n > 1).map(([s]) => s).sort((a, b) => a - b);
  // Duplicates form ranges; only the crash's window may give one (rotations must give none).
  const ranges: [number, number][] = [];
  for (const s of dups) {
    const last = ranges[ranges.length - 1];
    if (last && s === last[1] + 1) last[1] = s; else ranges.push([s, s]);
  }
  t.diagnostic(`delivered ${seen.size}/${TOTAL}, duplicates ${dups.length} in ranges ${JSON.stringify(ranges)}`);
  for (const l of sluice.stderr) if (/copy|truncated|renamed/.test(l)) t.diagnostic(l.replace(/^\S+ /, '').replace(dir, '$DIR'));
  const files = fs.readdirSync(logs).sort();
  t.diagnostic(`files after rotation: ${files.join(' ')}`);
  assert.ok(files.includes('app.log.3'), 'logrotate rotated three times');
  assert.ok(sluice.stderr.some((l) => /truncated/.test(l)), 'the copytruncate rotation was seen');
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} lines missing`);
  assert.ok(ranges.length <= 1, `duplicates only from the crash window, got ranges ${JSON.stringify(ranges)}`);
  await sluice.stop();
});
