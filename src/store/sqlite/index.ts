// The embedded store's entry points for the daemon, `sluice query`, `sluice verify` and the API.

import { SqliteStoreReader, type ReaderOptions } from './reader.js';
import { EmbeddedStore, embeddedSealSource, type EmbeddedStoreOptions } from './store.js';
import type { SealSource } from '../seal/types.js';
import type { StoreReader } from '../types.js';

export { recordBytes, type StoredRow } from './record.js';
export { listPartitions, type PartitionInfo } from './schema.js';
export { EmbeddedStore, type EmbeddedStoreOptions } from './store.js';
export { SqliteStoreReader, DEFAULT_SCAN_BUDGET_MS, type ReaderOptions } from './reader.js';

/** The write side (the store destination uses it): seq, sealing, commits. */
export function openEmbeddedStore(dir: string, opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  return EmbeddedStore.open(dir, opts);
}

/** A StoreReader over the store in dir; read-only, works beside the daemon writing it. */
export function openEmbeddedReader(dir: string, opts: ReaderOptions = {}): StoreReader {
  return new SqliteStoreReader(dir, opts);
}

/** Every record of the store in dir, ascending seq, as verify reads them (read-only). */
export function openEmbeddedSealSource(dir: string): SealSource {
  return embeddedSealSource(dir);
}
