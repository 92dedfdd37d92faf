// Polling helpers for tests: wait for a condition with a bound, never a fixed sleep as an assertion.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, everyMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `sluice-${prefix}-`));
  process.once('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Lines of a file, or [] while it does not exist. */
export function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  } catch {
    return [];
  }
}
