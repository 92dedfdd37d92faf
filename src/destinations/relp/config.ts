// Config schema of the RELP destination (to rsyslog's imrelp or any librelp server).

import { z } from 'zod';
import { duration, parseListen } from '../../config/units.js';
import { tlsClientSchema } from '../../net/tls-config.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const relpDestinationSchema = z.object({
  type: z.literal('relp'),
  url: z.string().superRefine((v, ctx) => {
    const a = parseListen(v, ['relp']);
    if (typeof a === 'string') ctx.addIssue({ code: 'custom', message: a });
    else if (a.port === 0) ctx.addIssue({ code: 'custom', message: `expected a port after the host in ${JSON.stringify(v)} (RELP has no default port; rsyslog examples use 2514)` });
  }).describe('relp://HOST:PORT (IPv6 in brackets)'),
  tls: tlsClientSchema.optional().describe('speak RELP over TLS (imrelp tls="on"); the server certificate and name are checked'),
  window: z.number().int().min(1).max(100_000).default(128).describe('syslog frames sent and not yet answered at most (librelp\'s default is 128)'),
  format: z.enum(['rfc5424', 'raw']).default('rfc5424')
    .describe('rfc5424: RFC 5424 messages (an unchanged RFC 5424 message is sent as received); raw: every unchanged message as received, others as RFC 5424'),
  batch_events: z.number().int().positive().default(1024).describe('events taken from the buffer per send at most'),
  connect_timeout: duration().default(10_000).describe('give up a connection attempt (TCP, TLS and the open handshake) after this long'),
  ack_timeout: duration().default(30_000).describe('drop a session that answers none of the frames in flight for this long, and resend them'),
  ...outerShape,
}).strict();

export type RelpDestinationConfig = z.infer<typeof relpDestinationSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const relpDestinationInfo: DestinationInfo = {
  type: 'relp',
  description: 'RELP (rsyslog imrelp): every message acknowledged, unanswered frames resent on a new session',
  schema: relpDestinationSchema,
};
