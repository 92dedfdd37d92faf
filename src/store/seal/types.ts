// Tamper evidence between the store and the seal: what a store hands over and gets back.
//
// The store defines each event's canonical record bytes and assigns gap-free sequence
// numbers; the seal turns records into RFC 6962 leaf hashes in an append-only Merkle tree
// and signs checkpoints (ed25519) over its root. Verification recomputes everything from
// the records the store still holds (database and archives) and names what differs.

export interface SealRecord {
  seq: number;
  /** The canonical bytes of one stored event, as the store defines and can reproduce them. */
  bytes: Buffer;
}

/** Records lying in one buffer, sealed in one call; leaf hash i goes to buf[hashAt[i]] (32 bytes). */
export interface SealChunk {
  buf: Buffer;
  /** Record i is buf[starts[i], ends[i]). */
  starts: Uint32Array;
  ends: Uint32Array;
  hashAt: Uint32Array;
  count: number;
  /** The seq of record 0; the others follow gap-free. */
  firstSeq: number;
}

export type CheckpointReason = 'count' | 'interval' | 'heartbeat' | 'partition' | 'stop' | 'start' | 'rotate';

export interface Checkpoint {
  /** Position in the chain of checkpoints, from 1. */
  index: number;
  /** Records sealed: sequence numbers 1..size. */
  size: number;
  /** RFC 6962 Merkle tree hash over leaves 1..size. */
  root: Buffer;
  /** Signing time (ms). */
  time: number;
  reason: CheckpointReason;
  /** Hash of the previous checkpoint's signed bytes (null for the first). */
  prev: Buffer | null;
  /** Which key signed (sha256 of its public key, hex, first 16 chars). */
  keyId: string;
  /** A key rotation: the raw ed25519 public key that signs from the next checkpoint on (signed). */
  nextKey?: Buffer | null;
  /**
   * The tree's compact range at `size` (not signed; checked against `root`): lets the sealer
   * restart without rereading every hash and lets verify resume past a gap or dropped range.
   */
  frontier?: Buffer[];
  signature: Buffer;
}

export interface SealOptions {
  /** Where the seal keeps its state (checkpoints), inside the store's directory. */
  dir: string;
  /** Where the signing key lives (under data_dir); made at first start, never silently skipped. */
  keyDir: string;
  /** Checkpoint after this many new records ... */
  everyEvents: number;
  /** ... or this long after the first unsealed record ... */
  everyMs: number;
  /** ... and as a heartbeat while idle. */
  heartbeatMs: number;
  /** Injected clock (tests). */
  now?: () => number;
}

/** A sealer's tree at one moment (opaque beyond its size: the records it covers, 1..size). */
export interface SealMark {
  readonly size: number;
}

export interface Sealer {
  /**
   * Appends records (in sequence order, continuing from the last appended seq) to the tree
   * and returns their leaf hashes; the store keeps each hash with its row.
   */
  append(records: SealRecord[]): Buffer[];
  /** The same for records lying in one buffer: the store's write path (no object per record). */
  appendChunk(chunk: SealChunk): void;
  /** The reason a checkpoint is due now, or null. */
  due(): CheckpointReason | null;
  /** The tree as it stands now, for a checkpoint signed later: records appended after it may not be committed yet. */
  savepoint(): SealMark;
  /**
   * Signs and durably writes a checkpoint over everything appended so far, or over the tree
   * as it was at `at` (a savepoint of this sealer taken after the last checkpoint).
   */
  checkpoint(reason: CheckpointReason, at?: SealMark): Checkpoint;
  /** Number of records appended (the highest seq). */
  readonly size: number;
  /** Records the last checkpoint covers (1..sealedSize); 0 before the first. */
  readonly sealedSize: number;
  /** Seals a final 'stop' checkpoint (always: it marks a clean stop for verify), then closes. */
  close(): Promise<void>;
}

/** What verification reads from a store: every record it holds, in sequence order. */
export interface SealSource {
  /** Records in ascending seq order (as stored: gaps and disorder are what verify finds). */
  records(): Iterable<{ seq: number; bytes: Buffer; storedHash: Buffer | null; time: number; where: string }>;
}

export type ProblemKind = 'altered' | 'missing' | 'reordered' | 'truncated' | 'bad_signature' | 'bad_chain' | 'key' | 'archive' | 'unsealed';

export interface VerifyProblem {
  kind: ProblemKind;
  /** Inclusive sequence range the problem covers, when it has one. */
  from?: number;
  to?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  checkpoints: number;
  problems: VerifyProblem[];
  /** Records after the last checkpoint: reported, not a failure unless strict. */
  unsealed: { count: number; firstTime: number | null; lastTime: number | null } | null;
  /** Ranges that left the store by retention under a signed drop manifest (not a failure). */
  dropped?: Array<{ from: number; to: number; where: string }>;
  /** Things worth saying that are not failures (a crash before the last stop, a stale chain). */
  notes?: string[];
}

/**
 * How `sluice verify` reaches the store's records: the store registers its implementation
 * (registerStoreSealSource in src/store/seal/registry.ts), tests pass their own.
 */
export type OpenStoreSealSource = (storeDir: string) => { source: SealSource; close(): void };
