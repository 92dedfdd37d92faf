// Path globs for the file source: `*`, `?`, `[...]`, `{a,b}` within a segment and `**` across
// directories. Expansion walks only the directories a pattern can reach, bounded in depth.

import fs from 'node:fs';
import path from 'node:path';

const MAX_DEPTH = 16;
const MAX_ENTRIES = 100_000;

function hasMagic(s: string): boolean {
  return /[*?[{]/.test(s);
}

/** One path segment's glob as an anchored regular expression. */
const segmentCache = new Map<string, RegExp>();
export function segmentRegExp(glob: string): RegExp {
  let r = segmentCache.get(glob);
  if (!r) segmentCache.set(glob, (r = compileSegment(glob)));
  return r;
}

function compileSegment(glob: string): RegExp {
  let re = '';
  let inClass = false;
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (inClass) {
      if (c === ']') { inClass = false; re += ']'; } else if (c === '\\') re += '\\\\'; else re += c;
      continue;
    }
    switch (c) {
      case '*': re += '[^/]*'; break;
      case '?': re += '[^/]'; break;
      case '[': inClass = true; re += glob[i + 1] === '!' ? (i++, '[^') : '['; break;
      case '{': braces++; re += '(?:'; break;
      case '}': if (braces > 0) { braces--; re += ')'; } else re += '\\}'; break;
      case ',': re += braces > 0 ? '|' : ','; break;
      default: re += c.replace(/[.+^$()|\\]/g, '\\$&');
    }
  }
  return new RegExp('^' + re + '$');
}

/** Whether a whole path matches a glob (`**` spans directories). */
export function globMatch(glob: string, file: string): boolean {
  return toRegExp(glob).test(file);
}

const cache = new Map<string, RegExp>();
function toRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  const parts = glob.split('/').map((seg) => (seg === '**' ? null : segmentRegExp(seg).source.slice(1, -1)));
  let src = '';
  parts.forEach((p, i) => {
    if (p === null) src += i === parts.length - 1 ? '.*' : '(?:[^/]*/)*';
    else src += p + (i < parts.length - 1 ? '/' : '');
  });
  re = new RegExp('^' + src + '$');
  cache.set(glob, re);
  return re;
}

/** Regular files matching an absolute glob; unreadable directories are reported through onError. */
export function expandGlob(pattern: string, onError: (dir: string, e: Error) => void): string[] {
  const segs = pattern.split('/');
  let fixed = 0;
  while (fixed < segs.length && !hasMagic(segs[fixed]!)) fixed++;
  if (fixed === segs.length) {
    try {
      return fs.statSync(pattern).isFile() ? [pattern] : [];
    } catch {
      return [];
    }
  }
  const root = segs.slice(0, fixed).join('/') || '/';
  const out: string[] = [];
  let seen = 0;
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH || seen > MAX_ENTRIES) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      onError(dir, e as Error);
      return;
    }
    for (const ent of entries) {
      if (++seen > MAX_ENTRIES) return;
      const full = path.join(dir, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        try {
          const st = fs.statSync(full);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isFile && globMatch(pattern, full)) out.push(full);
      else if (isDir && couldMatchBelow(segs, full)) walk(full, depth + 1);
    }
  };
  walk(root, 0);
  return out.sort();
}

/** Whether some path under `dir` could match the pattern (prunes the walk). */
function couldMatchBelow(segs: string[], dir: string): boolean {
  const d = dir.split('/');
  for (let i = 0; i < d.length; i++) {
    const s = segs[i];
    if (s === undefined) return false;
    if (s === '**') return true;
    if (!segmentRegExp(s).test(d[i]!)) return false;
  }
  return d.length < segs.length;
}
