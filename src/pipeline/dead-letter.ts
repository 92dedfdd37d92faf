// Dead letters: batches a destination rejected for good, kept as NDJSON with the reason.

import fs from 'node:fs';
import path from 'node:path';
import type { LogEvent } from '../event/log-event.js';
import { makeDirsSync } from '../util/make-dirs.js';

export class DeadLetterFile {
  constructor(readonly file: string, private readonly destination: string) {}

  /** Appends the events synchronously: rare, and must not be lost if the process dies next. */
  write(events: LogEvent[], reason: string): void {
    makeDirsSync(path.dirname(this.file));
    const at = new Date().toISOString();
    let out = '';
    for (const ev of events) out += JSON.stringify({ at, destination: this.destination, reason, event: ev.toJSON() }) + '\n';
    fs.appendFileSync(this.file, out);
  }
}
