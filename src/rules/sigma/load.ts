// Reads Sigma rule files (multi-document YAML) into rule definitions, each problem at file:line:col.

import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { RuleProblem } from '../types.js';

export interface RuleDoc {
  file: string;
  /** The document as plain data. */
  data: Record<string, unknown>;
  /** file:line:col of a path inside the document (the nearest node that exists). */
  where(p: (string | number)[]): { line: number; col: number };
}

/** Files named by `paths` (a file, a directory's *.yml/*.yaml, or a glob with * and ? in the last part). */
export function expandPaths(patterns: string[], baseDir: string, problems: RuleProblem[], configFile: string): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    const abs = path.resolve(baseDir, p);
    const base = path.basename(abs);
    if (/[*?]/.test(path.dirname(abs))) { problems.push({ file: configFile, line: 0, col: 0, message: `rule path ${p}: wildcards are allowed only in the file name` }); continue; }
    if (/[*?]/.test(base)) {
      const re = new RegExp('^' + base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
      let names: string[] = [];
      try { names = fs.readdirSync(path.dirname(abs)); } catch { /* reported below as no match */ }
      const hits = names.filter((n) => re.test(n)).sort().map((n) => path.join(path.dirname(abs), n));
      if (hits.length === 0) problems.push({ file: configFile, line: 0, col: 0, message: `rule path ${p} matches no file` });
      out.push(...hits);
      continue;
    }
    let st: fs.Stats;
    try { st = fs.statSync(abs); } catch { problems.push({ file: configFile, line: 0, col: 0, message: `rule path ${p}: no such file or directory` }); continue; }
    if (st.isDirectory()) out.push(...fs.readdirSync(abs).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(abs, n)));
    else out.push(abs);
  }
  return [...new Set(out)];
}

export function readRuleFile(file: string, problems: RuleProblem[]): RuleDoc[] {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
    problems.push({ file, line: 0, col: 0, message: `cannot read rule file: ${(e as Error).message}` });
    return [];
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true });
  const list: Document[] = Array.isArray(docs) ? docs : [];
  const out: RuleDoc[] = [];
  for (const doc of list) {
    if (doc.errors.length) {
      for (const e of doc.errors) { const pos = lc.linePos(e.pos[0]); problems.push({ file, line: pos.line, col: pos.col, message: `YAML: ${e.message.split('\n')[0]}` }); }
      continue;
    }
    const data = doc.toJS() as unknown;
    if (data === null || data === undefined) continue;
    const where = (p: (string | number)[]) => {
      for (let n = p.length; n >= 0; n--) {
        // A path that ends on a key names the key (the value may be on a later line).
        const last = p[n - 1];
        if (n > 0 && typeof last === 'string') {
          const parent = n === 1 ? doc.contents : doc.getIn(p.slice(0, n - 1), true);
          if (isMap(parent)) {
            const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === last);
            const k = pair?.key as Node | undefined;
            if (k?.range) return lc.linePos(k.range[0]);
          }
        }
        const node = doc.getIn(p.slice(0, n), true) as Node | undefined;
        if (node && node.range) return lc.linePos(node.range[0]);
      }
      const r = doc.contents?.range;
      return r ? lc.linePos(r[0]) : { line: 1, col: 1 };
    };
    if (typeof data !== 'object' || Array.isArray(data)) {
      const pos = where([]);
      problems.push({ file, line: pos.line, col: pos.col, message: 'a Sigma rule document must be a mapping' });
      continue;
    }
    out.push({ file, data: data as Record<string, unknown>, where });
  }
  return out;
}
