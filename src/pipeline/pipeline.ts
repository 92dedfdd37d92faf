// Builds a running pipeline from a validated config, and takes it down in order.

import path from 'node:path';
import type { EventBuffer } from '../buffer/types.js';
import { DiskBuffer } from '../buffer/disk.js';
import { MemoryBuffer } from '../buffer/memory.js';
import type { SluiceConfig } from '../config/load.js';
import type { OuterConfig, RegisteredDestinationKind } from '../destinations/index.js';
import { describeError, SluiceError } from '../errors.js';
import { log } from '../log.js';
import { Metrics } from '../metrics/registry.js';
import type { Source } from '../sources/types.js';
import type { StoreReader } from '../store/types.js';
import type { ApiServer } from '../web/api-server.js';
import { DeadLetterFile } from './dead-letter.js';
import { DestinationRunner } from './destination-runner.js';
import { planReload, type ComponentChanges } from './reload-plan.js';
import { buildAnalysis, type Analysis } from './analysis.js';
import { Router, type LogPath } from './router.js';

const MEMORY_BUFFER_DEFAULT = 10 * 1024 * 1024;
const DISK_BUFFER_DEFAULT = 1024 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;
/** How long a destination replaced by a reload may deliver before handing its buffer on (sources wait meanwhile). */
const RELOAD_DRAIN_MS = 2_000;

export interface PipelineOptions {
  /** Relative paths (files, certificates, data_dir) resolve against this; default: cwd. */
  baseDir?: string;
  metrics?: Metrics;
}

export interface ReloadResult {
  generation: number;
  sources: ComponentChanges;
  destinations: ComponentChanges;
}

export class Pipeline {
  readonly sources = new Map<string, Source>();
  readonly runners = new Map<string, DestinationRunner>();
  api: ApiServer | null = null;
  private apiStore: StoreReader | null = null;
  private analysis: Analysis | null = null;
  /** 1 at start, one more per applied reload. */
  generation = 1;
  private stopped = false;
  private reloading: Promise<unknown> = Promise.resolve();

  private constructor(public config: SluiceConfig, readonly metrics: Metrics, readonly router: Router, readonly baseDir: string, private readonly dataDir: string) {}

  static async start(config: SluiceConfig, opts: PipelineOptions = {}): Promise<Pipeline> {
    const baseDir = opts.baseDir ?? process.cwd();
    const metrics = opts.metrics ?? new Metrics();
    const dataDir = path.resolve(baseDir, config.dataDir);
    const pipeline = new Pipeline(config, metrics, new Router([], [], []), baseDir, dataDir);
    await loadKinds(config);
    for (const [name, { kind, config: dc }] of config.destinations) pipeline.runners.set(name, await pipeline.buildRunner(name, kind, dc));
    pipeline.analysis = buildAnalysis(config, metrics);
    pipeline.router.reconfigure(pipeline.paths(config), pipeline.routedSources(config), [...pipeline.runners.values()]);
    metrics.configGeneration.set(1);
    try {
      for (const r of pipeline.runners.values()) await pipeline.startRunner(r);
      for (const name of config.sources.keys()) await pipeline.startSource(name, config);
      if (config.api) await pipeline.startApi(config);
    } catch (e) {
      await pipeline.stop();
      throw e;
    }
    return pipeline;
  }

  private async buildRunner(name: string, kind: RegisteredDestinationKind, dc: OuterConfig): Promise<DestinationRunner> {
    const { metrics, dataDir, baseDir } = this;
    const dest = (await kind.load()).build(dc, { name, metrics, dataDir, baseDir });
    const buffer = await makeBuffer(name, dc, dataDir, baseDir, kind.durable === true);
    const deadLetter = new DeadLetterFile(path.resolve(baseDir, dc.dead_letter ?? path.join(dataDir, 'dead-letter', `${name}.ndjson`)), name);
    metrics.watchBuffer(name, buffer, dc.buffer.max_bytes ?? (dc.buffer.type === 'memory' ? MEMORY_BUFFER_DEFAULT : DISK_BUFFER_DEFAULT));
    return new DestinationRunner(name, dest, buffer, metrics, { initialMs: dc.retry.initial, maxMs: dc.retry.max }, deadLetter);
  }

