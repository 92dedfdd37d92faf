// The store's sealer: leaf hashes for new records, signed checkpoints over the tree, durable.
//
// The store calls, in this order: openSealer at start (before accepting writes), append for
// each batch it is about to commit (it stores the returned hash with each row), due() after
// each commit and on a timer, checkpoint(reason) — only for records already committed — and
// close() at a clean stop. Checkpoints go to <dir>/checkpoints.ndjson, fsync'd before
// checkpoint() returns; `onCheckpoint` hands each one on (as an event for an off-host anchor).

import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../errors.js';
import { checkpointHash, checkpointToJson, readCheckpointFile, signedBytes } from './checkpoint.js';
import {
  commitNextKey, discardNextKey, keyIdOf, loadSigningKey, pendingNextKey, prepareNextKey, signBytes, syncDir,
  type SealKey,
} from './keys.js';
import { CompactRange, leafHash } from './merkle.js';
import type { Checkpoint, CheckpointReason, SealMark, SealOptions, SealChunk, SealRecord, Sealer } from './types.js';

interface Savepoint extends SealMark { tree: CompactRange; firstUnsealedAt: number | null }

export const CHECKPOINT_FILE = 'checkpoints.ndjson';

/** Where the seal keeps its files for a store: checkpoints beside the store, keys under data_dir. */
export function sealPaths(storeDir: string, dataDir: string): { dir: string; keyDir: string } {
  return { dir: path.join(storeDir, 'seal'), keyDir: dataDir };
}

/** Defaults the store uses when its config does not say: 10,000 events / 10 s / 60 s. */
export const SEAL_DEFAULTS = { everyEvents: 10_000, everyMs: 10_000, heartbeatMs: 60_000 } as const;

export interface OpenSealerOptions extends SealOptions {
  /** The highest seq the store ever assigned (kept even after retention removed rows). */
  lastSeq: number;
  /** The stored leaf hashes of rows fromSeq..toSeq inclusive, in seq order. */
  leafHashes: (fromSeq: number, toSeq: number) => Iterable<Buffer>;
  /** Called with every checkpoint once it is durable (send it to an anchor destination). */
  onCheckpoint?: (cp: Checkpoint) => void;
}

