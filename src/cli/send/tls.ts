// tls:// — syslog over TLS (RFC 5425, octet counting by default), TLS 1.2 or later, server verified.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect, createSecureContext, type ConnectionOptions, type SecureContextOptions } from 'node:tls';
import { SluiceError } from '../../errors.js';
import type { SendOptions } from './run.js';
import { usageError } from './errors.js';
import { StreamTransport } from './stream.js';
import type { Target, TransportKind } from './transport.js';

// In TLS 1.3 the server checks our certificate after our handshake is done, so a refusal
// shows up as a reset of the first writes rather than as a handshake error.
const RESET_HINT = 'a TLS receiver resets the connection when it refuses the client certificate or requires one: check --cert/--key against its CA';

function readPem(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `--${option} ${path}: cannot read (${code})`, { cause: e });
  }
}

/** One context for all connections of the run: the files are read and checked once. */
function tlsOptions(target: Target, opts: SendOptions): ConnectionOptions {
  if (Boolean(opts.cert) !== Boolean(opts.key)) {
    throw usageError('a client certificate needs both --cert and --key');
  }
  const ctx: SecureContextOptions = { minVersion: 'TLSv1.2' };
  if (opts.ca) {
    ctx.ca = readPem('ca', opts.ca);
    // Node skips what is not a certificate, which would leave an empty trust store.
    if (!ctx.ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `--ca ${opts.ca}: no PEM certificate in this file`);
    }
  }
  if (opts.cert) ctx.cert = readPem('cert', opts.cert);
  if (opts.key) ctx.key = readPem('key', opts.key);
  let secureContext;
  try {
    secureContext = createSecureContext(ctx);
  } catch (e) {
    const files = [opts.ca && `--ca ${opts.ca}`, opts.cert && `--cert ${opts.cert}`, opts.key && `--key ${opts.key}`].filter(Boolean).join(', ');
    throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `${files}: ${(e as Error).message}`, { cause: e });
  }
  const o: ConnectionOptions = {
    host: target.host,
    port: target.port,
    secureContext,
    rejectUnauthorized: !opts.insecure,
  };
  // SNI must not carry an IP address (RFC 6066); Node then checks the IP against the SANs.
  if (opts.servername) o.servername = opts.servername;
  else if (!isIP(target.host)) o.servername = target.host;
  return o;
}

export const tlsTransport: TransportKind = {
  scheme: 'tls',
  defaultFraming: 'octet',
  framings: ['octet', 'lf'],
  addressing: 'host-port',
  prepare: (target, opts) => {
    const options = tlsOptions(target, opts);
    return () => new StreamTransport(target, () => connect(options), 'secureConnect', RESET_HINT);
  },
};