  private async startRunner(r: DestinationRunner): Promise<void> {
    await r.destination.start();
    r.start();
  }

  private async startSource(name: string, config: SluiceConfig): Promise<void> {
    const { kind, config: sc } = config.sources.get(name)!;
    const source = (await kind.load()).build(sc, { name, router: this.router, metrics: this.metrics, baseDir: this.baseDir, dataDir: this.dataDir });
    this.sources.set(name, source);
    await source.start();
    log('info', `source ${name}`, 'listening', { on: source.addresses().join(' ') });
  }

  private async startApi(config: SluiceConfig): Promise<void> {
    // The API reads the first store destination of the config (embedded or PostgreSQL).
    this.apiStore ??= [...this.runners.values()].find((r) => r.destination.openReader)?.destination.openReader?.() ?? null;
    // The web UI and API are loaded only when a config serves them (`api: false` never does).
    const { ApiServer } = await import('../web/api-server.js');
    this.api = new ApiServer(config.api!, this.metrics, { dataDir: this.dataDir, openMetrics: config.apiOpenMetrics, ...(this.apiStore ? { store: this.apiStore } : {}) });
    await this.api.start();
    log('info', 'api', 'serving the web UI, /api/, /metrics and /health', { on: this.api.url });
  }

  private paths(config: SluiceConfig): LogPath[] {
    const analysis = this.analysis!;
    return config.log.map((p) => ({
      from: p.from, filter: p.filter, final: p.final, fallback: p.fallback,
      // `to` may also name rule sets, which analysis.pathParts wires in.
      to: p.to.filter((d) => this.runners.has(d)).map((d) => this.runners.get(d)!),
      ...analysis.pathParts(p),
    }));
  }

  /** What the router routes from: sources, and rule sets (their alerts). */
  private routedSources(config: SluiceConfig): string[] {
    return [...config.sources.keys(), ...config.rules.keys()];
  }

