// Config schema of the file source (tailing files with checkpoints).

import { z } from 'zod';
import { duration, size } from '../../config/units.js';
import type { SourceInfo } from '../index.js';

export const COMPRESSED_SUFFIXES = ['.gz', '.bz2', '.xz', '.zst', '.zip', '.lz4', '.Z'];

export const fileSourceSchema = z.object({
  type: z.literal('file'),
  include: z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v))
    .describe('files to read: paths or globs (*, ?, [...], {a,b}, ** across directories); relative to the config file; new matches are picked up while running'),
  exclude: z.array(z.string()).default([]).describe('globs of files not to read (matched against the full path, or the file name when the glob has no "/")'),
  skip_compressed: z.boolean().default(true).describe('skip rotated files ending in .gz, .bz2, .xz, .zst, .zip, .lz4 or .Z'),
  read_from: z.enum(['beginning', 'end']).default('beginning')
    .describe('where to start a file seen for the first time at start (files that appear later are always read from their beginning)'),
  multiline: z.object({
    start: z.string().describe('regular expression that a line starting a new event matches; other lines are joined to the event before, with "\\n"'),
    timeout: duration().default(1000).describe('emit a pending event after this long without a new line'),
    max_lines: z.number().int().positive().default(500).describe('lines joined into one event at most'),
  }).strict().optional().describe('join continuation lines (stack traces) to the line that starts the event'),
  max_line_bytes: size().default(1024 * 1024).describe('longest line (or joined event); longer ones are cut, flagged fields.truncated and counted'),
  fingerprint_bytes: z.number().int().min(16).max(65536).default(256)
    .describe('bytes at the start of a file that identify it beside device and inode (inode reuse and copies are told apart by them)'),
  poll_interval: duration().default(250).describe('how often open files are checked for new data'),
  scan_interval: duration().default(1000).describe('how often the include globs are expanded to find new and rotated files'),
  rotate_wait: duration().default(5000).describe('how long a renamed or removed file is kept open after its last growth, so the writer can finish with it'),
  max_open_files: z.number().int().positive().default(1024).describe('files read at once at most; more matches are counted and picked up as others close'),
  encoding: z.enum(['utf8']).default('utf8').describe('text encoding of the files (invalid bytes are kept and flagged fields.invalid_utf8)'),
}).strict().superRefine((cfg, ctx) => {
  if (cfg.multiline) {
    try {
      new RegExp(cfg.multiline.start);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['multiline', 'start'], message: `not a valid regular expression: ${(e as Error).message}` });
    }
  }
});

export type FileSourceConfig = z.infer<typeof fileSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const fileSourceInfo: SourceInfo = {
  type: 'file',
  description: 'tails files matched by globs (one event per line or multiline event), follows rename and copytruncate rotation, checkpoints after delivery',
  schema: fileSourceSchema,
  listens: () => [],
};
