// The source registry: every source type sluice knows, with its schema and builder.

import type { z } from 'zod';
import type { ListenAddress } from '../config/units.js';
import { amqpSourceKind } from './amqp/index.js';
import { auditdSourceKind } from './auditd/index.js';
import { fileSourceKind } from './file/index.js';
import { httpSourceKind } from './http/index.js';
import { journaldSourceKind } from './journald/index.js';
import { natsSourceKind } from './nats/index.js';
import { netflowSourceKind } from './netflow/index.js';
import { s3SourceKind } from './s3/index.js';
import { relpSourceKind } from './relp/index.js';
import { syslogSourceSchema, type SyslogSourceConfig } from './syslog/config.js';
import { SyslogSource } from './syslog/index.js';
import type { Source, SourceContext } from './types.js';

export interface SourceKind {
  type: string;
  description: string;
  schema: z.ZodType<{ type: string }>;
  build(config: unknown, ctx: SourceContext): Source;
  /** Addresses it will bind, so clashes are found before anything starts. */
  listens(config: unknown): ListenAddress[];
}

export const SOURCES: SourceKind[] = [
  {
    type: 'syslog',
    description: 'syslog over UDP, TCP (RFC 6587 octet counting and newline framing), TLS (RFC 5425) and unix stream sockets',
    schema: syslogSourceSchema,
    build: (config, ctx) => new SyslogSource(config as SyslogSourceConfig, ctx),
    listens: (config) => (config as SyslogSourceConfig).listen,
  },
  relpSourceKind,
  httpSourceKind,
  fileSourceKind,
  netflowSourceKind,
  auditdSourceKind,
  journaldSourceKind,
  s3SourceKind,
  natsSourceKind,
  amqpSourceKind,
];

export function sourceKind(type: string): SourceKind | undefined {
  return SOURCES.find((k) => k.type === type);
}
