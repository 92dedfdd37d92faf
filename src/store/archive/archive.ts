// Archive files: a partition's records, compressed, with a signed manifest; manifests chain.
//
// File layout: "SLUICEAR" 0x01 <codec byte> then blocks, each
//   u32be compressed length, u32be record count, compressed bytes of frames
//   frame = u64be seq, f64be time (ms), u32be length, bytes
// Blocks hold about 1 MiB of frames and are compressed independently, so a reader streams
// (one block in memory) and a cut file still yields every whole block before the cut.
//
// Codec: brotli quality 5 (node:zlib; zstd is not in Node 20's zlib). Measured with
// bench/micro/archive-compression.ts on 200,000 realistic syslog rows (nginx, sshd, systemd,
// postfix, kernel, cron; stored as JSON rows of ~268 B), 1 MiB blocks, this shared 2-core
// machine, two runs (speeds vary ±30% with the other helpers' load):
//   gzip -1     5.43x  49.4 B/row  compress 132-138 MB/s  decompress 247-291 MB/s
//   gzip -6     6.55x  40.9 B/row  compress  46-55 MB/s   decompress 199-386 MB/s
//   gzip -9     6.77x  39.6 B/row  compress  25-27 MB/s   decompress 180-307 MB/s
//   brotli q4   6.66x  40.3 B/row  compress  68-87 MB/s   decompress 203-535 MB/s
//   brotli q5   7.21x  37.2 B/row  compress  67 MB/s      decompress 672 MB/s
//   brotli q6   7.30x  36.7 B/row  compress  26-62 MB/s   decompress 190-523 MB/s
//   brotli q9   7.44x  36.0 B/row  compress  14-19 MB/s   decompress 322-364 MB/s
// brotli q5 stores 9% less than gzip -6 and compresses at least as fast; q6+ gain little
// for the time. `codec: 'gzip'` remains for readers that only have gzip.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { SluiceError } from '../../errors.js';
import { signBytes, syncDir, verifyBytes, type PublicKeyInfo, type SealKey } from '../seal/keys.js';
import { CompactRange, leafHash } from '../seal/merkle.js';

export type ArchiveCodec = 'gzip' | 'brotli';

export interface ArchiveRecord {
  seq: number;
  time: number;
  /** The store's serialized row: opaque here. */
  bytes: Buffer;
}

export interface Manifest {
  format: 'sluice-archive-manifest/1';
  /** Position in the chain of manifests in this archive directory, from 1. */
  index: number;
  /** 'archive': the records are in `file`; 'drop': they were deleted by retention, only this remains. */
  kind: 'archive' | 'drop';
  /** The archive file's name, relative to the manifest's directory (null for a drop). */
  file: string | null;
  codec: ArchiveCodec | null;
  sha256: string | null;
  bytes: number | null;
  count: number;
  first_seq: number | null;
  last_seq: number | null;
  first_time: number | null;
  last_time: number | null;
  /** RFC 6962 root over the records' leaves (u64be(seq) ‖ bytes), in file order. */
  root: string;
  /** sha256 of the previous manifest's signed bytes, hex (null for the first). */
  prev: string | null;
  /** Free-form: the partition it came from. */
  partition: string | null;
  created: number;
  key_id: string;
  signature: string;
}

const MAGIC = Buffer.from('SLUICEAR');
const VERSION = 1;
const CODEC_BYTE: Record<ArchiveCodec, number> = { gzip: 1, brotli: 2 };
const BLOCK_BYTES = 1 << 20;
const HEADER = MAGIC.length + 2;
const MANIFEST_SUFFIX = '.manifest.json';

export function manifestPathFor(archiveFile: string): string {
  return archiveFile + MANIFEST_SUFFIX;
}

function compress(codec: ArchiveCodec, data: Buffer): Buffer {
  return codec === 'gzip'
    ? zlib.gzipSync(data, { level: 6 })
    : zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
}

function decompress(codec: ArchiveCodec, data: Buffer): Buffer {
  return codec === 'gzip' ? zlib.gunzipSync(data) : zlib.brotliDecompressSync(data);
}

