// Builds a running pipeline from a validated config, and takes it down in order.

import path from 'node:path';
import type { EventBuffer } from '../buffer/types.js';
import { DiskBuffer } from '../buffer/disk.js';
import { MemoryBuffer } from '../buffer/memory.js';
import type { SluiceConfig } from '../config/load.js';
import type { OuterConfig } from '../destinations/index.js';
import { log } from '../log.js';
import { Metrics } from '../metrics/registry.js';
import type { Source } from '../sources/types.js';
import { ApiServer } from '../web/api-server.js';
import { DeadLetterFile } from './dead-letter.js';
import { DestinationRunner } from './destination-runner.js';
import { Router } from './router.js';

const MEMORY_BUFFER_DEFAULT = 12 * 1024 * 1024;
const DISK_BUFFER_DEFAULT = 1024 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

export interface PipelineOptions {
  /** Relative paths (files, certificates, data_dir) resolve against this; default: cwd. */
  baseDir?: string;
  metrics?: Metrics;
}

export class Pipeline {
  readonly sources = new Map<string, Source>();
  readonly runners = new Map<string, DestinationRunner>();
  api: ApiServer | null = null;
  private stopped = false;

  private constructor(readonly config: SluiceConfig, readonly metrics: Metrics, readonly router: Router, readonly baseDir: string) {}

  static async start(config: SluiceConfig, opts: PipelineOptions = {}): Promise<Pipeline> {
    const baseDir = opts.baseDir ?? process.cwd();
    const metrics = opts.metrics ?? new Metrics();
    const dataDir = path.resolve(baseDir, config.dataDir);
    const runners: DestinationRunner[] = [];
    const byName = new Map<string, DestinationRunner>();
    for (const [name, { kind, config: dc }] of config.destinations) {
      const dest = kind.build(dc, { name, metrics, dataDir, baseDir });
      const buffer = await makeBuffer(name, dc, dataDir, baseDir, kind.durable === true);
      const deadLetter = new DeadLetterFile(path.resolve(baseDir, dc.dead_letter ?? path.join(dataDir, 'dead-letter', `${name}.ndjson`)), name);
      metrics.watchBuffer(name, buffer);
      const runner = new DestinationRunner(name, dest, buffer, metrics, { initialMs: dc.retry.initial, maxMs: dc.retry.max }, deadLetter);
      runners.push(runner);
      byName.set(name, runner);
    }
    const paths = config.log.map((p) => ({
      from: p.from, filter: p.filter, final: p.final, fallback: p.fallback,
      to: p.to.map((d) => byName.get(d)!),
    }));
    const router = new Router(paths, [...config.sources.keys()], runners);
    const pipeline = new Pipeline(config, metrics, router, baseDir);
    for (const r of runners) pipeline.runners.set(r.name, r);
    try {
      for (const r of runners) {
        await r.destination.start();
        r.start();
      }
      for (const [name, { kind, config: sc }] of config.sources) {
        const source = kind.build(sc, { name, router, metrics, baseDir, dataDir });
        pipeline.sources.set(name, source);
        await source.start();
        log('info', `source ${name}`, 'listening', { on: source.addresses().join(' ') });
      }
      if (config.api) {
        pipeline.api = new ApiServer(config.api, metrics);
        await pipeline.api.start();
        log('info', 'api', 'serving /metrics and /health', { on: pipeline.api.url });
      }
    } catch (e) {
      await pipeline.stop();
      throw e;
    }
    return pipeline;
  }

  /** Stops sources first (their events still flow on), then drains destinations. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.sources.values()].map((s) => s.stop().catch((e) => log('warn', 'pipeline', 'source stop failed', { error: String(e) }))));
    await Promise.all([...this.runners.values()].map((r) => r.stop(DRAIN_TIMEOUT_MS).catch((e) => log('warn', 'pipeline', 'destination stop failed', { error: String(e) }))));
    await this.api?.stop();
  }

  /** Closes and reopens destination files (SIGHUP, after log rotation). */
  async reopen(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.destination.reopen?.()));
  }

  /** Bound addresses per source (tests use port 0 and read the real port here). */
  addresses(source: string): string[] {
    return this.sources.get(source)?.addresses() ?? [];
  }
}

async function makeBuffer(name: string, dc: OuterConfig, dataDir: string, baseDir: string, durable: boolean): Promise<EventBuffer> {
  const b = dc.buffer;
  if (b.type === 'memory') return new MemoryBuffer(b.max_bytes ?? MEMORY_BUFFER_DEFAULT, b.when_full, durable);
  const disk = new DiskBuffer({
    dir: b.path ? path.resolve(baseDir, b.path) : path.join(dataDir, 'buffers', name),
    maxBytes: b.max_bytes ?? DISK_BUFFER_DEFAULT,
    whenFull: b.when_full,
    fsync: b.fsync,
  });
  await disk.open();
  if (disk.recoveredEvents > 0 || disk.truncatedTailRecords > 0) {
    log('info', `destination ${name}`, 'disk buffer recovered', { events: disk.recoveredEvents, torn_tail_records: disk.truncatedTailRecords, corrupt_records: disk.corruptRecords });
  }
  return disk;
}
