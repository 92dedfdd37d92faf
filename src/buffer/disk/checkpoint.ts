// The disk buffer's read checkpoint: the first record (and event in it) not yet committed.
//
// The file holds two 32-byte slots written alternately in place, each with a sequence
// number and a CRC. A write interrupted at any point damages at most the slot being
// written, so the other still holds the previous checkpoint; reading takes the valid slot
// with the highest sequence. One small pwrite per update, no rename, no new inode.
//
// slot := u32 magic "SLCK" | u32 segment | u32 position | u32 skip | f64 sequence | u32 crc32(bytes 0..24) | u32 0

import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

export interface Checkpoint {
  /** Segment id. */
  seg: number;
  /** File offset of the first record not fully committed. */
  pos: number;
  /** Events at the start of that record that are already committed. */
  skip: number;
}

const MAGIC = 0x4b434c53; // "SLCK" read as u32 LE
const SLOT_BYTES = 32;
const CRC_COVERS = 24;

function encodeSlot(ck: Checkpoint, seq: number): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt32LE(ck.seg, 4);
  b.writeUInt32LE(ck.pos, 8);
  b.writeUInt32LE(ck.skip, 12);
  b.writeDoubleLE(seq, 16);
  b.writeUInt32LE(crc32(b.subarray(0, CRC_COVERS)), CRC_COVERS);
  return b;
}

function decodeSlot(b: Buffer): { ck: Checkpoint; seq: number } | null {
  if (b.length < SLOT_BYTES || b.readUInt32LE(0) !== MAGIC) return null;
  if (crc32(b.subarray(0, CRC_COVERS)) !== b.readUInt32LE(CRC_COVERS)) return null;
  return { ck: { seg: b.readUInt32LE(4), pos: b.readUInt32LE(8), skip: b.readUInt32LE(12) }, seq: b.readDoubleLE(16) };
}

export class CheckpointFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private seq: number,
    /** The checkpoint found at open, or null for a new file or two damaged slots. */
    readonly initial: Checkpoint | null,
    /** True when a slot was unreadable at open (reported by the caller). */
    readonly damaged: boolean,
  ) {}

  static async open(path: string): Promise<CheckpointFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fh = await open(path, 'w+');
    }
    const buf = Buffer.alloc(2 * SLOT_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const raw = [buf.subarray(0, Math.min(bytesRead, SLOT_BYTES)), buf.subarray(SLOT_BYTES, Math.max(SLOT_BYTES, bytesRead))];
    const slots = raw.map(decodeSlot);
    let best: { ck: Checkpoint; seq: number } | null = null;
    for (const s of slots) if (s !== null && (best === null || s.seq > best.seq)) best = s;
    // A never-written slot reads as zeros (or is absent); anything else that fails to decode is damage.
    const damaged = slots.some((s, i) => s === null && raw[i]!.some((x) => x !== 0));
    return new CheckpointFile(path, fh, best?.seq ?? 0, best?.ck ?? null, damaged);
  }

  /** Writes the checkpoint over the older slot; with `sync`, also waits for it to reach the disk. */
  async write(ck: Checkpoint, sync: boolean): Promise<void> {
    const seq = this.seq + 1;
    const { bytesWritten } = await this.fh.write(encodeSlot(ck, seq), 0, SLOT_BYTES, (seq % 2) * SLOT_BYTES);
    if (bytesWritten !== SLOT_BYTES) throw new Error(`${this.path}: short checkpoint write (${bytesWritten} of ${SLOT_BYTES} bytes)`);
    this.seq = seq;
    if (sync) await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
