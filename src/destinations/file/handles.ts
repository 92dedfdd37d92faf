// A bounded set of open append-mode file handles, least recently used closed first.

import fs from 'node:fs/promises';
import path from 'node:path';
import { makeDirs } from '../../util/make-dirs.js';

interface Entry {
  handle: fs.FileHandle;
  lastUsed: number;
  busy: number;
}

export class FileHandles {
  private readonly open = new Map<string, Entry>();
  private readonly opening = new Map<string, Promise<Entry>>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly maxOpen: number,
    private readonly idleCloseMs: number,
    private readonly createDirs: boolean,
    private readonly dirMode: number,
    private readonly fileMode: number,
  ) {
    if (idleCloseMs > 0) {
      this.sweeper = setInterval(() => void this.closeIdle(), Math.max(1000, idleCloseMs / 2));
      this.sweeper.unref();
    }
  }

  /** The handle for `file`, opened (and its directory made) if needed. Call release() after use. */
  async acquire(file: string): Promise<fs.FileHandle> {
    let e = this.open.get(file);
    if (!e) {
      let p = this.opening.get(file);
      if (!p) {
        p = this.openFile(file);
        this.opening.set(file, p);
      }
      try {
        e = await p;
      } finally {
        this.opening.delete(file);
      }
    }
    e.busy++;
    e.lastUsed = Date.now();
    // Map order = recency: move to the end.
    this.open.delete(file);
    this.open.set(file, e);
    return e.handle;
  }

  release(file: string): void {
    const e = this.open.get(file);
    if (e) e.busy--;
  }

  private async openFile(file: string): Promise<Entry> {
    await this.makeRoom();
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'a', this.fileMode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !this.createDirs) throw err;
      await makeDirs(path.dirname(file), this.dirMode);
      handle = await fs.open(file, 'a', this.fileMode);
    }
    const e = { handle, lastUsed: Date.now(), busy: 0 };
    this.open.set(file, e);
    return e;
  }

  private async makeRoom(): Promise<void> {
    if (this.open.size < this.maxOpen) return;
    for (const [file, e] of this.open) {
      if (this.open.size < this.maxOpen) break;
      if (e.busy > 0) continue;
      this.open.delete(file);
      await e.handle.close().catch(() => {});
    }
  }

  private async closeIdle(): Promise<void> {
    const cutoff = Date.now() - this.idleCloseMs;
    for (const [file, e] of this.open) {
      if (e.lastUsed < cutoff && e.busy === 0) {
        this.open.delete(file);
        await e.handle.close().catch(() => {});
      }
    }
  }

  get size(): number {
    return this.open.size;
  }

  async closeAll(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.closeOpen();
  }

  /** Closes every idle handle; busy ones close when their write ends and are reopened next time. */
  async closeOpen(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((e) => e.handle.close().catch(() => {})));
  }
}