export class FileSealer implements Sealer {
  private tree: CompactRange;
  private last: Checkpoint | null;
  private key: SealKey;
  private fd: number;
  private firstUnsealedAt: number | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: OpenSealerOptions, state: { tree: CompactRange; last: Checkpoint | null; key: SealKey; fd: number }) {
    this.tree = state.tree;
    this.last = state.last;
    this.key = state.key;
    this.fd = state.fd;
    this.now = opts.now ?? Date.now;
    if (this.unsealed > 0) this.firstUnsealedAt = this.now();
  }

  get size(): number {
    return this.tree.size;
  }

  get sealedSize(): number {
    return this.last?.size ?? 0;
  }

  get lastCheckpoint(): Checkpoint | null {
    return this.last;
  }

  get keyId(): string {
    return this.key.id;
  }

  /** The current signing key, for archive and drop manifests (it changes at a rotation). */
  get signingKey(): SealKey {
    return this.key;
  }

  private get unsealed(): number {
    return this.tree.size - (this.last?.size ?? 0);
  }

  append(records: SealRecord[]): Buffer[] {
    this.assertOpen();
    const out: Buffer[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.seq !== this.tree.size + 1) {
        throw new SluiceError('SLUICE_ERR_SEAL_STATE', `sealer expected seq ${this.tree.size + 1}, got ${r.seq}: the store must append gap-free, in order`);
      }
      const h = leafHash(r.seq, r.bytes);
      this.tree.append(h);
      out[i] = h;
    }
    if (records.length > 0 && this.firstUnsealedAt === null) this.firstUnsealedAt = this.now();
    return out;
  }

  appendChunk(chunk: SealChunk): void {
    this.assertOpen();
    if (chunk.firstSeq !== this.tree.size + 1) {
      throw new SluiceError('SLUICE_ERR_SEAL_STATE', `sealer expected seq ${this.tree.size + 1}, got ${chunk.firstSeq}: the store must append gap-free, in order`);
    }
    this.tree.appendChunk(chunk);
    if (chunk.count > 0 && this.firstUnsealedAt === null) this.firstUnsealedAt = this.now();
  }

  /** The tree as it is now, to return to if the commit of what is appended next fails. */
  savepoint(): Savepoint {
    return { size: this.tree.size, tree: this.tree.clone(), firstUnsealedAt: this.firstUnsealedAt };
  }

  /** Forgets records appended after `sp` (their transaction rolled back); never below a checkpoint. */
  rollback(sp: Savepoint): void {
    this.assertOpen();
    if (sp.size < (this.last?.size ?? 0)) {
      throw new SluiceError('SLUICE_ERR_SEAL_STATE', `cannot roll the seal back to ${sp.size}: checkpoint #${this.last!.index} already sealed ${this.last!.size}`);
    }
    this.tree = sp.tree.clone();
    this.firstUnsealedAt = sp.firstUnsealedAt;
  }

  due(): CheckpointReason | null {
    if (this.closed) return null;
    const unsealed = this.unsealed;
    if (unsealed >= this.opts.everyEvents) return 'count';
    const now = this.now();
    if (unsealed > 0 && this.firstUnsealedAt !== null && now - this.firstUnsealedAt >= this.opts.everyMs) return 'interval';
    if (unsealed === 0 && this.last && now - this.last.time >= this.opts.heartbeatMs) return 'heartbeat';
    return null;
  }

  checkpoint(reason: CheckpointReason, at?: SealMark): Checkpoint {
    this.assertOpen();
    if (at === undefined) return this.write(reason, null, this.tree);
    const sp = at as Savepoint;
    if (!(sp.tree instanceof CompactRange) || sp.size > this.tree.size || sp.size < (this.last?.size ?? 0)) {
      throw new SluiceError('SLUICE_ERR_SEAL_STATE', `cannot sign a checkpoint at ${sp.size}: the tree holds ${this.tree.size} and the last checkpoint sealed ${this.last?.size ?? 0}`);
    }
    return this.write(reason, null, sp.tree);
  }

  /**
   * Introduces a new signing key: a checkpoint signed by the current key names it, and every
   * later checkpoint is signed by it. The old private key is gone afterwards, so what it
   * sealed cannot be re-signed by whoever later takes this machine.
   */
  rotateKey(): Checkpoint {
    this.assertOpen();
    const next = prepareNextKey(this.opts.keyDir);
    const cp = this.write('rotate', next.raw, this.tree);
    commitNextKey(this.opts.keyDir, next);
    this.key = next;
    return cp;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.write('stop', null, this.tree);
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private write(reason: CheckpointReason, nextKey: Buffer | null, tree: CompactRange): Checkpoint {
    const now = this.now();
    const base = {
      index: (this.last?.index ?? 0) + 1,
      size: tree.size,
      root: tree.root(),
      // The chain's time never goes backwards, even if the clock does: verify relies on it.
      time: Math.max(now, this.last?.time ?? 0),
      reason,
      prev: this.last ? checkpointHash(this.last) : null,
      keyId: this.key.id,
      nextKey,
    };
    const cp: Checkpoint = { ...base, frontier: tree.frontier(), signature: signBytes(signedBytes(base), this.key) };
    fs.writeSync(this.fd, `${JSON.stringify(checkpointToJson(cp))}\n`);
    fs.fsyncSync(this.fd);
    this.last = cp;
    // Records appended after a savepoint are unsealed still: their clock starts now.
    this.firstUnsealedAt = this.tree.size > tree.size ? now : null;
    this.opts.onCheckpoint?.(cp);
    return cp;
  }

  private assertOpen(): void {
    if (this.closed) throw new SluiceError('SLUICE_ERR_SEAL_STATE', 'the sealer is closed');
  }
}

