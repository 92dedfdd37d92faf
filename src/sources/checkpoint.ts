// Checkpoint files of sources whose upstream keeps what was not acknowledged (file offsets,
// journald cursors, S3 object lists): one JSON document per source under data_dir, replaced
// atomically (write, fsync, rename) so a kill -9 leaves either the old or the new state.

import fs from 'node:fs';
import path from 'node:path';
import { log } from '../log.js';

export class CheckpointFile<T> {
  readonly file: string;
  private writing: Promise<void> | null = null;
  private again: T | null = null;

  constructor(ctx: { dataDir?: string; baseDir: string }, source: string) {
    this.file = path.join(ctx.dataDir ?? path.join(ctx.baseDir, 'data'), 'checkpoints', `${source.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
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

  /** Waits for every pending write (stop). */
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
