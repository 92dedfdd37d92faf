// The S3 source: lists objects under a prefix (CloudTrail's AWSLogs/ACCOUNT/CloudTrail/REGION/
// YYYY/MM/DD/*.json.gz), reads each new one (gunzipped when it is gzip), one event per record.
// An object is checkpointed as done only once every destination took all its records; a crash
// before that reads it again (duplicates, never loss). Also reads a local directory of such files.

import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { LogEvent, type EventSource } from '../../event/log-event.js';
import { BatchAck } from '../../pipeline/acknowledgement.js';
import { CheckpointFile } from '../checkpoint.js';
import type { SourceKind } from '../index.js';
import { SourceStats } from '../stats.js';
import type { Source, SourceContext } from '../types.js';
import { s3SourceInfo, type S3SourceConfig } from './config.js';

export { s3SourceSchema, type S3SourceConfig } from './config.js';

const gunzip = promisify(zlib.gunzip) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
const MAX_DONE_KEPT = 100_000;
const BATCH = 1000;

interface S3Checkpoint { version: 1; done: string[]; after: string | null }

interface ObjectStore {
  list(prefix: string, after: string | null): Promise<{ key: string; size: number }[]>;
  get(key: string): Promise<Buffer>;
  close(): void;
}

/** Objects of a bucket through @aws-sdk/client-s3 (loaded on start: no cost without an s3 source). */
async function bucketStore(cfg: S3SourceConfig, maxBytes: number): Promise<ObjectStore> {
  const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.force_path_style ?? cfg.endpoint !== undefined,
    ...(cfg.access_key_id ? { credentials: { accessKeyId: cfg.access_key_id, secretAccessKey: cfg.secret_access_key! } } : {}),
  });
  const bucket = cfg.bucket!;
  return {
    async list(prefix, after) {
      const out: { key: string; size: number }[] = [];
      let token: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const r = await client.send(new ListObjectsV2Command({
          Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...(after && !token ? { StartAfter: after } : {}),
        }));
        for (const o of r.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 });
        if (!r.IsTruncated || !r.NextContinuationToken) break;
        token = r.NextContinuationToken;
      }
      return out;
    },
    async get(key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = await r.Body!.transformToByteArray();
      if (bytes.length > maxBytes) throw new TooLarge(bytes.length);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    },
    close() { client.destroy(); },
  };
}

function directoryStore(dir: string): ObjectStore {
  return {
    async list(prefix, after) {
      const out: { key: string; size: number }[] = [];
      const walk = async (d: string, depth: number): Promise<void> => {
        if (depth > 12) return;
        let ents: fs.Dirent[];
        try { ents = await fs.promises.readdir(d, { withFileTypes: true }); } catch { return; }
        for (const e of ents) {
          const full = path.join(d, e.name);
          if (e.isDirectory()) await walk(full, depth + 1);
          else if (e.isFile()) {
            const key = path.relative(dir, full).split(path.sep).join('/');
            if (!key.startsWith(prefix) || (after !== null && key <= after)) continue;
            out.push({ key, size: (await fs.promises.stat(full)).size });
          }
        }
      };
      await walk(dir, 0);
      return out;
    },
    get: (key) => fs.promises.readFile(path.join(dir, key)),
    close() {},
  };
}

class TooLarge extends Error {
  constructor(readonly bytes: number) { super(`object of ${bytes} bytes`); }
}

export class S3Source implements Source {
  private readonly stats: SourceStats;
  private readonly checkpoint: CheckpointFile<S3Checkpoint>;
  private store: ObjectStore | null = null;
  private readonly done = new Set<string>();
  private after: string | null = null;
  /** Keys read and dispatched whose acks have not all settled. */
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private readonly source: EventSource;

  constructor(private readonly cfg: S3SourceConfig, private readonly ctx: SourceContext) {
    this.stats = new SourceStats(ctx.metrics, ctx.name);
    this.checkpoint = new CheckpointFile(ctx, ctx.name, () => this.state());
    this.source = { name: ctx.name, transport: 's3', address: cfg.bucket ?? cfg.directory ?? null, port: null, tlsPeer: null };
  }

  async start(): Promise<void> {
    const saved = this.checkpoint.load();
    if (saved?.version === 1) {
      for (const k of saved.done ?? []) this.done.add(k);
      this.after = saved.after ?? null;
    }
    this.store = this.cfg.directory
      ? directoryStore(path.resolve(this.ctx.baseDir, this.cfg.directory))
      : await bucketStore(this.cfg, this.cfg.max_object_bytes);
    this.kick();
  }

  addresses(): string[] {
    return [this.cfg.directory ? 'file://' + path.resolve(this.ctx.baseDir, this.cfg.directory) : `s3://${this.cfg.bucket}/${this.cfg.prefix}`];
  }

  /** Objects read so far that every destination took (for tests). */
  doneCount(): number {
    return this.done.size;
  }

  private kick(): void {
    if (this.stopping || this.running) return;
    this.running = this.scan()
      .catch((e) => this.stats.error('listing', 'list_failed', `cannot list ${this.addresses()[0]}: ${(e as Error).message}; trying again in ${this.cfg.poll_interval} ms`))
      .finally(() => {
        this.running = null;
        if (!this.stopping) this.timer = setTimeout(() => { this.timer = null; this.kick(); }, this.cfg.poll_interval);
      });
  }

