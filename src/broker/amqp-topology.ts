// RabbitMQ topology and URLs shared by the amqp source and destination.

import type { Channel, ChannelModel } from 'amqplib';
import { z } from 'zod';

export const amqpUrlSchema = z.string().regex(/^amqps?:\/\//, 'expected amqp://USER:PASS@HOST:PORT/VHOST (or amqps://)')
  .describe('amqp://USER:PASS@HOST:PORT/VHOST; the vhost is the URL\'s path (none: "/")');

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** A durable topic exchange: the one every sluice publisher and consumer meets at. */
export async function assertExchange(ch: Channel, exchange: string): Promise<void> {
  await ch.assertExchange(exchange, 'topic', { durable: true });
}

export interface QueueSpec {
  exchange: string;
  queue: string;
  bindingKey: string;
  queueType: 'quorum' | 'classic';
  deliveryLimit: number;
  deadLetterExchange: string;
}

/**
 * A durable queue bound to the exchange, with a delivery limit and a dead-letter exchange
 * (and a queue behind it, so dead letters are kept for inspection rather than dropped).
 */
export async function assertQueue(ch: Channel, q: QueueSpec): Promise<void> {
  await assertExchange(ch, q.exchange);
  await ch.assertExchange(q.deadLetterExchange, 'fanout', { durable: true });
  const dlq = `${q.queue}.dead-letter`;
  await ch.assertQueue(dlq, { durable: true, arguments: q.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {} });
  await ch.bindQueue(dlq, q.deadLetterExchange, '');
  const args: Record<string, unknown> = { 'x-dead-letter-exchange': q.deadLetterExchange };
  if (q.queueType === 'quorum') {
    args['x-queue-type'] = 'quorum';
    args['x-delivery-limit'] = q.deliveryLimit;
  }
  await ch.assertQueue(q.queue, { durable: true, arguments: args });
  await ch.bindQueue(q.queue, q.exchange, q.bindingKey);
}

/** A plain (non-recovering) connection: the caller owns reconnecting and knows which channel a tag came from. */
export async function openAmqp(url: string, timeoutMs: number, heartbeatS: number): Promise<ChannelModel> {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(heartbeatS));
  // Loaded on first use: most configs have no amqp component.
  const amqp = (await import('amqplib')).default;
  return amqp.connect(u.toString(), { timeout: timeoutMs });
}