  /**
   * Applies `next` as a difference (SIGHUP, `sluice reload`): kept components go on
   * untouched (TLS listeners re-read certificate files that changed), added ones start,
   * removed ones stop taking events and drain, changed ones are replaced and hand over what
   * their buffer holds. While destinations are swapped the router holds every batch, so
   * nothing accepted is lost or sent twice. Rejects (and changes nothing) when `next` asks
   * for what needs a restart; a failure to start a new component is reported, the rest applied.
   */
  reload(next: SluiceConfig): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.applyReload(next));
    this.reloading = run.catch(() => {});
    return run;
  }

  private async applyReload(next: SluiceConfig): Promise<ReloadResult> {
    if (this.stopped) throw new SluiceError('SLUICE_ERR_RELOAD', 'the pipeline is stopping');
    const plan = planReload(this.config, next);
    if (plan.refused) throw new SluiceError('SLUICE_ERR_RELOAD', plan.refused);
    await loadKinds(next); // a type that cannot be loaded refuses the reload before anything stops
    const d = plan.destinations, s = plan.sources;
    // Sources that go away stop first, while their events still have the old routes.
    for (const name of [...s.removed, ...s.changed]) await this.stopSource(name);
    // Build what is new before anything is swapped: a destination that cannot be built
    // leaves the running config as it is.
    const fresh = new Map<string, DestinationRunner>();
    try {
      for (const name of d.added) {
        const { kind, config: dc } = next.destinations.get(name)!;
        fresh.set(name, await this.buildRunner(name, kind, dc));
      }
    } catch (e) {
      for (const r of fresh.values()) await r.stop(0).catch(() => {});
      throw e;
    }
    this.router.pause();
    const retired: DestinationRunner[] = [];
    try {
      for (const name of d.changed) {
        const old = this.runners.get(name)!;
        // The old one delivers what it can briefly, then hands the rest to its replacement:
        // a disk buffer by its directory (closed first), a memory buffer by moving its queue.
        await old.stop(RELOAD_DRAIN_MS);
        const { kind, config: dc } = next.destinations.get(name)!;
        const replacement = await this.buildRunner(name, kind, dc);
        if (old.buffer instanceof MemoryBuffer && replacement.buffer instanceof MemoryBuffer) {
          old.buffer.untake();
          old.buffer.moveTo(replacement.buffer);
        } else if (old.buffer.events > 0 && old.buffer.kind !== replacement.buffer.kind) {
          log('warn', `destination ${name}`, 'buffer type changed on reload: what the old buffer held stays in it', { old: old.buffer.kind, events: old.buffer.events });
        }
        fresh.set(name, replacement);
      }
      for (const name of d.removed) {
        retired.push(this.runners.get(name)!);
        this.runners.delete(name);
        this.metrics.unwatchBuffer(name);
      }
      for (const [name, r] of fresh) this.runners.set(name, r);
      for (const r of fresh.values()) await this.startRunner(r);
      this.config = next;
      // Transforms and rule sets are built anew: correlation windows open at the reload start over.
      this.analysis = buildAnalysis(next, this.metrics);
      this.router.reconfigure(this.paths(next), this.routedSources(next), [...this.runners.values()]);
    } finally {
      this.router.resume();
    }
    // Removed destinations drain in the background: nothing routes to them any more.
    for (const r of retired) {
      r.stop(DRAIN_TIMEOUT_MS).then(() => {
        if (r.buffer.events > 0) log('warn', `destination ${r.name}`, 'removed by reload with events it could not deliver', { buffer: r.buffer.kind, events: r.buffer.events });
      }, (e) => log('warn', `destination ${r.name}`, 'stop after reload failed', { error: String(e) }));
    }
    const problems: string[] = [];
    for (const name of [...s.added, ...s.changed]) {
      await this.startSource(name, next).catch((e) => { problems.push(`source ${name}: ${describeError(e)}`); this.sources.delete(name); });
    }
    for (const name of s.kept) this.sources.get(name)?.reload?.();
    if (plan.apiChanged) {
      await this.api?.stop();
      this.api = null;
      if (next.api) await this.startApi(next).catch((e) => problems.push(`api: ${describeError(e)}`));
    }
    await this.reopen();
    this.generation++;
    this.metrics.configGeneration.set(this.generation);
    this.metrics.configLastReload.set(Date.now() / 1000);
    if (problems.length) log('error', 'sluice', 'reload applied, but some components did not start', { problems: problems.join('; ') });
    return { generation: this.generation, sources: s, destinations: d };
  }

  private async stopSource(name: string): Promise<void> {
    const src = this.sources.get(name);
    this.sources.delete(name);
    await src?.stop().catch((e) => log('warn', `source ${name}`, 'stop failed', { error: String(e) }));
  }

  /** Stops sources first (their events still flow on), then drains destinations. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reloading;
    await Promise.all([...this.sources.values()].map((s) => s.stop().catch((e) => log('warn', 'pipeline', 'source stop failed', { error: String(e) }))));
    await Promise.all([...this.runners.values()].map((r) => r.stop(DRAIN_TIMEOUT_MS).catch((e) => log('warn', 'pipeline', 'destination stop failed', { error: String(e) }))));
    await this.api?.stop();
    await this.apiStore?.close();
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

/** Imports the implementations of the source and destination types a config uses. */
async function loadKinds(config: SluiceConfig): Promise<void> {
  await Promise.all([...config.sources.values(), ...config.destinations.values()].map(({ kind }) => kind.load()));
}
