// Config schema of the NetFlow / IPFIX source.

import { z } from 'zod';
import { duration, listenList, size } from '../../config/units.js';
import type { SourceInfo } from '../index.js';

export const netflowSourceSchema = z.object({
  type: z.literal('netflow'),
  listen: listenList(['udp']).describe('addresses: udp://HOST:PORT (NetFlow v5, v9 and IPFIX on the same port)'),
  allow: z.array(z.string()).default([]).describe('exporter addresses allowed (CIDR); datagrams from others are dropped and counted; empty = any'),
  max_templates: z.number().int().positive().default(10_000).describe('templates kept at most, over all exporters'),
  template_wait_bytes: size().default(4 * 1024 * 1024).describe('data sets kept while waiting for their template, in bytes at most'),
  template_wait: duration().default(60_000).describe('how long a data set waits for its template before it is dropped'),
  udp_receive_buffer: size().default(8 * 1024 * 1024).describe('SO_RCVBUF for the sockets (capped by net.core.rmem_max)'),
}).strict();

export type NetflowSourceConfig = z.infer<typeof netflowSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const netflowSourceInfo: SourceInfo = {
  type: 'netflow',
  description: 'NetFlow v5, v9 and IPFIX over UDP; each flow an event with fields named after the IPFIX information elements',
  schema: netflowSourceSchema,
  listens: (config) => (config as NetflowSourceConfig).listen,
};
