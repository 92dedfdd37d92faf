// Config schema of the embedded store destination (DESIGN.md "Store and query").

import { z } from 'zod';
import { duration, size } from '../../config/units.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const storeDestinationSchema = z.object({
  type: z.literal('store'),
  path: z.string().optional().describe('directory of the day partitions (default: <data_dir>/store); relative to the config\'s directory'),
  retention: z.object({
    max_age: duration().optional().describe('drop whole day partitions older than this'),
    max_bytes: size().optional().describe('drop the oldest partitions while the store is larger (the newest min_keep days are kept)'),
    min_keep: duration().optional().describe('the newest calendar days never removed for size alone (default 2d; 0 lets size take any closed day)'),
  }).strict().optional().describe('retention by age and total size, whole partitions at a time'),
  archive: z.object({
    after: duration().describe('seal a partition into a compressed archive file before it leaves the database, this long after its day'),
    dir: z.string().optional().describe('archive directory (default: <path>/archive)'),
  }).strict().optional().describe('archives of partitions that leave the database'),
  checkpoint: z.object({
    every_events: z.number().int().positive().default(10_000).describe('sign a checkpoint after this many new events ...'),
    every: duration().default(10_000).describe('... or this long after the first unsealed event ...'),
    heartbeat: duration().default(60_000).describe('... and this often while idle'),
  }).strict().prefault({}).describe('signed checkpoints over the events\' Merkle tree'),
  batch_events: z.number().int().positive().max(100_000).default(8192).describe('events committed per transaction at most'),
  ...outerShape,
}).strict();

export type StoreDestinationConfig = z.infer<typeof storeDestinationSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const storeDestinationInfo: DestinationInfo = {
  type: 'store',
  description: 'the embedded store: day partitions in SQLite with full-text search, sealed by a Merkle tree with signed checkpoints',
  schema: storeDestinationSchema,
  durable: true,
};
