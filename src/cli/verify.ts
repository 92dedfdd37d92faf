// `sluice verify`: prove the store (database and archives) intact against its signed checkpoints.
//
// Exit 0 intact, 1 when anything was altered, removed, reordered or truncated (one line per
// problem, each naming its seq range), 2 when it cannot check (no key, no store, unreadable).

import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile, loadConfigText } from '../config/load.js';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from '../config/default.js';
import { describeError } from '../errors.js';
// registers the embedded store's seal source (the registry loads the store destination only for configs that use it)
import '../destinations/store/index.js';
import { openArchiveSealSource } from '../store/archive/seal-source.js';
import { parseAnchor, readCheckpointFile } from '../store/seal/checkpoint.js';
import { exportPublicKey, keyIdOf, loadTrustedKey, publicKeyFromRaw, type PublicKeyInfo } from '../store/seal/keys.js';
import { storeSealSourceOpener } from '../store/seal/registry.js';
import { CHECKPOINT_FILE, SEAL_DEFAULTS, sealPaths } from '../store/seal/sealer.js';
import type { Checkpoint, OpenStoreSealSource, SealSource, VerifyProblem, VerifyReport } from '../store/seal/types.js';
import { verifySeal } from '../store/seal/verify.js';

export interface VerifyCliOptions {
  config?: string;
  /** The store directory (default: the config's store destination path, or <data_dir>/store). */
  store?: string;
  /** The data_dir holding seal/ keys (default: the config's data_dir, or the store's parent with --store). */
  keyDir?: string;
  archiveDir?: string;
  /** NDJSON files of checkpoint events kept elsewhere. */
  anchor?: string[];
  /** A pinned copy of the trusted public key (from --export-key). */
  key?: string;
  strict?: boolean;
  json?: boolean;
  exportKey?: boolean;
}

export interface VerifyDeps {
  openStoreSealSource?: OpenStoreSealSource | null;
  now?: () => number;
}

export interface VerifyOutcome {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
  report: VerifyReport | null;
}

interface Paths { storeDir: string; keyDir: string; archiveDir: string }

function resolvePaths(o: VerifyCliOptions): Paths {
  if (o.store) {
    const storeDir = o.store;
    return { storeDir, keyDir: o.keyDir ?? path.dirname(path.resolve(storeDir)), archiveDir: o.archiveDir ?? path.join(storeDir, 'archive') };
  }
  const cfg = o.config ? loadConfigFile(o.config) : loadConfigText(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME);
  let storeDir = path.join(cfg.dataDir, 'store');
  let archiveDir: string | null = null;
  for (const { config } of cfg.destinations.values()) {
    const c = config as unknown as { type: string; path?: string; archive?: { dir?: string } };
    if (c.type !== 'store') continue;
    if (c.path) storeDir = c.path;
    if (c.archive?.dir) archiveDir = c.archive.dir;
    break;
  }
  return { storeDir, keyDir: o.keyDir ?? cfg.dataDir, archiveDir: o.archiveDir ?? archiveDir ?? path.join(storeDir, 'archive') };
}

const cannot = (msg: string): VerifyOutcome => ({ exitCode: 2, stdout: '', stderr: `sluice verify: cannot check: ${msg}\n`, report: null });

