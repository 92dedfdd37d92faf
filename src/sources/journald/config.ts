// Config schema of the journald source.

import { z } from 'zod';
import type { SourceInfo } from '../index.js';

export const journaldSourceSchema = z.object({
  type: z.literal('journald'),
  directory: z.string().optional().describe('read the journal files in this directory (journalctl --directory); default: the system journal'),
  file: z.array(z.string()).optional().describe('read these journal files (journalctl --file, globs allowed)'),
  units: z.array(z.string()).default([]).describe('only entries of these systemd units (journalctl -u, any of them); empty = all'),
  identifiers: z.array(z.string()).default([]).describe('only entries with these SYSLOG_IDENTIFIERs (journalctl -t); empty = all'),
  read_from: z.enum(['beginning', 'end']).default('end').describe('where to start when there is no checkpointed cursor (or it is invalid: then the beginning)'),
  journalctl: z.string().default('journalctl').describe('the journalctl program'),
  max_entry_bytes: z.number().int().positive().default(4 * 1024 * 1024).describe('longest JSON entry line; longer ones are skipped and counted'),
}).strict();

export type JournaldSourceConfig = z.infer<typeof journaldSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const journaldSourceInfo: SourceInfo = {
  type: 'journald',
  description: 'the systemd journal through journalctl -o json --follow, resumed from the checkpointed cursor; fields mapped, byte arrays kept',
  schema: journaldSourceSchema,
  listens: () => [],
};
