// Config schema of the auditd source.

import { z } from 'zod';
import { duration } from '../../config/units.js';
import type { SourceInfo } from '../index.js';

export const auditdSourceSchema = z.object({
  type: z.literal('auditd'),
  path: z.string().default('/var/log/audit/audit.log').describe('audit log to tail (rotated by auditd: audit.log.1 ... are followed by inode); relative to the config file'),
  socket: z.string().optional().describe('read audispd\'s af_unix plugin socket (string format) instead of the log file; no checkpoint'),
  read_from: z.enum(['beginning', 'end']).default('end').describe('where to start the log the first time (later starts resume from the checkpoint)'),
  event_timeout: duration().default(2000).describe('emit an event whose EOE has not come after this long since its last record'),
  max_records: z.number().int().positive().default(512).describe('records joined into one event at most'),
  max_event_bytes: z.number().int().positive().default(1024 * 1024).describe('bytes of records joined into one event at most'),
  poll_interval: duration().default(250).describe('how often the log is checked for new records'),
}).strict();

export type AuditdSourceConfig = z.infer<typeof auditdSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const auditdSourceInfo: SourceInfo = {
  type: 'auditd',
  description: 'Linux audit log (or audispd af_unix socket): the records of one audit event joined into one event, values decoded',
  schema: auditdSourceSchema,
  listens: () => [],
};
