// mkdir -p that fails instead of spinning: Node's recursive mkdir loops forever on procfs.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** A directory that cannot be made: the same path will fail again, so it is not worth retrying. */
export class DirectoryError extends Error {
  readonly code: string;
  readonly permanent = true;
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super(`cannot create directory ${dir}: ${cause.code ?? ''} ${cause.message}`.trim(), { cause });
    this.code = cause.code ?? 'EMKDIR';
  }
}

const MAX_DEPTH = 256;

/** The missing ancestors of dir, outermost first; throws if an ancestor is not a directory. */
function missingAncestors(dir: string, exists: (d: string) => boolean | 'notdir'): string[] {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (let i = 0; i < MAX_DEPTH; i++) {
    const e = exists(d);
    if (e === true) break;
    if (e === 'notdir') throw new DirectoryError(dir, Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' }));
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  return missing.reverse();
}

export async function makeDirs(dir: string, mode = 0o750): Promise<void> {
  const seen = new Map<string, boolean | 'notdir'>();
  for (let d = path.resolve(dir), i = 0; i < MAX_DEPTH; i++) {
    try {
      seen.set(d, (await fsp.stat(d)).isDirectory() ? true : 'notdir');
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new DirectoryError(dir, e as NodeJS.ErrnoException);
      seen.set(d, false);
      if (path.dirname(d) === d) break;
      d = path.dirname(d);
    }
  }
  for (const m of missingAncestors(dir, (d) => seen.get(d) ?? true)) {
    try {
      await fsp.mkdir(m, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DirectoryError(m, e as NodeJS.ErrnoException);
    }
  }
}

export function makeDirsSync(dir: string, mode = 0o750): void {
  const exists = (d: string): boolean | 'notdir' => {
    try {
      return fs.statSync(d).isDirectory() ? true : 'notdir';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new DirectoryError(dir, e as NodeJS.ErrnoException);
    }
  };
  for (const m of missingAncestors(dir, exists)) {
    try {
      fs.mkdirSync(m, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DirectoryError(m, e as NodeJS.ErrnoException);
    }
  }
}
