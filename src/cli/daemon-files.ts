// Files a running daemon keeps under data_dir for the CLI: its PID and the last reload's outcome.

import fs from 'node:fs';
import path from 'node:path';
import { makeDirsSync } from '../util/make-dirs.js';

export interface ReloadStatus {
  ok: boolean;
  generation: number;
  /** Milliseconds since the epoch. */
  at: number;
  error?: string;
}

export const pidFile = (dataDir: string) => path.join(dataDir, 'sluice.pid');
export const reloadStatusFile = (dataDir: string) => path.join(dataDir, 'reload-status.json');

export function writePidFile(dataDir: string): void {
  makeDirsSync(dataDir);
  fs.writeFileSync(pidFile(dataDir), `${process.pid}\n`);
}

export function removePidFile(dataDir: string): void {
  try {
    if (fs.readFileSync(pidFile(dataDir), 'utf8').trim() === String(process.pid)) fs.unlinkSync(pidFile(dataDir));
  } catch { /* already gone */ }
}

export function readPid(dataDir: string): number | null {
  try {
    const n = Number(fs.readFileSync(pidFile(dataDir), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Written whole then renamed, so a reader never sees half of it. */
export function writeReloadStatus(dataDir: string, s: Omit<ReloadStatus, 'at'>): void {
  const file = reloadStatusFile(dataDir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ ...s, at: Date.now() }) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

export function readReloadStatus(dataDir: string): ReloadStatus | null {
  try {
    return JSON.parse(fs.readFileSync(reloadStatusFile(dataDir), 'utf8')) as ReloadStatus;
  } catch {
    return null;
  }
}
