// The `store` destination: every event into the embedded store; `ok` only after the commit.
//
// Registered as durable: memory buffers hold sources' acknowledgements until this answers
// ok, i.e. until the batch is committed (and so survives kill -9), end to end.

import path from 'node:path';
import type { SluiceConfig } from '../../config/load.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import { log } from '../../log.js';
import { registerStoreSealSource } from '../../store/seal/registry.js';
import { openSealer, sealPaths } from '../../store/seal/sealer.js';
import type { SealOptions } from '../../store/seal/types.js';
import type { RetentionPolicy } from '../../store/archive/retention.js';
import { isEmbeddedStore } from '../../store/sqlite/schema.js';
import { ThreadedStoreReader } from '../../store/sqlite/threaded-reader.js';
import { EmbeddedStore, embeddedSealSource } from '../../store/sqlite/store.js';
import type { StoreReader } from '../../store/types.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { storeDestinationInfo, type StoreDestinationConfig } from './config.js';

export { storeDestinationSchema, type StoreDestinationConfig } from './config.js';

// `sluice verify` reads the embedded store's records through this (it closes its own handles).
// A directory without the store's marker is not read as an empty store (verify: cannot check).
registerStoreSealSource((dir) => {
  if (!isEmbeddedStore(dir)) throw new SluiceError('SLUICE_ERR_STORE', `${dir} is not an embedded store (no store.json)`);
  return { source: embeddedSealSource(dir), close: () => {} };
});

/** The store directory of a store destination's config. */
export function storeDir(cfg: Pick<StoreDestinationConfig, 'path'>, dataDir: string, baseDir: string): string {
  return cfg.path !== undefined ? path.resolve(baseDir, cfg.path) : path.join(dataDir, 'store');
}

/** How often retention looks at the partitions (and once at start). */
const RETENTION_EVERY_MS = 10 * 60_000;

export function retentionPolicy(cfg: StoreDestinationConfig): RetentionPolicy {
  const keep = cfg.retention?.min_keep;
  return {
    maxAgeMs: cfg.retention?.max_age ?? null,
    maxBytes: cfg.retention?.max_bytes ?? null,
    archiveAfterMs: cfg.archive?.after ?? null,
    ...(keep !== undefined ? { minKeepDays: Math.ceil(keep / 86_400_000) } : {}),
  };
}

/** archive.dir (relative to the directory sluice runs in), else <store>/archive. */
export function archiveDirOf(cfg: StoreDestinationConfig, dir: string, baseDir: string): string {
  return cfg.archive?.dir !== undefined ? path.resolve(baseDir, cfg.archive.dir) : path.join(dir, 'archive');
}

/** What the sealer of a store is opened with (sealPaths: checkpoints in <store>/seal, the key under data_dir). */
export function sealOptionsFor(cfg: StoreDestinationConfig, dir: string, dataDir: string): SealOptions {
  return {
    ...sealPaths(dir, dataDir),
    everyEvents: cfg.checkpoint.every_events,
    everyMs: cfg.checkpoint.every,
    heartbeatMs: cfg.checkpoint.heartbeat,
  };
}

/** Store destinations of a loaded config, with their directories (for query and verify). */
export function storesOf(config: SluiceConfig, baseDir: string): { name: string; dir: string; config: StoreDestinationConfig; dataDir: string }[] {
  const dataDir = path.resolve(baseDir, config.dataDir);
  const out: { name: string; dir: string; config: StoreDestinationConfig; dataDir: string }[] = [];
  for (const [name, d] of config.destinations) {
    if (d.kind.type !== 'store') continue;
    const c = d.config as unknown as StoreDestinationConfig;
    out.push({ name, dir: storeDir(c, dataDir, baseDir), config: c, dataDir });
  }
  return out;
}

export class StoreDestination implements Destination {
  readonly maxBatch: number;
  /** The next batch is encoded while the writer thread commits the last (store.ts). */
  readonly maxInFlight = 2;
  readonly dir: string;
  private store: EmbeddedStore | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;

  constructor(private readonly cfg: StoreDestinationConfig, private readonly ctx: DestinationContext & { baseDir: string }) {
    this.maxBatch = cfg.batch_events;
    this.dir = storeDir(cfg, ctx.dataDir, ctx.baseDir);
  }

  async start(): Promise<void> {
    const opts = sealOptionsFor(this.cfg, this.dir, this.ctx.dataDir);
    this.store = await EmbeddedStore.open(this.dir, { openSealer: (state) => openSealer({ ...opts, ...state }) });
    if (this.cfg.retention || this.cfg.archive) {
      const store = this.store;
      const policy = retentionPolicy(this.cfg);
      const target = { archiveDir: archiveDirOf(this.cfg, this.dir, this.ctx.baseDir), keyDir: opts.keyDir };
      const run = () => {
        store.retention(policy, Date.now(), target).catch((e: unknown) => log('error', `destination ${this.ctx.name}`, 'retention failed; partitions stay', { error: describeError(e) }));
      };
      run();
      this.retentionTimer = setInterval(run, RETENTION_EVERY_MS);
      this.retentionTimer.unref();
    }
    log('info', `destination ${this.ctx.name}`, 'store open', { dir: this.dir, last_seq: this.store.lastSeq });
  }

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    const store = this.store;
    if (store === null) { done({ status: 'retry', error: `store ${this.dir} is not open` }); return; }
    store.write(events).then(() => done({ status: 'ok' }), (e: unknown) => done({ status: 'retry', error: describeError(e) }));
  }

  async stop(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    const s = this.store;
    this.store = null;
    if (s) await s.close();
  }

  /** For the API: reads run on their own thread, so a long facet count never stalls ingestion. */
  openReader(): StoreReader {
    return new ThreadedStoreReader(this.dir);
  }
}

export const storeDestinationKind: DestinationKind = {
  ...storeDestinationInfo,
  build: (config, ctx) => new StoreDestination(config as StoreDestinationConfig, ctx),
};
