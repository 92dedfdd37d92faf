// The stdout destination: one JSON event (or template line) per event on standard output.

import { z } from 'zod';
import { ByteWriter } from '../codec/byte-writer.js';
import type { LogEvent } from '../event/log-event.js';
import { templateString } from '../template/schema.js';
import { DEFAULT_LINE_TEMPLATE, Template } from '../template/template.js';
import { outerShape } from './outer.js';
import type { Destination, SendResult } from './types.js';

export const stdoutDestinationSchema = z.object({
  type: z.literal('stdout'),
  format: z.enum(['json', 'template']).default('json').describe('json: the JSON event of DESIGN.md per line; template: the line template'),
  template: templateString().default(DEFAULT_LINE_TEMPLATE).describe('line template when format is template'),
  ...outerShape,
}).strict();

export type StdoutDestinationConfig = z.infer<typeof stdoutDestinationSchema>;

export class StdoutDestination implements Destination {
  readonly maxBatch = 4096;
  private readonly template: Template | null;
  private readonly writer = new ByteWriter(64 * 1024);

  constructor(cfg: StdoutDestinationConfig, private readonly out: NodeJS.WritableStream = process.stdout) {
    this.template = cfg.format === 'template' ? Template.compile(cfg.template) : null;
  }

  async start(): Promise<void> {}

  send(events: LogEvent[], done: (r: SendResult) => void): void {
    const w = this.writer;
    w.reset();
    for (const ev of events) {
      if (this.template) this.template.renderInto(ev, w);
      else { w.text(JSON.stringify(ev.toJSON())); w.byte(0x0a); }
    }
    // Copy: the writer is reused while the stream may still hold the chunk.
    const ok = this.out.write(Buffer.from(w.view()));
    if (ok) done({ status: 'ok' });
    else this.out.once('drain', () => done({ status: 'ok' }));
  }

  async stop(): Promise<void> {}
}