function manifestSignedBytes(m: Omit<Manifest, 'signature'>): Buffer {
  const { format, index, kind, file, codec, sha256, bytes, count, first_seq, last_seq, first_time, last_time, root, prev, partition, created, key_id } = m;
  return Buffer.from(`${format}\n${JSON.stringify([index, kind, file, codec, sha256, bytes, count, first_seq, last_seq, first_time, last_time, root, prev, partition, created, key_id])}`);
}

export function manifestHash(m: Manifest): string {
  return createHash('sha256').update(manifestSignedBytes(m)).digest('hex');
}

export interface ArchiveMeta {
  /** The seal key that signs the manifest (from loadSigningKey). */
  key: SealKey;
  /** The manifest this one follows; default: the newest manifest in the file's directory. */
  prev?: Manifest | null;
  partition?: string | null;
  codec?: ArchiveCodec;
  now?: () => number;
}

interface Summary {
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  firstTime: number | null;
  lastTime: number | null;
  tree: CompactRange;
}

function summarize(s: Summary, r: ArchiveRecord): void {
  if (s.count === 0) { s.firstSeq = r.seq; s.firstTime = r.time; }
  s.count++;
  s.lastSeq = r.seq;
  s.lastTime = r.time;
  s.tree.append(leafHash(r.seq, r.bytes));
}

/**
 * Writes `records` (in seq order) to `file` and its signed manifest beside it, both fsync'd
 * and renamed into place: the archive exists completely or not at all. The store deletes
 * the partition only after this returns.
 */
