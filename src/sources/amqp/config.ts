// Config schema of the RabbitMQ (AMQP 0-9-1) source.

import { z } from 'zod';
import { amqpUrlSchema } from '../../broker/amqp-topology.js';
import { duration, size } from '../../config/units.js';
import type { SourceInfo } from '../index.js';

export const amqpSourceSchema = z.object({
  type: z.literal('amqp'),
  url: amqpUrlSchema.default('amqp://guest:guest@127.0.0.1:5672').describe('amqp://USER:PASS@HOST:PORT/VHOST; the vhost is the URL\'s path (none: "/")'),
  exchange: z.string().min(1).default('sluice').describe('durable topic exchange, declared when missing'),
  queue: z.string().min(1).describe('durable queue, declared when missing: instances naming the same queue share its messages (round robin); one queue per group gets every message (fan-out)'),
  routing_key: z.string().default('#').describe('binding of the queue to the exchange'),
  queue_type: z.enum(['quorum', 'classic']).default('quorum').describe('quorum (replicated, with a delivery limit) or classic'),
  format: z.enum(['auto', 'json', 'syslog', 'raw']).default('auto')
    .describe('auto: JSON lines (sluice events or other JSON), else syslog lines; json; syslog; raw: the whole message is one event'),
  prefetch: z.number().int().min(1).max(65_535).default(1024).describe('messages delivered and not yet acknowledged at most'),
  batch: z.number().int().min(1).max(10_000).default(256).describe('messages dispatched together at most'),
  delivery_limit: z.number().int().min(1).default(5).describe('deliveries of a message before RabbitMQ dead-letters it (quorum queues)'),
  dead_letter_exchange: z.string().optional().describe('where RabbitMQ sends poison messages (default: <exchange>.dead-letter, with a queue <queue>.dead-letter bound)'),
  dead_letter: z.string().optional().describe('file for messages that cannot be read (default: <data_dir>/dead-letter/<source>.ndjson)'),
  max_event_bytes: size().default(1024 * 1024).describe('largest event (one line of a message)'),
  connect_timeout: duration().default(5_000).describe('give up connecting after this long'),
  heartbeat: z.number().int().min(0).default(10).describe('AMQP heartbeat in seconds'),
}).strict();

export type AmqpSourceConfig = z.infer<typeof amqpSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const amqpSourceInfo: SourceInfo = {
  type: 'amqp',
  description: 'RabbitMQ consumer on a durable quorum queue: manual acks only when delivered, delivery limit with a dead-letter exchange, reconnects with backoff',
  schema: amqpSourceSchema,
  listens: () => [],
};
