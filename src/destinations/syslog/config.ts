// Config schema of the syslog destination (UDP, TCP, TLS; RFC 5424/3164, JSON, CEF, LEEF, kv, template).

import { z } from 'zod';
import { duration, parseListen, size, type ListenAddress } from '../../config/units.js';
import { OUTPUT_FORMATS } from '../../codec/encode/index.js';
import { facilityCode, severityCode } from '../../event/syslog-names.js';
import { tlsClientSchema } from '../../net/tls-config.js';
import { templateString } from '../../template/schema.js';
import { outerShape } from '../outer.js';
import type { DestinationInfo } from '../index.js';

export const SYSLOG_DESTINATION_SCHEMES = ['udp', 'tcp', 'tls'] as const;

/** The default message for format: template (no "\n": the framing ends a message). */
export const DEFAULT_SYSLOG_TEMPLATE = '${ISODATE} ${HOST} ${MSGHDR}${MSG}';

/** The largest UDP payload over IPv4; longer datagrams cannot be sent at all. */
export const MAX_UDP_PAYLOAD = 65507;

const url = () =>
  z.string().transform((v, ctx): ListenAddress => {
    const r = parseListen(v, SYSLOG_DESTINATION_SCHEMES);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    if (r.port === 0) {
      ctx.addIssue({ code: 'custom', message: `${v}: a destination needs a port other than 0` });
      return z.NEVER;
    }
    return r;
  });

const code = (what: string, lookup: (n: string) => number | undefined, max: number, examples: string) =>
  z.union([z.number().int(), z.string()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? (v >= 0 && v <= max ? v : undefined) : lookup(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a ${what} name or number 0-${max} (${examples}), got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

export const syslogDestinationSchema = z.object({
  type: z.literal('syslog'),
  url: url().describe('where to send: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (RFC 5425)'),
  format: z.enum(OUTPUT_FORMATS).default('rfc5424')
    .describe('rfc5424 | rfc3164 | json | cef (ArcSight) | leef (QRadar LEEF 2.0) | kv (key=value) | template'),
  framing: z.enum(['octet', 'lf']).optional()
    .describe('TCP/TLS framing (RFC 6587): octet counting (default for tls://, RFC 5425) or a newline after each message (default for tcp://); UDP sends one message per datagram'),
  header: z.enum(['rfc3164', 'rfc5424', 'none']).optional()
    .describe('syslog header before cef, leef, kv, json and template payloads (default: rfc3164 for cef and leef, none otherwise)'),
  facility: code('facility', facilityCode, 23, 'user, local0, 16').optional().describe('facility for every message (default: the event\'s own)'),
  severity: code('severity', severityCode, 7, 'info, warning, 6').optional().describe('severity for every message (default: the event\'s own)'),
  hostname: z.string().min(1).optional().describe('HOSTNAME for every message (default: the event\'s own)'),
  tag: z.string().min(1).optional().describe('APP-NAME / TAG for every message (default: the event\'s program)'),
  separator: z.string().min(1).default(' ').describe('kv: between pairs, e.g. "||"'),
  pair: z.string().min(1).default('=').describe('kv: between key and value'),
  template: templateString().default(DEFAULT_SYSLOG_TEMPLATE).describe('format template: the message template (no trailing newline; the framing ends it)'),
  vendor: z.string().min(1).default('sluice').describe('cef/leef: device vendor in the header'),
  product: z.string().min(1).default('sluice').describe('cef/leef: device product in the header'),
  version: z.string().min(1).optional().describe('cef/leef: device version in the header (default: sluice\'s version)'),
  delimiter: z.string().length(1, 'expected one character, e.g. "^" or "\\t"').default('\t').describe('leef: attribute delimiter (default tab)'),
  tls: tlsClientSchema.optional().describe('tls://: CA to verify the server with, client certificate and key, servername; the server name is always checked unless verify: false'),
  connect_timeout: duration().default(10_000).describe('give up a connection attempt (TCP connect and TLS handshake) after this long'),
  send_timeout: duration().default(30_000).describe('a batch the receiver has not taken within this long is retried on a new connection'),
  max_message_bytes: size().default(MAX_UDP_PAYLOAD)
    .describe('udp://: longer messages are cut to this many bytes (at a UTF-8 boundary); tcp:// and tls:// send messages whole'),
  batch_events: z.number().int().positive().default(1000).describe('events encoded and written at once at most'),
  ...outerShape,
}).strict().superRefine((c, ctx) => {
  const scheme = c.url.scheme;
  if (c.tls && scheme !== 'tls') ctx.addIssue({ code: 'custom', path: ['tls'], message: `tls settings need a tls:// url, not ${c.url.text}` });
  if (c.framing && scheme === 'udp') ctx.addIssue({ code: 'custom', path: ['framing'], message: 'framing applies to tcp:// and tls:// only; udp:// sends one message per datagram' });
  if (scheme === 'udp' && c.max_message_bytes > MAX_UDP_PAYLOAD) {
    ctx.addIssue({ code: 'custom', path: ['max_message_bytes'], message: `a UDP datagram carries at most ${MAX_UDP_PAYLOAD} bytes` });
  }
  if (c.header && (c.format === 'rfc5424' || c.format === 'rfc3164')) {
    ctx.addIssue({ code: 'custom', path: ['header'], message: `header applies to cef, leef, kv, json and template; ${c.format} is a syslog message itself` });
  }
  if (c.max_message_bytes < 64) ctx.addIssue({ code: 'custom', path: ['max_message_bytes'], message: 'expected at least 64 bytes' });
  if (c.tls && Boolean(c.tls.cert) !== Boolean(c.tls.key)) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'a client certificate needs both cert and key' });
  }
});

export type SyslogDestinationConfig = z.infer<typeof syslogDestinationSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const syslogDestinationInfo: DestinationInfo = {
  type: 'syslog',
  description: 'send to a SIEM or relay over udp://, tcp:// or tls:// as RFC 5424, RFC 3164, JSON, CEF, LEEF, key=value or a template',
  schema: syslogDestinationSchema,
};
