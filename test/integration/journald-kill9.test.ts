// journald under kill -9: sluice is killed while it reads a journal made by
// systemd-journal-remote; after the restart every entry is there, duplicates counted.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { spawnSluice, writeConfig, type SluiceProcess } from '../helpers/daemon.js';
import { findCommand, havePeer } from '../helpers/peers.js';
import { tempDir, waitFor } from '../helpers/wait.js';

const JOURNAL_REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find((f) => fs.existsSync(f)) ?? findCommand('systemd-journal-remote');
const TOTAL = 20_000;
let sluice: SluiceProcess | null = null;
after(async () => { await sluice?.stop(); });

test('journald: kill -9 mid-read, restart: every entry delivered', { timeout: 120_000 }, async (t) => {
  if (!havePeer(t, 'journalctl', findCommand('journalctl'))) return;
  if (!havePeer(t, 'systemd-journal-remote', JOURNAL_REMOTE)) return;
  const dir = tempDir('journald-kill9');
  fs.mkdirSync(path.join(dir, 'journal'));
  let text = '';
  for (let i = 0; i < TOTAL; i++) {
    text += `__REALTIME_TIMESTAMP=${1_700_000_000_000_000 + i}\n__MONOTONIC_TIMESTAMP=${1 + i}\n_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=entry seq=${i}\nSYSLOG_IDENTIFIER=app\n\n`;
  }
  fs.writeFileSync(path.join(dir, 'in.export'), text);
  execFileSync(JOURNAL_REMOTE!, ['-o', path.join(dir, 'journal', 'all.journal'), path.join(dir, 'in.export')], { stdio: 'ignore', timeout: 60_000 });
  const out = path.join(dir, 'out.log');
  const cfg = writeConfig(dir, `
api: false
data_dir: ${dir}/data
sources:
  jd: { type: journald, directory: "${dir}/journal", read_from: beginning }
destinations:
  out: { type: file, path: "${out}", template: "\${MSG}\\n" }
log:
  - { from: jd, to: out }
`);
  const size = () => { try { return fs.statSync(out).size; } catch { return 0; } };
  sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir });
  await waitFor(() => size() > 0, 'first entries delivered', 30_000, 5);
  await sluice.kill9();
  const before = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
  sluice = await spawnSluice(['run', '-c', cfg], { cwd: dir });
  const seen = new Map<number, number>();
  const count = () => {
    seen.clear();
    for (const l of fs.readFileSync(out, 'utf8').split('\n')) {
      const m = /seq=(\d+)/.exec(l);
      if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
    return seen.size;
  };
  await waitFor(() => count() === TOTAL, `all ${TOTAL} entries`, 60_000, 200);
  const dups = [...seen.values()].filter((n) => n > 1).length;
  t.diagnostic(`killed after ${before} entries were written; ${dups} delivered twice`);
  assert.equal(seen.size, TOTAL);
  assert.ok(before < TOTAL, 'the kill came before the end (else the test shows nothing)');
  await sluice.stop();
});
