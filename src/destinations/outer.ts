// What the framework adds around every destination: its buffer, retry policy and dead letters.

import { z } from 'zod';
import { duration, size } from '../config/units.js';

export const bufferSchema = z.object({
  type: z.enum(['memory', 'disk']).default('memory').describe('memory (bounded, lost on crash) or disk (survives kill -9 and restarts)'),
  max_bytes: size().optional().describe('limit of buffered events (default: 10MiB memory, 1GiB disk)'),
  when_full: z.enum(['block', 'drop_newest']).default('block')
    .describe('block: slow TCP/TLS senders down (UDP listeners hold a bounded backlog, then drop and count); drop_newest: drop and count'),
  path: z.string().optional().describe('disk buffer directory (default: <data_dir>/buffers/<destination>)'),
  fsync: z.union([z.literal('never'), z.literal('always'), duration()]).default('never')
    .describe('disk buffer: fsync never (safe against process crashes), always, or at an interval (safe against power loss)'),
}).strict();

export const retrySchema = z.object({
  initial: duration().default(200).describe('first retry delay; doubles per attempt, with jitter'),
  max: duration().default(30_000).describe('longest retry delay'),
}).strict();

/** Keys every destination accepts beside its own. */
export const outerShape = {
  buffer: bufferSchema.prefault({}).describe('the destination\'s own buffer, so one slow destination does not stop others'),
  retry: retrySchema.prefault({}).describe('backoff for temporary failures (Retry-After is honoured)'),
  dead_letter: z.string().optional().describe('file for permanently rejected events (default: <data_dir>/dead-letter/<destination>.ndjson)'),
};

export type BufferConfig = z.infer<typeof bufferSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