export function writeArchive(file: string, records: Iterable<ArchiveRecord>, meta: ArchiveMeta): Manifest {
  const codec = meta.codec ?? 'brotli';
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  const hash = createHash('sha256');
  let written = 0;
  const put = (b: Buffer) => {
    fs.writeSync(fd, b);
    hash.update(b);
    written += b.length;
  };
  const s: Summary = { count: 0, firstSeq: null, lastSeq: null, firstTime: null, lastTime: null, tree: new CompactRange() };
  try {
    put(Buffer.concat([MAGIC, Buffer.from([VERSION, CODEC_BYTE[codec]])]));
    let frames: Buffer[] = [];
    let frameBytes = 0;
    let inBlock = 0;
    const flush = () => {
      if (inBlock === 0) return;
      const z = compress(codec, Buffer.concat(frames, frameBytes));
      const h = Buffer.allocUnsafe(8);
      h.writeUInt32BE(z.length, 0);
      h.writeUInt32BE(inBlock, 4);
      put(h);
      put(z);
      frames = [];
      frameBytes = 0;
      inBlock = 0;
    };
    for (const r of records) {
      if (s.lastSeq !== null && r.seq <= s.lastSeq) throw new SluiceError('SLUICE_ERR_ARCHIVE', `archive ${file}: records must come in ascending seq order (${r.seq} after ${s.lastSeq})`);
      const h = Buffer.allocUnsafe(20);
      h.writeBigUInt64BE(BigInt(r.seq), 0);
      h.writeDoubleBE(r.time, 8);
      h.writeUInt32BE(r.bytes.length, 16);
      frames.push(h, r.bytes);
      frameBytes += 20 + r.bytes.length;
      inBlock++;
      summarize(s, r);
      if (frameBytes >= BLOCK_BYTES) flush();
    }
    flush();
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  const m = writeManifest(manifestPathFor(file), {
    kind: 'archive', file: path.basename(file), codec, sha256: hash.digest('hex'), bytes: written, summary: s,
  }, meta, dir);
  syncDir(dir);
  return m;
}

/**
 * Records that retention deletes without an archive leave a signed drop manifest in the
 * archive directory, so verify tells "dropped by policy" from "deleted".
 */
export function writeDropManifest(dir: string, name: string, records: Iterable<ArchiveRecord>, meta: ArchiveMeta): Manifest {
  fs.mkdirSync(dir, { recursive: true });
  const s: Summary = { count: 0, firstSeq: null, lastSeq: null, firstTime: null, lastTime: null, tree: new CompactRange() };
  for (const r of records) summarize(s, r);
  return writeManifest(path.join(dir, `${name}.drop${MANIFEST_SUFFIX}`), { kind: 'drop', file: null, codec: null, sha256: null, bytes: null, summary: s }, meta, dir);
}

function writeManifest(
  target: string,
  what: { kind: Manifest['kind']; file: string | null; codec: ArchiveCodec | null; sha256: string | null; bytes: number | null; summary: Summary },
  meta: ArchiveMeta,
  dir: string,
): Manifest {
  const prev = meta.prev !== undefined ? meta.prev : latestManifest(dir);
  const s = what.summary;
  const body: Omit<Manifest, 'signature'> = {
    format: 'sluice-archive-manifest/1',
    index: (prev?.index ?? 0) + 1,
    kind: what.kind,
    file: what.file,
    codec: what.codec,
    sha256: what.sha256,
    bytes: what.bytes,
    count: s.count,
    first_seq: s.firstSeq,
    last_seq: s.lastSeq,
    first_time: s.firstTime,
    last_time: s.lastTime,
    root: s.tree.root().toString('hex'),
    prev: prev ? manifestHash(prev) : null,
    partition: meta.partition ?? null,
    created: (meta.now ?? Date.now)(),
    key_id: meta.key.id,
  };
  const m: Manifest = { ...body, signature: signBytes(manifestSignedBytes(body), meta.key).toString('hex') };
  const tmp = `${target}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, `${JSON.stringify(m, null, 1)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
  syncDir(dir);
  return m;
}

/** Every manifest in `dir`, by index (unreadable ones are reported by readManifests). */
export function readManifests(dir: string): { manifests: Array<{ path: string; manifest: Manifest }>; bad: Array<{ path: string; reason: string }> } {
  const manifests: Array<{ path: string; manifest: Manifest }> = [];
  const bad: Array<{ path: string; reason: string }> = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { manifests, bad };
    throw e;
  }
  for (const n of names) {
    if (!n.endsWith(MANIFEST_SUFFIX)) continue;
    const p = path.join(dir, n);
    try {
      const m = JSON.parse(fs.readFileSync(p, 'utf8')) as Manifest;
      if (m.format !== 'sluice-archive-manifest/1' || !Number.isSafeInteger(m.index)) throw new Error('not a sluice archive manifest');
      manifests.push({ path: p, manifest: m });
    } catch (e) {
      bad.push({ path: p, reason: (e as Error).message });
    }
  }
  manifests.sort((a, b) => a.manifest.index - b.manifest.index);
  return { manifests, bad };
}

export function latestManifest(dir: string): Manifest | null {
  return readManifests(dir).manifests.at(-1)?.manifest ?? null;
}

export interface ReadState {
  /** Bytes of the file consumed by whole blocks. */
  goodBytes: number;
  /** Why reading stopped early, or null at a clean end. */
  error: string | null;
}

/** The records back, one block in memory at a time. Throws at a cut or corrupt block. */
export function* readArchive(file: string): Generator<ArchiveRecord> {
  const state: ReadState = { goodBytes: 0, error: null };
  yield* readArchiveTolerant(file, state);
  if (state.error) throw new SluiceError('SLUICE_ERR_ARCHIVE', `archive ${file}: ${state.error}`);
}

/** Like readArchive, but stops at the first bad block and says why in `state`. */
export function* readArchiveTolerant(file: string, state: ReadState): Generator<ArchiveRecord> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    state.error = `cannot open: ${(e as Error).message}`;
    return;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(HEADER);
    if (fs.readSync(fd, head, 0, HEADER, 0) !== HEADER || !head.subarray(0, MAGIC.length).equals(MAGIC) || head[MAGIC.length] !== VERSION) {
      state.error = 'not a sluice archive (bad header)';
      return;
    }
    const codec = head[MAGIC.length + 1] === 1 ? 'gzip' : head[MAGIC.length + 1] === 2 ? 'brotli' : null;
    if (!codec) { state.error = `unknown codec ${head[MAGIC.length + 1]}`; return; }
    let pos = HEADER;
    state.goodBytes = pos;
    const bh = Buffer.alloc(8);
    while (pos < size) {
      if (pos + 8 > size) { state.error = `cut inside a block header at byte ${pos} of ${size}`; return; }
      fs.readSync(fd, bh, 0, 8, pos);
      const len = bh.readUInt32BE(0);
      const n = bh.readUInt32BE(4);
      if (pos + 8 + len > size) { state.error = `cut inside a block at byte ${pos} (block of ${len} bytes, file has ${size})`; return; }
      const z = Buffer.allocUnsafe(len);
      fs.readSync(fd, z, 0, len, pos + 8);
      let raw: Buffer;
      try {
        raw = decompress(codec, z);
      } catch (e) {
        state.error = `block at byte ${pos} does not decompress (${(e as Error).message})`;
        return;
      }
      const recs: ArchiveRecord[] = [];
      let p = 0;
      for (let i = 0; i < n; i++) {
        if (p + 20 > raw.length) { state.error = `block at byte ${pos} holds fewer records than its header says`; return; }
        const seq = Number(raw.readBigUInt64BE(p));
        const time = raw.readDoubleBE(p + 8);
        const l = raw.readUInt32BE(p + 16);
        if (p + 20 + l > raw.length) { state.error = `block at byte ${pos}: record ${i} runs past the block`; return; }
        recs.push({ seq, time, bytes: raw.subarray(p + 20, p + 20 + l) });
        p += 20 + l;
      }
      pos += 8 + len;
      state.goodBytes = pos;
      yield* recs;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface ArchiveProblem {
  kind: 'archive' | 'truncated' | 'altered';
  from?: number;
  to?: number;
  message: string;
}

const span = (a: number | null, b: number | null) => (a === null ? 'no records' : a === b ? `seq ${a}` : `seq ${a}..${b}`);

/** Checks one archive file against its manifest: signature, sha256, count, seq range, root. */
export function verifyArchive(file: string, manifest: Manifest, keys: PublicKeyInfo[]): ArchiveProblem[] {
  const out: ArchiveProblem[] = [];
  const name = path.basename(file);
  const key = keys.find((k) => k.id === manifest.key_id);
  const { signature, ...body } = manifest;
  if (!key || !verifyBytes(manifestSignedBytes(body), Buffer.from(signature, 'hex'), key)) {
    out.push({ kind: 'archive', from: manifest.first_seq ?? undefined, to: manifest.last_seq ?? undefined, message: `archive: manifest of ${name} (${span(manifest.first_seq, manifest.last_seq)}) ${key ? 'has a bad signature' : `is signed by unknown key ${manifest.key_id}`}` });
  }
  if (manifest.kind === 'drop') return out;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    out.push({ kind: 'archive', from: manifest.first_seq ?? undefined, to: manifest.last_seq ?? undefined, message: `archive: ${name} is missing: ${span(manifest.first_seq, manifest.last_seq)} gone` });
    return out;
  }
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  if (h.digest('hex') === manifest.sha256 && st.size === manifest.bytes) return out;

  // The file changed: say how, by reading what is still readable.
  const state: ReadState = { goodBytes: 0, error: null };
  const s: Summary = { count: 0, firstSeq: null, lastSeq: null, firstTime: null, lastTime: null, tree: new CompactRange() };
  for (const r of readArchiveTolerant(file, state)) summarize(s, r);
  const last = manifest.last_seq!;
  if (s.count < manifest.count && (state.error || st.size < (manifest.bytes ?? 0))) {
    const from = s.lastSeq === null ? manifest.first_seq! : s.lastSeq + 1;
    out.push({ kind: 'truncated', from, to: last, message: `truncated: archive ${name} is cut (${st.size} of ${manifest.bytes} bytes): seq ${from}..${last} missing from it` });
  } else if (state.error) {
    out.push({ kind: 'archive', from: manifest.first_seq!, to: last, message: `archive: ${name} is damaged (${state.error}) within ${span(manifest.first_seq, last)}` });
  } else {
    out.push({ kind: 'altered', from: manifest.first_seq!, to: last, message: `altered: archive ${name} differs from its manifest's sha256 within ${span(manifest.first_seq, last)}${s.tree.root().toString('hex') === manifest.root ? ' (its records still give the manifest root: framing changed)' : ''}` });
  }
  return out;
}
