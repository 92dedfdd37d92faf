// Config schema of the RELP source (rsyslog's omrelp and other librelp clients send to it).

import { z } from 'zod';
import { listenList, size } from '../../config/units.js';
import { tlsServerSchema } from '../../net/tls-config.js';
import type { SourceInfo } from '../index.js';

export const RELP_SCHEMES = ['relp'] as const;

export const relpSourceSchema = z.object({
  type: z.literal('relp'),
  listen: listenList(RELP_SCHEMES).describe('addresses: relp://HOST:PORT (with tls: set, every listener speaks RELP over TLS)'),
  format: z.enum(['auto', 'rfc5424', 'rfc3164', 'none']).default('auto')
    .describe('message format inside each syslog frame: auto-detect RFC 5424 / RFC 3164, one of them, or none (whole message as text)'),
  max_message_bytes: size().default(65536).describe('longest message accepted (DATALEN of a syslog frame)'),
  oversize: z.enum(['truncate', 'reject']).default('truncate')
    .describe('a longer message: truncate it, or answer rsp 500 (the connection stays up either way)'),
  allow: z.array(z.string()).default([]).describe('peer addresses allowed (CIDR, e.g. 10.0.0.0/8); empty = any'),
  max_connections: z.number().int().positive().default(1000).describe('open RELP sessions at most'),
  max_connections_per_peer: z.number().int().positive().default(200).describe('open RELP sessions from one address at most'),
  tls: tlsServerSchema.optional().describe('certificate and client authentication; makes the listeners RELP over TLS (imrelp tls="on")'),
}).strict();

export type RelpSourceConfig = z.infer<typeof relpSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const relpSourceInfo: SourceInfo = {
  type: 'relp',
  description: 'RELP (rsyslog omrelp): acknowledged syslog, rsp 200 only once every destination holds the message; plain or TLS',
  schema: relpSourceSchema,
  listens: (config) => (config as RelpSourceConfig).listen,
};
