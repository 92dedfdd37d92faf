// The destination registry: every destination type sluice knows, with its schema and builder.
//
// As for sources (../sources/index.ts): schemas now, implementations when a config uses them
// (the store's SQLite, PostgreSQL, the brokers' clients are never loaded otherwise).

import type { z } from 'zod';
import { fileDestinationSchema, type FileDestinationConfig } from './file/config.js';
import { FileDestination } from './file/index.js';
import { amqpDestinationInfo } from './amqp/config.js';
import { httpDestinationInfo } from './http/config.js';
import { natsDestinationInfo } from './nats/config.js';
import type { BufferConfig, RetryConfig } from './outer.js';
import { postgresDestinationInfo } from './postgres/config.js';
import { relpDestinationInfo } from './relp/config.js';
import { storeDestinationInfo } from './store/config.js';
import { StdoutDestination, stdoutDestinationSchema, type StdoutDestinationConfig } from './stdout.js';
import { syslogDestinationInfo } from './syslog/config.js';
import type { Destination, DestinationContext } from './types.js';

/** The framework-owned keys every destination config has (see outer.ts). */
export interface OuterConfig {
  type: string;
  buffer: BufferConfig;
  retry: RetryConfig;
  dead_letter?: string;
}

/** What validating a config needs of a destination type. */
export interface DestinationInfo {
  type: string;
  description: string;
  schema: z.ZodType<OuterConfig>;
  /**
   * Its `ok` means the events are durable (the store commits first), so sources' acks wait
   * for delivery even through a memory buffer.
   */
  durable?: boolean;
}

/** A destination type's implementation (each type's index.ts). */
export interface DestinationKind extends DestinationInfo {
  build(config: unknown, ctx: DestinationContext & { baseDir: string }): Destination;
}

/** A registry entry: the info now, the implementation on first use. */
export interface RegisteredDestinationKind extends DestinationInfo {
  load(): Promise<DestinationKind>;
}

const lazy = (info: DestinationInfo, load: () => Promise<DestinationKind>): RegisteredDestinationKind => ({ ...info, load });
const loaded = (kind: DestinationKind): RegisteredDestinationKind => ({ ...kind, load: () => Promise.resolve(kind) });

export const DESTINATIONS: RegisteredDestinationKind[] = [
  loaded({
    type: 'file',
    description: 'append to files whose paths are templates, with a line template',
    schema: fileDestinationSchema,
    build: (config, ctx) => new FileDestination(config as FileDestinationConfig, ctx),
  }),
  loaded({
    type: 'stdout',
    description: 'write JSON events or template lines to standard output',
    schema: stdoutDestinationSchema,
    build: (config) => new StdoutDestination(config as StdoutDestinationConfig),
  }),
  lazy(relpDestinationInfo, async () => (await import('./relp/index.js')).relpDestinationKind),
  lazy(httpDestinationInfo, async () => (await import('./http/index.js')).httpDestinationKind),
  lazy(syslogDestinationInfo, async () => (await import('./syslog/index.js')).syslogDestinationKind),
  lazy(storeDestinationInfo, async () => (await import('./store/index.js')).storeDestinationKind),
  lazy(natsDestinationInfo, async () => (await import('./nats/index.js')).natsDestinationKind),
  lazy(amqpDestinationInfo, async () => (await import('./amqp/index.js')).amqpDestinationKind),
  lazy(postgresDestinationInfo, async () => (await import('./postgres/index.js')).postgresDestinationKind),
];

export function destinationKind(type: string): RegisteredDestinationKind | undefined {
  return DESTINATIONS.find((k) => k.type === type);
}
