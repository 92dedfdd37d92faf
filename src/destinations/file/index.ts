// The file destination: templated paths, one coalesced write per file per batch.

import path from 'node:path';
import { ByteWriter } from '../../codec/byte-writer.js';
import type { LogEvent } from '../../event/log-event.js';
import { describeError } from '../../errors.js';
import { pathSafe, Template } from '../../template/template.js';
import type { Destination, DestinationContext, SendResult } from '../types.js';
import type { FileDestinationConfig } from './config.js';
import { FileHandles } from './handles.js';

/** Errors that concern one path for good; other errors (ENOSPC, EIO, EMFILE) are retried. */
const PERMANENT = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EROFS', 'ENAMETOOLONG', 'EINVAL', 'ELOOP']);

export class FileDestination implements Destination {
  readonly maxBatch: number;
  private readonly pathTemplate: Template;
  private readonly line: Template;
  private readonly json: boolean;
  private readonly handles: FileHandles;
  private readonly baseDir: string;
  private readonly writers: ByteWriter[] = [];
  /** Rendered relative path → absolute file, so path.resolve runs once per distinct file. */
  private readonly resolved = new Map<string, string>();
  /** Scratch for the path key of the event at hand, and the key of the group last used. */
  private readonly pathKey = new ByteWriter(256);
  private readonly lastPathKey = new ByteWriter(256);
  /** Paths of the batch in flight already written, so a retry does not write them twice. */
  private partial: { batch: LogEvent[]; done: Set<string> } | null = null;

  constructor(private readonly cfg: FileDestinationConfig, ctx: DestinationContext & { baseDir: string }) {
    this.maxBatch = cfg.batch_events;
    this.pathTemplate = Template.compile(cfg.path);
    this.line = Template.compile(cfg.template);
    this.json = cfg.format === 'json';
    this.baseDir = ctx.baseDir;
    this.handles = new FileHandles(cfg.max_open_files, cfg.idle_close, cfg.create_dirs, cfg.dir_mode, cfg.file_mode);
  }

  async start(): Promise<void> {}

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    this.write(events).then(done, (e) => done({ status: 'retry', error: describeError(e) }));
  }

  private async write(events: LogEvent[]): Promise<SendResult> {
    const groups = this.render(events);
    if (this.partial?.batch !== events) this.partial = { batch: events, done: new Set() };
    const done = this.partial.done;
    let rejected: LogEvent[] | null = null;
    let rejectReason = '';
    for (const [file, g] of groups) {
      if (done.has(file)) continue;
      try {
        await this.append(file, g.writer.view());
        done.add(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (!PERMANENT.has(code) && !(e as { permanent?: boolean }).permanent) return { status: 'retry', error: `${file}: ${describeError(e)}` };
        (rejected ??= []).push(...g.events);
        rejectReason = `${file}: ${describeError(e)}`;
        done.add(file);
      } finally {
        this.writers.push(g.writer);
      }
    }
    this.partial = null;
    return rejected ? { status: 'reject', error: rejectReason, events: rejected } : { status: 'ok' };
  }

  /** Renders events into one buffer per target file. */
  private render(events: LogEvent[]): Map<string, { writer: ByteWriter; events: LogEvent[] }> {
    const groups = new Map<string, { writer: ByteWriter; events: LogEvent[] }>();
    if (this.pathTemplate.constant) {
      const w = this.writer();
      for (let i = 0; i < events.length; i++) this.renderLine(events[i]!, w);
      groups.set(path.resolve(this.baseDir, this.pathTemplate.source), { writer: w, events });
      return groups;
    }
    // Consecutive events mostly share a path: compare the macro values as bytes, and make
    // the path string only when they change.
    const key = this.pathKey;
    const lastKey = this.lastPathKey;
    let g: { writer: ByteWriter; events: LogEvent[] } | null = null;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      key.reset();
      this.pathTemplate.renderKey(ev, key);
      if (g === null || !sameBytes(key, lastKey)) {
        const file = this.fileFor(this.pathTemplate.render(ev, pathSafe));
        g = groups.get(file) ?? null;
        if (g === null) groups.set(file, (g = { writer: this.writer(), events: [] }));
        lastKey.reset();
        lastKey.range(key.buf, 0, key.pos);
      }
      this.renderLine(ev, g.writer);
      g.events.push(ev);
    }
    return groups;
  }

  private renderLine(ev: LogEvent, w: ByteWriter): void {
    if (this.json) { w.text(JSON.stringify(ev.toJSON())); w.byte(0x0a); } else this.line.renderInto(ev, w);
  }

  private fileFor(rel: string): string {
    let file = this.resolved.get(rel);
    if (file === undefined) {
      if (this.resolved.size >= 10_000) this.resolved.clear();
      this.resolved.set(rel, (file = path.resolve(this.baseDir, rel)));
    }
    return file;
  }

  private writer(): ByteWriter {
    const w = this.writers.pop() ?? new ByteWriter(256 * 1024);
    w.reset();
    return w;
  }

  private async append(file: string, data: Buffer): Promise<void> {
    const h = await this.handles.acquire(file);
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await h.write(data, off, data.length - off);
        off += bytesWritten;
      }
      if (this.cfg.fsync) await h.datasync();
    } finally {
      this.handles.release(file);
    }
  }

  async reopen(): Promise<void> {
    await this.handles.closeOpen();
  }

  async stop(): Promise<void> {
    await this.handles.closeAll();
  }
}

function sameBytes(a: ByteWriter, b: ByteWriter): boolean {
  const n = a.pos;
  if (n !== b.pos) return false;
  const x = a.buf;
  const y = b.buf;
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
  return true;
}