export function runVerify(o: VerifyCliOptions, deps: VerifyDeps = {}): VerifyOutcome {
  let paths: Paths;
  try {
    paths = resolvePaths(o);
  } catch (e) {
    return cannot(describeError(e));
  }
  if (o.exportKey) {
    try {
      return { exitCode: 0, stdout: exportPublicKey(paths.keyDir), stderr: '', report: null };
    } catch (e) {
      return cannot(describeError(e));
    }
  }
  let trusted: PublicKeyInfo;
  try {
    trusted = loadTrustedKey(paths.keyDir, o.key);
  } catch (e) {
    return cannot(describeError(e));
  }
  const sealDir = sealPaths(paths.storeDir, paths.keyDir).dir;
  let cpFile;
  try {
    cpFile = readCheckpointFile(path.join(sealDir, CHECKPOINT_FILE));
  } catch (e) {
    return cannot(`checkpoints in ${sealDir}: ${describeError(e)}`);
  }
  const checkpoints: Checkpoint[] = cpFile?.checkpoints ?? [];
  let anchors: Checkpoint[] = [];
  const extra: VerifyProblem[] = [];
  for (const file of o.anchor ?? []) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      return cannot(`anchor ${file}: ${describeError(e)}`);
    }
    const a = parseAnchor(text);
    anchors = anchors.concat(a.checkpoints);
    for (const b of a.bad) extra.push({ kind: 'bad_chain', message: `bad_chain: anchor ${file} line ${b.line} is a damaged checkpoint (${b.reason})` });
  }
  // Every key the chain (or an anchor) introduced may have signed an archive manifest.
  const keys = new Map<string, PublicKeyInfo>([[trusted.id, trusted]]);
  for (const cp of [...checkpoints, ...anchors]) if (cp.nextKey && !keys.has(keyIdOf(cp.nextKey))) keys.set(keyIdOf(cp.nextKey), publicKeyFromRaw(cp.nextKey));

  const opener = deps.openStoreSealSource ?? storeSealSourceOpener();
  if (!opener) return cannot('this build of sluice has no store backend registered for verify');
  if (!fs.existsSync(paths.storeDir)) return cannot(`no store at ${paths.storeDir}`);
  let store: { source: SealSource; close(): void };
  try {
    store = opener(paths.storeDir);
  } catch (e) {
    return cannot(`store ${paths.storeDir}: ${describeError(e)}`);
  }
  let report: VerifyReport;
  try {
    const archives = openArchiveSealSource(paths.archiveDir, [...keys.values()]);
    report = verifySeal([archives.source, store.source], checkpoints, [trusted], {
      strict: o.strict,
      anchors,
      dropped: archives.dropped,
      sourceProblems: [...archives.problems, ...extra],
      badCheckpointLines: cpFile?.bad,
      now: (deps.now ?? Date.now)(),
      heartbeatMs: SEAL_DEFAULTS.heartbeatMs,
    });
  } catch (e) {
    return cannot(`reading ${paths.storeDir}: ${describeError(e)}`);
  } finally {
    store.close();
  }
  if (!cpFile && report.records > 0) {
    report.problems.unshift({ kind: 'bad_chain', from: 1, message: `bad_chain: ${path.join(sealDir, CHECKPOINT_FILE)} is missing: the store holds ${report.records} records and no checkpoint (removed)` });
    report.ok = false;
  }
  if (o.json) return { exitCode: report.ok ? 0 : 1, stdout: `${JSON.stringify(report)}\n`, stderr: '', report };
  return { exitCode: report.ok ? 0 : 1, stdout: formatReport(report, checkpoints), stderr: '', report };
}

function iso(t: number | null): string {
  return t === null ? '?' : new Date(t).toISOString();
}

export function formatReport(r: VerifyReport, checkpoints: Checkpoint[]): string {
  const lines = r.problems.map((p) => p.message);
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  if (r.unsealed) lines.push(`unsealed tail: ${r.unsealed.count} records after the last checkpoint (${iso(r.unsealed.firstTime)} .. ${iso(r.unsealed.lastTime)})${r.ok ? '; sealed at the next checkpoint' : ''}`);
  const last = checkpoints[checkpoints.length - 1];
  const chain = last ? `${r.checkpoints} checkpoints (last #${last.index}, ${last.size} records, ${iso(last.time)})` : 'no checkpoints';
  lines.push(r.ok ? `intact: ${r.records} records, ${chain}` : `NOT intact: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${r.records} records, ${chain}`);
  return `${lines.join('\n')}\n`;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description("check the store's records and archives against its signed checkpoints (exit 0 intact, 1 tampered, 2 cannot check)")
    .option('-c, --config <file>', 'YAML config file (default: the embedded default)')
    .option('--store <dir>', 'the store directory (default: from the config)')
    .option('--key-dir <dir>', 'the data_dir holding seal/ keys (default: from the config)')
    .option('--archive-dir <dir>', 'the archive directory (default: from the config)')
    .option('--anchor <file>', 'NDJSON of checkpoint events kept elsewhere (repeatable)', (v: string, a: string[] = []) => [...a, v])
    .option('--key <file>', 'a pinned copy of the public key (from --export-key) to trust instead of the one on disk')
    .option('--strict', 'an unsealed tail, or a chain that ended without a clean stop over 2 heartbeats ago, is a failure too')
    .option('--json', 'print the report as one JSON object')
    .option('--export-key', 'print the public key (PEM) to keep off-host, and exit')
    .action((opts: VerifyCliOptions) => {
      const r = runVerify(opts);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    });
}
