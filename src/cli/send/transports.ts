// The URL schemes `sluice send` speaks, one explicit list; relp:// and http(s):// join it as files of their own.

import { usageError } from './errors.js';
import { tcpTransport } from './tcp.js';
import { tlsTransport } from './tls.js';
import type { Target, TransportKind } from './transport.js';
import { udpTransport } from './udp.js';
import { unixTransport } from './unix.js';

export const TRANSPORTS: readonly TransportKind[] = [udpTransport, tcpTransport, tlsTransport, unixTransport];

/** Parses and checks the URL once, before any connection is tried. */
export function resolveTarget(url: string): { target: Target; kind: TransportKind } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`"${url}" is not a URL; expected e.g. tcp://127.0.0.1:5140`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  const kind = TRANSPORTS.find((k) => k.scheme === scheme);
  if (!kind) {
    throw usageError(`${url}: unsupported scheme "${scheme}://"; sluice send speaks ${TRANSPORTS.map((k) => k.scheme + '://').join(', ')}`);
  }
  if (kind.addressing === 'path') {
    const path = decodeURIComponent(u.pathname);
    if (u.host || !path || path === '/') throw usageError(`${url}: expected ${scheme}:///absolute/path/to/socket`);
    return { target: { url, host: '', port: 0, path }, kind };
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  if (!host || !u.port) throw usageError(`${url}: expected ${scheme}://host:port, e.g. ${scheme}://127.0.0.1:5140`);
  return { target: { url, host, port: Number(u.port), path: '' }, kind };
}
