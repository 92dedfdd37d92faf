// Whether the daemon's user can read what a config names and write where it writes: TLS
// certificates, keys and CAs, data_dir, file destinations' directories, buffers, dead letters.
//
// A daemon that validates fine as root and then fails at 3 a.m. as `sluice` is the case this
// catches. Checked by permission bits for the user given (uid, groups), or by access(2) for
// the user running the check.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { SluiceConfig } from './load.js';

export interface RunAs {
  name: string;
  uid: number;
  gids: number[];
}

/** uid and groups of a user name, from id(1). */
export function lookupUser(name: string): RunAs {
  const out = (args: string[]) => execFileSync('id', [...args, name], { encoding: 'utf8' }).trim();
  try {
    return { name, uid: Number(out(['-u'])), gids: out(['-G']).split(/\s+/).map(Number) };
  } catch {
    throw new Error(`no such user: ${name}`);
  }
}

type Need = 'read' | 'write';

interface Check { what: string; file: string; need: Need }

/** Problems, one line each ("cannot read the TLS key of source net: /etc/… (mode 0600, owner 0)"). */
export function checkAccess(cfg: SluiceConfig, baseDir: string, user: RunAs | null): string[] {
  const checks: Check[] = [{ what: 'data_dir', file: path.resolve(baseDir, cfg.dataDir), need: 'write' }];
  const components: [string, unknown][] = [
    ...[...cfg.sources].map(([n, s]) => [`source ${n}`, s.config] as [string, unknown]),
    ...[...cfg.destinations].map(([n, d]) => [`destination ${n}`, d.config] as [string, unknown]),
  ];
  for (const [name, config] of components) {
    const c = config as Record<string, unknown>;
    const t = c.tls as Record<string, unknown> | undefined;
    if (t) for (const k of ['cert', 'key', 'ca']) if (typeof t[k] === 'string') checks.push({ what: `the TLS ${k} of ${name}`, file: path.resolve(baseDir, t[k] as string), need: 'read' });
    if (c.type === 'file' && typeof c.path === 'string') {
      // Only the part before the first macro is known now.
      const fixed = c.path.split('${')[0]!;
      const dir = c.path.includes('${') && fixed.endsWith('/') ? fixed : path.dirname(fixed);
      checks.push({ what: `the files of ${name}`, file: path.resolve(baseDir, dir), need: 'write' });
    }
    const buffer = c.buffer as { type?: string; path?: string } | undefined;
    if (buffer?.type === 'disk' && buffer.path) checks.push({ what: `the disk buffer of ${name}`, file: path.resolve(baseDir, buffer.path), need: 'write' });
    if (typeof c.dead_letter === 'string') checks.push({ what: `the dead-letter file of ${name}`, file: path.dirname(path.resolve(baseDir, c.dead_letter)), need: 'write' });
  }
  const problems: string[] = [];
  for (const c of checks) {
    const p = problem(c, user);
    if (p) problems.push(`${c.what}: ${p}`);
  }
  return problems;
}

function problem(c: Check, user: RunAs | null): string | null {
  // A directory to write in may not exist yet: sluice creates it, so its nearest existing ancestor must be writable.
  let target = c.file;
  if (c.need === 'write') {
    while (!fs.existsSync(target)) {
      const up = path.dirname(target);
      if (up === target) break;
      target = up;
    }
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch (e) {
    return `${c.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message}`;
  }
  const dirNeedsWrite = c.need === 'write';
  if (dirNeedsWrite && !st.isDirectory()) return `${target} is not a directory`;
  const who = user ? `user ${user.name}` : 'this user';
  const mode = `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}`;
  const ok = user ? allowedByBits(st, user, dirNeedsWrite ? 0o3 : 0o4) : allowedNow(target, dirNeedsWrite ? fs.constants.W_OK | fs.constants.X_OK : fs.constants.R_OK);
  if (!ok) return `${who} cannot ${dirNeedsWrite ? `write in ${target}${target !== c.file ? ` (to create ${c.file})` : ''}` : `read ${target}`} (${mode})`;
  // Every directory on the way must be searchable too.
  for (let d = path.dirname(target); ; d = path.dirname(d)) {
    try {
      const ds = fs.statSync(d);
      if (user ? !allowedByBits(ds, user, 0o1) : !allowedNow(d, fs.constants.X_OK)) return `${who} cannot enter ${d} on the way to ${c.file}`;
    } catch { /* unreadable ancestors show up as the stat error above */ }
    if (path.dirname(d) === d) break;
  }
  return null;
}

function allowedNow(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}

/** Permission bits (rwx as 4/2/1 of `want`) for the user, as the kernel decides them (root: always). */
function allowedByBits(st: fs.Stats, user: RunAs, want: number): boolean {
  if (user.uid === 0) return true;
  const bits = st.uid === user.uid ? (st.mode >> 6) & 7 : user.gids.includes(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & want) === want;
}
