// Config schema of the NATS JetStream source.

import { z } from 'zod';
import { duration, size } from '../../config/units.js';
import { natsUrlSchema } from '../../broker/nats-connection.js';
import type { SourceInfo } from '../index.js';

export const natsSourceSchema = z.object({
  type: z.literal('nats'),
  url: natsUrlSchema.default('nats://127.0.0.1:4222').describe('nats://HOST:PORT, or a list of the cluster\'s servers (default nats://127.0.0.1:4222)'),
  stream: z.string().min(1).default('LOGS').describe('JetStream stream to read'),
  consumer: z.string().regex(/^[^.*> \t]+$/, 'a durable name has no dots, wildcards or spaces')
    .describe('durable pull consumer: instances naming the same one share its messages (round robin); different names each get every message (fan-out)'),
  subject: z.string().optional().describe('filter subject of the consumer when sluice creates it (default: everything in the stream)'),
  format: z.enum(['auto', 'json', 'syslog', 'raw']).default('auto')
    .describe('auto: JSON lines (sluice events or other JSON), else syslog lines; json; syslog; raw: the whole message is one event'),
  batch: z.number().int().min(1).max(10_000).default(256).describe('messages pulled and dispatched together at most'),
  max_ack_pending: z.number().int().min(1).optional().describe('messages delivered and not yet acknowledged at most (default: 4 × batch)'),
  ack_wait: duration().default(30_000).describe('redelivery after this long without an ack; working() extends it while a slow destination holds a message'),
  max_deliver: z.number().int().min(1).default(5).describe('attempts before a message goes to the dead-letter file and is terminated'),
  nak_delay: duration().default(1_000).describe('redelivery delay when a destination could not take a message'),
  dead_letter: z.string().optional().describe('file for messages that cannot be read or failed max_deliver times (default: <data_dir>/dead-letter/<source>.ndjson)'),
  dead_letter_subject: z.string().optional().describe('also publish dead letters to this subject'),
  max_event_bytes: size().default(1024 * 1024).describe('largest event (one line of a message)'),
  connect_timeout: duration().default(5_000).describe('give up connecting (and a JetStream API call) after this long'),
  pull_expires: duration().default(30_000).describe('a pull request waits this long for messages before it is renewed (at least 1 s)'),
  idle_heartbeat: duration().default(5_000).describe('the server sends a heartbeat this often while a pull waits; two missed ones set the consumer up again (at most half of pull_expires)'),
}).strict().refine((c) => c.pull_expires >= 1000, { message: 'pull_expires is at least 1s', path: ['pull_expires'] })
  .refine((c) => c.idle_heartbeat >= 100 && c.idle_heartbeat * 2 <= c.pull_expires, { message: 'idle_heartbeat is between 100ms and half of pull_expires', path: ['idle_heartbeat'] });

export type NatsSourceConfig = z.infer<typeof natsSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const natsSourceInfo: SourceInfo = {
  type: 'nats',
  description: 'NATS JetStream durable pull consumer: round robin within a durable, fan-out across durables, ack only when delivered',
  schema: natsSourceSchema,
  listens: () => [],
};
