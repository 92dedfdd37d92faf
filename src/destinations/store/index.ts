// The `store` destination: every event into the embedded store; `ok` only after the commit.
//
// Registered as durable: memory buffers hold sources' acknowledgements until this answers
// ok, i.e. until the batch is committed (and so survives kill -9), end to end.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SluiceConfig } from '../../config/load.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError, SluiceError } from '../../errors.js';
import { log } from '../../log.js';
import type { Sealer, SealOptions } from '../../store/seal/types.js';
import { EmbeddedStore } from '../../store/sqlite/store.js';
import type { DestinationKind } from '../index.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import { storeDestinationSchema, type StoreDestinationConfig } from './config.js';

export { storeDestinationSchema, type StoreDestinationConfig } from './config.js';

/** The store directory of a store destination's config. */
export function storeDir(cfg: Pick<StoreDestinationConfig, 'path'>, dataDir: string, baseDir: string): string {
  return cfg.path !== undefined ? path.resolve(baseDir, cfg.path) : path.join(dataDir, 'store');
}

/** What the sealer of a store is opened with (the daemon, and verify to find the key and checkpoints). */
export function sealOptionsFor(cfg: StoreDestinationConfig, dir: string, dataDir: string): SealOptions {
  return {
    dir: path.join(dir, 'seal'),
    keyDir: path.join(dataDir, 'keys'),
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

type OpenSealer = (opts: SealOptions) => Promise<Sealer>;

/**
 * The seal's openSealer (src/store/seal/sealer.ts, branch `seal`). Fails closed: without a
 * sealer the store does not start (no silent fall-back to unsealed storage). Until the seal
 * lands, tests point SLUICE_TEST_SEALER at test/helpers/test-sealer.js; the real one wins.
 */
export async function loadSealer(): Promise<OpenSealer> {
  const real = '../../store/seal/sealer.js';
  try {
    const m = (await import(real)) as { openSealer?: OpenSealer };
    if (typeof m.openSealer === 'function') return m.openSealer;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  const test = process.env.SLUICE_TEST_SEALER;
  if (test) {
    const m = (await import(pathToFileURL(path.resolve(test)).href)) as { openSealer: OpenSealer };
    return m.openSealer;
  }
  throw new SluiceError('SLUICE_ERR_STORE', 'the store needs the seal (src/store/seal/sealer.js), which this build lacks; it does not store events unsealed');
}

export class StoreDestination implements Destination {
  readonly maxBatch: number;
  readonly dir: string;
  private store: EmbeddedStore | null = null;

  constructor(private readonly cfg: StoreDestinationConfig, private readonly ctx: DestinationContext & { baseDir: string }) {
    this.maxBatch = cfg.batch_events;
    this.dir = storeDir(cfg, ctx.dataDir, ctx.baseDir);
  }

  async start(): Promise<void> {
    const open = await loadSealer();
    const opts = sealOptionsFor(this.cfg, this.dir, this.ctx.dataDir);
    this.store = await EmbeddedStore.open(this.dir, { openSealer: () => open(opts) });
    if (this.cfg.retention || this.cfg.archive) {
      log('warn', `destination ${this.ctx.name}`, 'retention and archive are not applied yet: every partition stays in the database', { dir: this.dir });
    }
    log('info', `destination ${this.ctx.name}`, 'store open', { dir: this.dir, last_seq: this.store.lastSeq });
  }

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    const store = this.store;
    if (store === null) { done({ status: 'retry', error: `store ${this.dir} is not open` }); return; }
    store.write(events).then(() => done({ status: 'ok' }), (e: unknown) => done({ status: 'retry', error: describeError(e) }));
  }

  async stop(): Promise<void> {
    const s = this.store;
    this.store = null;
    if (s) await s.close();
  }
}

export const storeDestinationKind: DestinationKind = {
  type: 'store',
  description: 'the embedded store: day partitions in SQLite with full-text search, sealed by a Merkle tree with signed checkpoints',
  schema: storeDestinationSchema,
  durable: true,
  build: (config, ctx) => new StoreDestination(config as StoreDestinationConfig, ctx),
};
