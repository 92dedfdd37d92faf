// Checkpoint files of sources whose upstream keeps what was not acknowledged (file offsets,
// journald cursors, S3 object lists): one JSON document per source under data_dir, replaced
// atomically (write, fsync, rename) so a kill -9 leaves either the old or the new state.

import fs from 'node:fs';
import path from 'node:path';
import { log } from '../log.js';

/** How long acknowledgements may gather before the state is written (one write for many acks). */
const SAVE_AFTER_MS = 200;

export class CheckpointFile<T> {
  readonly file: string;
  private writing: Promise<void> | null = null;
  private again: T | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;

  /** `state` gives the source's current state to write. */
  constructor(ctx: { dataDir?: string; baseDir: string }, private readonly source: string, private readonly state: () => T) {
    this.file = path.join(ctx.dataDir ?? path.join(ctx.baseDir, 'data'), 'checkpoints', `${source.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  /**
   * The state moved on (acknowledgements settled): written soon, once for all that come
   * meanwhile; while closing at once, since destinations may still settle acks as they drain.
   */
  schedule(): void {
    if (this.closing) { this.saveNow(); return; }
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; void this.save(this.state()); }, SAVE_AFTER_MS);
  }

  /** Stops the timer, waits for writes in progress, then writes the last state synchronously. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    this.saveNow();
  }

  private saveNow(): void {
    try {
      this.saveSync(this.state());
    } catch (e) {
      log('warn', `source ${this.source}`, 'cannot write checkpoint', { error: String(e) });
    }
  }

  /** The stored state, or null when there is none (or it cannot be read: logged, then ignored). */
  load(): T | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log('warn', 'checkpoint', 'cannot read checkpoint; starting without it', { file: this.file, error: String(e) });
      return null;
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      log('warn', 'checkpoint', 'checkpoint is not valid JSON; starting without it', { file: this.file, error: String(e) });
      return null;
    }
  }

  /** Writes state; calls made while a write runs collapse into one more write of the latest. */
  save(state: T): Promise<void> {
    if (this.writing) {
      this.again = state;
      return this.writing;
    }
    this.writing = this.write(state).finally(() => {
      this.writing = null;
      const next = this.again;
      this.again = null;
      if (next !== null) void this.save(next);
    });
    return this.writing;
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Synchronous write, for the last state at stop. */
  saveSync(state: T): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = this.file + '.tmp';
    const fd = fs.openSync(tmp, 'w', 0o640);
    try {
      fs.writeSync(fd, JSON.stringify(state));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }

  private async write(state: T): Promise<void> {
    try {
      await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = this.file + '.tmp';
      const h = await fs.promises.open(tmp, 'w', 0o640);
      try {
        await h.writeFile(JSON.stringify(state));
        await h.datasync();
      } finally {
        await h.close();
      }
      await fs.promises.rename(tmp, this.file);
    } catch (e) {
      log('warn', 'checkpoint', 'cannot write checkpoint (will retry with the next one)', { file: this.file, error: String(e) });
    }
  }
}
