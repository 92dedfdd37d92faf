// The source registry: every source type sluice knows, with its schema and builder.
//
// Validation needs only each type's schema (its config.ts); the implementation and what it
// depends on (brokers' clients, the AWS SDK, ...) is imported when a config uses the type, so
// the daemon's memory holds only what its config runs.

import type { z } from 'zod';
import type { ListenAddress } from '../config/units.js';
import { amqpSourceInfo } from './amqp/config.js';
import { auditdSourceInfo } from './auditd/config.js';
import { fileSourceInfo } from './file/config.js';
import { httpSourceInfo } from './http/config.js';
import { journaldSourceInfo } from './journald/config.js';
import { natsSourceInfo } from './nats/config.js';
import { netflowSourceInfo } from './netflow/config.js';
import { s3SourceInfo } from './s3/config.js';
import { relpSourceInfo } from './relp/config.js';
import { syslogSourceSchema, type SyslogSourceConfig } from './syslog/config.js';
import { SyslogSource } from './syslog/index.js';
import type { Source, SourceContext } from './types.js';

/** What validating a config needs of a source type. */
export interface SourceInfo {
  type: string;
  description: string;
  schema: z.ZodType<{ type: string }>;
  /** Addresses it will bind, so clashes are found before anything starts. */
  listens(config: unknown): ListenAddress[];
}

/** A source type's implementation (each type's index.ts). */
export interface SourceKind extends SourceInfo {
  build(config: unknown, ctx: SourceContext): Source;
}

/** A registry entry: the info now, the implementation on first use. */
export interface RegisteredSourceKind extends SourceInfo {
  load(): Promise<SourceKind>;
}

const lazy = (info: SourceInfo, load: () => Promise<SourceKind>): RegisteredSourceKind => ({ ...info, load });

const syslogSourceKind: SourceKind = {
  type: 'syslog',
  description: 'syslog over UDP, TCP (RFC 6587 octet counting and newline framing), TLS (RFC 5425) and unix stream sockets',
  schema: syslogSourceSchema,
  build: (config, ctx) => new SyslogSource(config as SyslogSourceConfig, ctx),
  listens: (config) => (config as SyslogSourceConfig).listen,
};

export const SOURCES: RegisteredSourceKind[] = [
  // syslog is in nearly every config (and the default): loaded with the registry
  { ...syslogSourceKind, load: () => Promise.resolve(syslogSourceKind) },
  lazy(relpSourceInfo, async () => (await import('./relp/index.js')).relpSourceKind),
  lazy(httpSourceInfo, async () => (await import('./http/index.js')).httpSourceKind),
  lazy(fileSourceInfo, async () => (await import('./file/index.js')).fileSourceKind),
  lazy(netflowSourceInfo, async () => (await import('./netflow/index.js')).netflowSourceKind),
  lazy(auditdSourceInfo, async () => (await import('./auditd/index.js')).auditdSourceKind),
  lazy(journaldSourceInfo, async () => (await import('./journald/index.js')).journaldSourceKind),
  lazy(s3SourceInfo, async () => (await import('./s3/index.js')).s3SourceKind),
  lazy(natsSourceInfo, async () => (await import('./nats/index.js')).natsSourceKind),
  lazy(amqpSourceInfo, async () => (await import('./amqp/index.js')).amqpSourceKind),
];

export function sourceKind(type: string): RegisteredSourceKind | undefined {
  return SOURCES.find((k) => k.type === type);
}
