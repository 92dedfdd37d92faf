// Config schema of the HTTP source (a Loggly-compatible HTTP(S) input).

import { z } from 'zod';
import { duration, listenList, size } from '../../config/units.js';
import { tlsServerSchema } from '../../net/tls-config.js';
import type { SourceInfo } from '../index.js';

export const HTTP_SOURCE_FORMATS = ['auto', 'json', 'ndjson', 'text', 'syslog'] as const;
export type HttpSourceFormat = (typeof HTTP_SOURCE_FORMATS)[number];

export const httpSourceSchema = z.object({
  type: z.literal('http'),
  listen: listenList(['http', 'https']).describe('addresses: http://HOST:PORT, https://HOST:PORT (https needs tls)'),
  tls: tlsServerSchema.optional().describe('certificate and client authentication for https:// listeners'),
  tokens: z.array(z.string().min(1)).default([])
    .describe('accepted tokens, in the path (/inputs/TOKEN/, /bulk/TOKEN/) or as "Authorization: Bearer TOKEN"; use ${env.NAME}; empty = no token check'),
  allow: z.array(z.string()).default([]).describe('peer addresses allowed (CIDR, e.g. 10.0.0.0/8); empty = any'),
  max_body_bytes: size().default(10 * 1024 * 1024).describe('largest request body (after gzip decoding); larger requests get 413'),
  max_event_bytes: size().default(1024 * 1024).describe('largest single event (one line, object or array element); a request holding a larger one gets 413'),
  format: z.enum(HTTP_SOURCE_FORMATS).default('auto')
    .describe('how a body is read: auto (JSON objects and arrays, else text), json (JSON only), ndjson (one JSON object per line), text (syslog when a line starts with "<", else the line is the message), syslog (every line parsed as syslog)'),
  ack_timeout: duration().default(30_000)
    .describe('longest a request waits for its events to be queued (and for back-pressure to ease) before the answer is 503'),
  retry_after: duration().default(5_000).describe('Retry-After sent with 503 answers'),
  mode: z.enum(['loggly', 'github']).default('loggly')
    .describe('loggly: the routes above; github: GitHub webhooks on any path, X-Hub-Signature-256 checked with secret, replays (X-GitHub-Delivery) dropped'),
  secret: z.string().min(1).optional().describe('mode github: the webhook secret (use ${env.NAME}); requests without a valid signature get 401'),
  max_deliveries: z.number().int().positive().default(100_000).describe('mode github: delivery ids remembered to drop replays'),
}).strict().superRefine((cfg, ctx) => {
  if (cfg.mode === 'github' && !cfg.secret) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: 'mode github needs the webhook secret: secret: "${env.GITHUB_WEBHOOK_SECRET}"' });
  }
  if (cfg.listen.some((a) => a.scheme === 'https') && !cfg.tls) {
    ctx.addIssue({ code: 'custom', path: ['listen'], message: 'an https:// listener needs tls: { cert, key }' });
  }
});

export type HttpSourceConfig = z.infer<typeof httpSourceSchema>;

/** The registry's entry: what validating a config needs, without loading the implementation. */
export const httpSourceInfo: SourceInfo = {
  type: 'http',
  description: 'HTTP(S) input compatible with Loggly\'s /inputs/ and /bulk/ APIs, plus JSON arrays and NDJSON; 200 only once events are queued',
  schema: httpSourceSchema,
  listens: (config) => (config as HttpSourceConfig).listen,
};
