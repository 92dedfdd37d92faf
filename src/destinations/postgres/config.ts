// Config schema of the PostgreSQL store destination: daily partitions, batched COPY, retention.

import { z } from 'zod';
import { duration } from '../../config/units.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const postgresDestinationSchema = z.object({
  type: z.literal('postgres'),
  url: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://USER@HOST:PORT/DATABASE')
    .describe('postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (libpq URL; ?sslmode=require for TLS)'),
  table: z.string().regex(/^[a-z_][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _, at most 40')
    .default('sluice_').describe('prefix of the table names: <table>events and its daily partitions <table>events_pYYYYMMDD'),
  retention: z.object({
    max_age: duration().optional().describe('drop whole daily partitions whose newest possible event is older than this'),
  }).strict().prefault({}).describe('what leaves the database, whole partitions at a time'),
  pool_size: z.number().int().min(1).max(64).default(4).describe('connections to the server at most (one writes; readers share the rest)'),
  writers: z.number().int().min(1).max(16).default(2).describe('connections one batch is written over in parallel (each part its own COPY and commit); more use more server cores'),
  batch_events: z.number().int().min(1).max(100_000).default(5000).describe('events per COPY transaction at most'),
  connect_timeout: duration().default(10_000).describe('give up a connection attempt after this long (then retry)'),
  ...outerShape,
}).strict();

export type PostgresDestinationConfig = z.infer<typeof postgresDestinationSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const postgresDestinationInfo: DestinationInfo = {
  type: 'postgres',
  description: 'PostgreSQL store: daily partitions, batched COPY, answered after commit; searchable with sluice query',
  schema: postgresDestinationSchema,
  durable: true,
};
