// Config schema of the syslog source (UDP, TCP, TLS and unix stream listeners).

import { z } from 'zod';
import { duration, listenList, size } from '../../config/units.js';
import { tlsServerSchema } from '../../net/tls-config.js';

export const SYSLOG_SCHEMES = ['udp', 'tcp', 'tls', 'unix'] as const;

export const syslogSourceSchema = z.object({
  type: z.literal('syslog'),
  listen: listenList(SYSLOG_SCHEMES).describe('addresses: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT, unix:///PATH'),
  format: z.enum(['auto', 'rfc5424', 'rfc3164', 'none']).default('auto')
    .describe('message format: auto-detect RFC 5424 / RFC 3164, one of them, or none (whole message as text)'),
  framing: z.enum(['auto', 'lf', 'octet']).default('auto')
    .describe('TCP/TLS framing (RFC 6587): auto-detect per frame, newline only, or octet counting only'),
  max_message_bytes: size().default(65536).describe('longest message accepted; longer ones are cut or rejected'),
  oversize: z.enum(['truncate', 'reject']).default('truncate').describe('what to do with a message over max_message_bytes'),
  allow: z.array(z.string()).default([]).describe('peer addresses allowed (CIDR, e.g. 10.0.0.0/8); empty = any'),
  max_connections: z.number().int().positive().default(1000).describe('open TCP/TLS/unix connections at most'),
  max_connections_per_peer: z.number().int().positive().default(200).describe('open connections from one address at most'),
  idle_timeout: duration().default(600_000).describe('close a connection that sent nothing for this long (0 = never)'),
  close_confirmation: z.boolean().default(false)
    .describe('TCP/TLS/unix: when a peer closes its side, answer "sluice: queued" once all it sent is queued (a reset if some was dropped), for at-least-once senders such as sluice send --confirm-every'),
  udp_receive_buffer: size().default(8 * 1024 * 1024).describe('UDP socket receive buffer (SO_RCVBUF); larger absorbs bursts'),
  udp_reader_nice: z.number().int().min(-20).max(19).nullable().default(-10)
    .describe('scheduling priority (nice) of the thread that drains UDP sockets, so a busy host does not overflow them; needs CAP_SYS_NICE to go below 0, else it stays at the process\'s; null = leave it'),
  udp_reader: z.enum(['auto', 'recvmmsg', 'dgram']).default('auto')
    .describe('how the UDP reader thread reads: recvmmsg (the addon npm install builds on Linux; many datagrams per call, a wakeup per millisecond), dgram (node:dgram, a callback per datagram), auto = recvmmsg when built and the address is numeric'),
  tls: tlsServerSchema.optional().describe('certificate and client authentication for tls:// listeners'),
}).strict();

export type SyslogSourceConfig = z.infer<typeof syslogSourceSchema>;
