// The embedded default's ports (5140, 8514) are one per machine: the tests that run the
// default config take turns through a lock directory, since the runner runs two files at once.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './wait.js';

const LOCK = path.join(os.tmpdir(), 'sluice-default-ports.lock');

function holderAlive(): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // No pid file yet (being written) counts as alive; a pid that is gone does not.
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? true : (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` while this process holds the default ports (waits up to 5 min for the other test). */
export async function withDefaultPorts<T>(fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + 300_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!holderAlive()) { fs.rmSync(LOCK, { recursive: true, force: true }); continue; }
      if (Date.now() > end) throw new Error(`the default ports stayed taken by another test (lock ${LOCK}) for 5 min`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}
