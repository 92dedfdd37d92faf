// The destination registry: every destination type sluice knows, with its schema and builder.

import type { z } from 'zod';
import { fileDestinationSchema, type FileDestinationConfig } from './file/config.js';
import { FileDestination } from './file/index.js';
import { amqpDestinationKind } from './amqp/index.js';
import { httpDestinationKind } from './http/index.js';
import { natsDestinationKind } from './nats/index.js';
import type { BufferConfig, RetryConfig } from './outer.js';
import { postgresDestinationKind } from './postgres/index.js';
import { relpDestinationKind } from './relp/index.js';
import { storeDestinationKind } from './store/index.js';
import { StdoutDestination, stdoutDestinationSchema, type StdoutDestinationConfig } from './stdout.js';
import { syslogDestinationKind } from './syslog/index.js';
import type { Destination, DestinationContext } from './types.js';

/** The framework-owned keys every destination config has (see outer.ts). */
export interface OuterConfig {
  type: string;
  buffer: BufferConfig;
  retry: RetryConfig;
  dead_letter?: string;
}

export interface DestinationKind {
  type: string;
  description: string;
  schema: z.ZodType<OuterConfig>;
  /**
   * Its `ok` means the events are durable (the store commits first), so sources' acks wait
   * for delivery even through a memory buffer.
   */
  durable?: boolean;
  build(config: unknown, ctx: DestinationContext & { baseDir: string }): Destination;
}

export const DESTINATIONS: DestinationKind[] = [
  {
    type: 'file',
    description: 'append to files whose paths are templates, with a line template',
    schema: fileDestinationSchema,
    build: (config, ctx) => new FileDestination(config as FileDestinationConfig, ctx),
  },
  {
    type: 'stdout',
    description: 'write JSON events or template lines to standard output',
    schema: stdoutDestinationSchema,
    build: (config) => new StdoutDestination(config as StdoutDestinationConfig),
  },
  relpDestinationKind,
  httpDestinationKind,
  syslogDestinationKind,
  storeDestinationKind,
  natsDestinationKind,
  amqpDestinationKind,
  postgresDestinationKind,
];

export function destinationKind(type: string): DestinationKind | undefined {
  return DESTINATIONS.find((k) => k.type === type);
}
