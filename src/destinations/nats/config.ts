// Config schema of the NATS JetStream destination.

import { z } from 'zod';
import { duration, size } from '../../config/units.js';
import { natsUrlSchema } from '../../broker/nats-connection.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const natsStreamDefaultsSchema = z.object({
  subjects: z.array(z.string().min(1)).optional().describe('subjects the stream captures (default: the subject template up to its first macro, then ">"; e.g. logs.>)'),
  storage: z.enum(['file', 'memory']).default('file').describe('file (survives a server restart) or memory'),
  replicas: z.number().int().min(1).max(5).default(1).describe('copies in a cluster (R3 survives the loss of one server)'),
  max_bytes: size().default(1024 ** 3).describe('size limit of the stream; when full, publishes fail (discard: new) and are retried'),
  max_age: duration().default(7 * 86_400_000).describe('messages older than this are removed'),
  duplicate_window: duration().default(120_000).describe('how long the server remembers message ids to drop resent copies'),
}).strict();

export const natsDestinationSchema = z.object({
  type: z.literal('nats'),
  url: natsUrlSchema.default('nats://127.0.0.1:4222').describe('nats://HOST:PORT, or a list of the cluster\'s servers (default nats://127.0.0.1:4222)'),
  stream: z.string().regex(/^[^.*> \t]+$/, 'a stream name has no dots, wildcards or spaces').default('LOGS').describe('JetStream stream, created when missing (see create_stream)'),
  subject: z.string().min(1).default('logs.${HOST}.${LEVEL}').describe('subject template; macro values have dots, *, > and spaces replaced by _'),
  create_stream: natsStreamDefaultsSchema.prefault({}).describe('settings of the stream when sluice creates it (discard is always new: a full stream is an error, never a silent drop)'),
  events_per_message: z.number().int().min(1).max(100_000).default(100).describe('events per NATS message at most (NDJSON, one JSON event per line)'),
  max_message_bytes: size().default(900 * 1024).describe('payload size limit per message (the server\'s max_payload is 1MiB by default)'),
  max_in_flight: z.number().int().min(1).max(100_000).default(256).describe('publishes awaiting their PubAck at most'),
  batch_events: z.number().int().positive().default(2000).describe('events taken from the buffer per send at most'),
  ack_timeout: duration().default(10_000).describe('a publish not acknowledged within this is retried (same message id: the server drops copies)'),
  connect_timeout: duration().default(5_000).describe('give up connecting (and a JetStream API call) after this long'),
  ...outerShape,
}).strict();

export type NatsDestinationConfig = z.infer<typeof natsDestinationSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const natsDestinationInfo: DestinationInfo = {
  type: 'nats',
  description: 'NATS JetStream: NDJSON messages, ok only on PubAck, Nats-Msg-Id for deduplication, stream created with discard: new',
  schema: natsDestinationSchema,
};
