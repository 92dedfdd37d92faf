// Config schema of the RabbitMQ (AMQP 0-9-1) destination.

import { z } from 'zod';
import { amqpUrlSchema } from '../../broker/amqp-topology.js';
import { duration, size } from '../../config/units.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const amqpDestinationSchema = z.object({
  type: z.literal('amqp'),
  url: amqpUrlSchema.default('amqp://guest:guest@127.0.0.1:5672').describe('amqp://USER:PASS@HOST:PORT/VHOST; the vhost is the URL\'s path (none: "/")'),
  exchange: z.string().min(1).default('sluice').describe('durable topic exchange, declared when missing'),
  routing_key: z.string().min(1).default('logs.${HOST}.${LEVEL}').describe('routing key template; macro values have dots, *, # and spaces replaced by _'),
  queue: z.string().min(1).optional().describe('also declare this durable quorum queue and bind it, so messages are kept before any consumer starts'),
  binding_key: z.string().default('#').describe('binding of `queue` to the exchange'),
  when_unroutable: z.enum(['dead_letter', 'retry']).default('dead_letter')
    .describe('a message no queue is bound for (returned under mandatory): to the dead-letter file (counted), or retried until a queue is bound'),
  events_per_message: z.number().int().min(1).max(100_000).default(100).describe('events per AMQP message at most (NDJSON)'),
  max_message_bytes: size().default(16 * 1024 * 1024).describe('payload limit per message; a single event bigger than this goes to the dead-letter file'),
  max_in_flight: z.number().int().min(1).max(100_000).default(1024).describe('messages awaiting their publisher confirm at most'),
  batch_events: z.number().int().positive().default(2000).describe('events taken from the buffer per send at most'),
  connect_timeout: duration().default(5_000).describe('give up connecting after this long'),
  confirm_timeout: duration().default(30_000).describe('a batch not fully confirmed within this (e.g. the broker blocked publishers on a memory alarm) is sent again on a new connection'),
  heartbeat: z.number().int().min(0).default(10).describe('AMQP heartbeat in seconds (a dead connection is noticed after about twice this)'),
  ...outerShape,
}).strict();

export type AmqpDestinationConfig = z.infer<typeof amqpDestinationSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const amqpDestinationInfo: DestinationInfo = {
  type: 'amqp',
  description: 'RabbitMQ: persistent mandatory messages on a confirm channel, ok only when confirmed, unroutable messages dead-lettered',
  schema: amqpDestinationSchema,
};
