// TEST-ONLY Sealer: RFC 6962 leaf hashes (sha256 of 0x00 || record), NO signatures, NO Merkle tree.
//
// The store's unit tests use it to check the store's side of the contract (record bytes,
// hashes kept, catch-up after a crash) without keys; the daemon tests run the real sealer. Its durable state is a JSON file of checkpoint sizes,
// written only at checkpoint(), as the store expects of a Sealer. Never use it outside tests.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Checkpoint, CheckpointReason, SealChunk, SealMark, Sealer, SealOptions, SealRecord } from '../../src/store/seal/types.js';

export class TestSealer implements Sealer {
  size = 0;
  checkpoints: Checkpoint[] = [];
  appended = 0;
  private firstUnsealedAt: number | null = null;
  private lastCheckpointAt: number;
  private readonly file: string;
  private readonly now: () => number;

  constructor(private readonly opts: SealOptions) {
    this.now = opts.now ?? Date.now;
    fs.mkdirSync(opts.dir, { recursive: true });
    this.file = path.join(opts.dir, 'test-checkpoints.json');
    if (fs.existsSync(this.file)) {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { size: number; reason: CheckpointReason; index: number }[];
      this.size = saved.at(-1)?.size ?? 0;
      this.checkpoints = saved.map((c) => ({ ...c, root: Buffer.alloc(32), time: 0, prev: null, keyId: 'test', signature: Buffer.alloc(0) }));
    }
    this.lastCheckpointAt = this.now();
  }

  append(records: SealRecord[]): Buffer[] {
    const out: Buffer[] = [];
    for (const r of records) {
      if (r.seq !== this.size + 1) throw new Error(`test sealer: seq ${r.seq} appended after ${this.size}`);
      this.size = r.seq;
      out.push(crypto.createHash('sha256').update(Buffer.of(0)).update(r.bytes).digest());
    }
    this.appended += records.length;
    if (records.length && this.firstUnsealedAt === null) this.firstUnsealedAt = this.now();
    return out;
  }

  appendChunk(c: SealChunk): void {
    const records: SealRecord[] = [];
    for (let i = 0; i < c.count; i++) records.push({ seq: c.firstSeq + i, bytes: c.buf.subarray(c.starts[i], c.ends[i]) });
    this.append(records).forEach((h, i) => h.copy(c.buf, c.hashAt[i]));
  }

  get sealedSize(): number {
    return this.checkpoints.at(-1)?.size ?? 0;
  }

  due(): CheckpointReason | null {
    const unsealed = this.size - this.sealedSize;
    if (unsealed >= this.opts.everyEvents) return 'count';
    if (unsealed > 0 && this.firstUnsealedAt !== null && this.now() - this.firstUnsealedAt >= this.opts.everyMs) return 'interval';
    if (unsealed === 0 && this.now() - this.lastCheckpointAt >= this.opts.heartbeatMs) return 'heartbeat';
    return null;
  }

  savepoint(): SealMark {
    return { size: this.size };
  }

  checkpoint(reason: CheckpointReason, at?: SealMark): Checkpoint {
    const c: Checkpoint = { index: this.checkpoints.length + 1, size: at?.size ?? this.size, root: Buffer.alloc(32), time: this.now(), reason, prev: null, keyId: 'test', signature: Buffer.alloc(0) };
    this.checkpoints.push(c);
    this.firstUnsealedAt = c.size < this.size ? this.now() : null;
    this.lastCheckpointAt = c.time;
    fs.writeFileSync(this.file, JSON.stringify(this.checkpoints.map((x) => ({ index: x.index, size: x.size, reason: x.reason }))));
    return c;
  }

  async close(): Promise<void> {
    if (this.size > this.sealedSize) this.checkpoint('stop');
  }
}

export function testSealerOptions(dir: string): SealOptions {
  return { dir: path.join(dir, 'seal'), keyDir: path.join(dir, 'keys'), everyEvents: 10_000, everyMs: 10_000, heartbeatMs: 60_000 };
}