  private async scan(): Promise<void> {
    const objects = (await this.store!.list(this.cfg.prefix, this.after)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const o of objects) {
      if (this.stopping) return;
      if (this.done.has(o.key) || this.inFlight.has(o.key)) continue;
      while (this.inFlight.size >= this.cfg.objects_in_flight && !this.stopping) await new Promise((r) => setTimeout(r, 50));
      if (this.stopping) return;
      if (o.size > this.cfg.max_object_bytes) {
        this.stats.error('reading', 'oversize', `object ${o.key} of ${o.size} bytes exceeds max_object_bytes; skipped`, { key: o.key });
        this.markDone(o.key);
        continue;
      }
      await this.readObject(o.key);
    }
  }

  private async readObject(key: string): Promise<void> {
    let body: Buffer;
    try {
      body = await this.store!.get(key);
      if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) body = await gunzip(body, { maxOutputLength: this.cfg.max_object_bytes });
    } catch (e) {
      if (e instanceof TooLarge || (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        this.stats.error('reading', 'oversize', `object ${key} exceeds max_object_bytes; skipped`, { key });
        this.markDone(key);
      } else if ((e as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' || (e as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
        this.stats.error('parsing', 'bad_object', `object ${key} is not valid gzip: ${(e as Error).message}; skipped`, { key });
        this.markDone(key);
      } else {
        // Transient (network, permissions): not done, read again at the next listing.
        this.stats.error('reading', 'get_failed', `cannot read object ${key}: ${(e as Error).message}`, { key });
      }
      return;
    }
    this.stats.bytes.inc(body.length);
    let records: Record<string, unknown>[];
    try {
      records = this.records(body);
    } catch (e) {
      this.stats.error('parsing', 'bad_object', `object ${key} is not ${this.cfg.format === 'cloudtrail' ? 'a CloudTrail log file ({"Records": [...]})' : 'NDJSON'}: ${(e as Error).message}; skipped`, { key });
      this.markDone(key);
      return;
    }
    const now = Date.now();
    const events = records.map((r) => this.event(r, key, now));
    this.stats.received.inc(events.length);
    if (events.length === 0) { this.markDone(key); return; }
    this.inFlight.add(key);
    let pending = Math.ceil(events.length / BATCH);
    for (let i = 0; i < events.length; i += BATCH) {
      const ack = new BatchAck((outcome) => {
        if (outcome === 'rejected') this.stats.error('queueing', 'rejected', 'a destination refused records (buffer full under drop_newest)');
        if (--pending === 0) { this.inFlight.delete(key); this.markDone(key); }
      }, true);
      const ready = this.ctx.router.dispatch(this.ctx.name, events.slice(i, i + BATCH), ack, true);
      if (!ready) await new Promise<void>((r) => this.ctx.router.whenReady(this.ctx.name, r));
    }
  }

  private records(body: Buffer): Record<string, unknown>[] {
    const text = body.toString('utf8');
    if (this.cfg.format === 'ndjson') {
      return text.split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
    }
    const doc = JSON.parse(text) as { Records?: unknown };
    if (!doc || !Array.isArray(doc.Records)) throw new Error('no Records array');
    return doc.Records.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object');
  }

  /** A CloudTrail record: its keys become fields (Sigma's names: eventSource, eventName, userIdentity...). */
  private event(r: Record<string, unknown>, key: string, now: number): LogEvent {
    const s = (k: string): string | null => (typeof r[k] === 'string' ? (r[k] as string) : null);
    const who = r.userIdentity && typeof r.userIdentity === 'object' ? r.userIdentity as Record<string, unknown> : null;
    const actor = who ? (typeof who.arn === 'string' ? who.arn : typeof who.type === 'string' ? who.type : null) : null;
    const name = s('eventName');
    const error = s('errorCode');
    const message = name
      ? `${s('eventSource') ?? '?'} ${name}${actor ? ' by ' + actor : ''}${s('sourceIPAddress') ? ' from ' + s('sourceIPAddress') : ''}${error ? ' failed: ' + error : ''}`
      : s('message') ?? JSON.stringify(r).slice(0, 200);
    return LogEvent.fromValues(this.source, now, {
      timestamp: s('eventTime') ?? s('timestamp'),
      hostname: s('recipientAccountId'),
      appname: s('eventSource'),
      msgid: name,
      facility: 13,
      severity: error ? 4 : 6,
      message,
      fields: { ...r, s3_key: key },
    });
  }

  private markDone(key: string): void {
    this.done.add(key);
    if (this.done.size > MAX_DONE_KEPT) {
      // Keys sort by date under a CloudTrail prefix: forget the oldest, list after them.
      const sorted = [...this.done].sort();
      const drop = sorted.slice(0, sorted.length - MAX_DONE_KEPT);
      for (const k of drop) this.done.delete(k);
      this.after = drop[drop.length - 1]!;
    }
    this.checkpoint.schedule();
  }

  private state(): S3Checkpoint {
    return { version: 1, done: [...this.done], after: this.after };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
    await this.checkpoint.close();
    this.store?.close();
  }
}

export const s3SourceKind: SourceKind = {
  ...s3SourceInfo,
  build: (config, ctx) => new S3Source(config as S3SourceConfig, ctx),
};
