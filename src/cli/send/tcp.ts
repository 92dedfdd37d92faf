// tcp:// — syslog over plain TCP (RFC 6587), newline framing unless --framing octet.

import { connect } from 'node:net';
import { StreamTransport } from './stream.js';
import type { TransportKind } from './transport.js';

export const tcpTransport: TransportKind = {
  scheme: 'tcp',
  defaultFraming: 'lf',
  framings: ['lf', 'octet'],
  addressing: 'host-port',
  prepare: (target) => () => new StreamTransport(target, () => connect({ host: target.host, port: target.port }), 'connect'),
};
