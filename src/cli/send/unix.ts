// unix:///path — a local stream socket, as a syslog daemon's local input listens on one.

import { connect } from 'node:net';
import { StreamTransport } from './stream.js';
import type { TransportKind } from './transport.js';

export const unixTransport: TransportKind = {
  scheme: 'unix',
  defaultFraming: 'lf',
  framings: ['lf', 'octet'],
  addressing: 'path',
  prepare: (target) => () => new StreamTransport(target, () => connect({ path: target.path }), 'connect'),
};