/**
 * Restores the sealer: the tree from the last checkpoint's frontier plus the stored hashes of
 * later rows, the key that chain expects (fail closed), then seals a 'start' checkpoint.
 */
export async function openSealer(opts: OpenSealerOptions): Promise<FileSealer> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const file = path.join(opts.dir, CHECKPOINT_FILE);
  const read = readCheckpointFile(file);
  if (read && read.bad.length > 0) {
    throw new SluiceError('SLUICE_ERR_SEAL_STATE', `${file} line ${read.bad[0]!.line} is not a checkpoint (${read.bad[0]!.reason}); run sluice verify`);
  }
  if (read?.tornTail) {
    // A line cut by a crash mid-write: that checkpoint was never returned to anyone.
    fs.truncateSync(file, read.goodLength);
  }
  const last = read?.checkpoints.at(-1) ?? null;
  if (!last && opts.lastSeq > 0) {
    throw new SluiceError('SLUICE_ERR_SEAL_STATE', `the store holds records up to seq ${opts.lastSeq} but ${file} has no checkpoints: seal state lost or removed; run sluice verify`);
  }
  let key = loadSigningKey(opts.keyDir, last === null);
  if (last) key = keyForChain(opts.keyDir, last, key, file);

  if (last && opts.lastSeq < last.size) {
    throw new SluiceError('SLUICE_ERR_SEAL_STATE', `the store's last seq is ${opts.lastSeq} but checkpoint #${last.index} sealed records up to ${last.size}: sealed records are missing; run sluice verify`);
  }
  const tree = restoreTree(opts, last);
  const fd = fs.openSync(file, 'a', 0o644);
  syncDir(opts.dir);
  const sealer = new FileSealer(opts, { tree, last, key, fd });
  sealer.checkpoint('start');
  return sealer;
}

/** The key the chain's last checkpoint expects next: its signer, or the key it introduced. */
function keyForChain(keyDir: string, last: Checkpoint, key: SealKey, file: string): SealKey {
  const expected = last.nextKey ? keyIdOf(last.nextKey) : last.keyId;
  if (key.id === expected) return key;
  const pending = pendingNextKey(keyDir);
  if (pending && pending.id === expected) {
    commitNextKey(keyDir, pending);
    return pending;
  }
  if (pending) discardNextKey(keyDir);
  if (key.id === last.keyId && !last.nextKey) return key;
  throw new SluiceError('SLUICE_ERR_SEAL_KEY', `the seal key ${key.id} is not the key ${expected} that ${file} checkpoint #${last.index} expects next; the store will not run with a different key`);
}

function restoreTree(opts: OpenSealerOptions, last: Checkpoint | null): CompactRange {
  let tree: CompactRange | null = null;
  if (last?.frontier) {
    try {
      const t = new CompactRange(last.size, last.frontier);
      if (t.root().equals(last.root)) tree = t;
    } catch {
      tree = null;
    }
  }
  if (last) {
    if (!tree) {
      tree = new CompactRange();
      for (const h of opts.leafHashes(1, last.size)) tree.append(h);
      if (tree.size !== last.size || !tree.root().equals(last.root)) {
        throw new SluiceError('SLUICE_ERR_SEAL_STATE', `the stored hashes of seq 1..${last.size} do not give checkpoint #${last.index}'s root: records were altered or removed; run sluice verify`);
      }
    }
  } else {
    tree = new CompactRange();
  }
  if (opts.lastSeq > tree.size) {
    const from = tree.size + 1;
    for (const h of opts.leafHashes(from, opts.lastSeq)) tree.append(h);
    if (tree.size !== opts.lastSeq) {
      throw new SluiceError('SLUICE_ERR_SEAL_STATE', `the store gave ${tree.size - from + 1} hashes for seq ${from}..${opts.lastSeq}: unsealed rows are missing; run sluice verify`);
    }
  }
  return tree;
}
