// Archives as a SealSource, so `sluice verify` covers what left the database too.

import path from 'node:path';
import type { PublicKeyInfo } from '../seal/keys.js';
import type { SealSource, VerifyProblem } from '../seal/types.js';
import { manifestHash, readArchiveTolerant, readManifests, verifyArchive, type Manifest, type ReadState } from './archive.js';

export interface ArchiveSealSource {
  source: SealSource;
  /** Manifest chain and file problems, found before any record is read. */
  problems: VerifyProblem[];
  /** Ranges retention dropped under a valid signed drop manifest. */
  dropped: Array<{ from: number; to: number; where: string }>;
  manifests: Manifest[];
}

export function openArchiveSealSource(dir: string, keys: PublicKeyInfo[]): ArchiveSealSource {
  const { manifests, bad } = readManifests(dir);
  const problems: VerifyProblem[] = bad.map((b) => ({ kind: 'archive', message: `archive: ${path.basename(b.path)} is not a readable manifest (${b.reason})` }));
  const dropped: ArchiveSealSource['dropped'] = [];
  let prev: Manifest | null = null;
  for (const { path: p, manifest: m } of manifests) {
    const seqs = m.first_seq !== null && m.last_seq !== null ? { from: m.first_seq, to: m.last_seq } : {};
    if (!prev && m.index !== 1) problems.push({ kind: 'archive', message: `archive: the manifest chain starts at #${m.index}: manifests #1..#${m.index - 1} were removed` });
    if (prev && m.index !== prev.index + 1) problems.push({ kind: 'archive', message: `archive: manifests #${prev.index + 1}..#${m.index - 1} were removed (between ${prev.partition ?? prev.file} and ${m.partition ?? m.file})` });
    else if (prev && m.prev !== manifestHash(prev)) problems.push({ kind: 'archive', ...seqs, message: `archive: manifest #${m.index} (${path.basename(p)}) does not link to #${prev.index}: one of them was replaced` });
    else if (!prev && m.index === 1 && m.prev !== null) problems.push({ kind: 'archive', ...seqs, message: `archive: manifest #1 links to a predecessor` });
    prev = m;
    const file = m.file ? path.join(path.dirname(p), m.file) : p;
    const found = verifyArchive(file, m, keys);
    problems.push(...found);
    if (m.kind === 'drop' && found.length === 0 && m.first_seq !== null && m.last_seq !== null) {
      dropped.push({ from: m.first_seq, to: m.last_seq, where: `drop manifest ${path.basename(p)}` });
    }
  }
  const archives = manifests.filter((x) => x.manifest.kind === 'archive' && x.manifest.file);
  const source: SealSource = {
    *records() {
      for (const { path: p, manifest: m } of archives) {
        const state: ReadState = { goodBytes: 0, error: null };
        const where = `archive ${m.file}`;
        for (const r of readArchiveTolerant(path.join(path.dirname(p), m.file!), state)) {
          yield { seq: r.seq, bytes: r.bytes, storedHash: null, time: r.time, where };
        }
      }
    },
  };
  return { source, problems, dropped, manifests: manifests.map((x) => x.manifest) };
}
