// TLS for listeners: the server context, client identity checks, and the TLS 1.3 ticket trap.

import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { readPem, type TlsServerConfig } from './tls-config.js';
import { SluiceError } from '../errors.js';
import { log } from '../log.js';

/**
 * TLS options for a listener of `component`. TLS 1.3 is offered only when this process sends
 * no session tickets (see tls13SendsTickets); `min_version: TLSv1.3` without that is refused,
 * since clients that close without reading would lose their last messages.
 */
export async function listenerTlsOptions(cfg: TlsServerConfig, baseDir: string, component: string): Promise<tls.TlsOptions> {
  const tickets = await tls13SendsTickets(readPem(cfg.key, 'key', baseDir), readPem(cfg.cert, 'certificate', baseDir));
  if (tickets && cfg.min_version === 'TLSv1.3') {
    throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `${component}: tls.min_version TLSv1.3 needs TLS 1.3 session tickets off, or clients that close without reading them (loggen, many appliances) lose their last messages; start sluice with npm start or NODE_OPTIONS=--openssl-config=<sluice>/openssl-sluice.cnf, or allow TLSv1.2`);
  }
  if (tickets) {
    log('info', component, 'TLS 1.3 is offered only when session tickets are off (start with npm start, or NODE_OPTIONS=--openssl-config=<sluice>/openssl-sluice.cnf); offering TLS 1.2');
  }
  return serverTlsOptions(cfg, baseDir, tickets ? 'TLSv1.2' : 'TLSv1.3');
}

export function serverTlsOptions(cfg: TlsServerConfig, baseDir: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): tls.TlsOptions {
  const opts: tls.TlsOptions = {
    key: readPem(cfg.key, 'key', baseDir),
    cert: readPem(cfg.cert, 'certificate', baseDir),
    minVersion: cfg.min_version,
    maxVersion,
    requestCert: cfg.client_auth !== 'none',
    rejectUnauthorized: cfg.client_auth === 'required',
    handshakeTimeout: cfg.handshake_timeout,
  };
  if (cfg.ca) opts.ca = readPem(cfg.ca, 'CA', baseDir);
  if (cfg.client_auth !== 'none' && !cfg.ca) {
    throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `tls.client_auth is ${cfg.client_auth} but tls.ca is not set: client certificates cannot be verified`);
  }
  try {
    tls.createSecureContext(opts);
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `TLS certificate/key cannot be used (${cfg.cert}, ${cfg.key}): ${(e as Error).message}`, { cause: e });
  }
  return opts;
}

/** "CN=web-01,O=Example": the certificate subject in its own RDN order. */
export function subjectText(cert: crypto.X509Certificate): string {
  return cert.subject.split('\n').join(',');
}

function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

/** Decides whether a verified client certificate is on the allow-lists. */
export class ClientIdentityPolicy {
  private readonly subjects: Map<string, RegExp>[];
  private readonly fingerprints: Set<string>;

  constructor(cfg: TlsServerConfig) {
    this.subjects = cfg.allow_subjects.map((pattern) => {
      const m = new Map<string, RegExp>();
      for (const part of pattern.split(',')) {
        const eq = part.indexOf('=');
        // A bare pattern is a CN pattern.
        const attr = eq < 0 ? 'CN' : part.slice(0, eq).trim().toUpperCase();
        m.set(attr, globToRegExp(eq < 0 ? part.trim() : part.slice(eq + 1).trim()));
      }
      return m;
    });
    this.fingerprints = new Set(cfg.allow_fingerprints.map((f) => f.toUpperCase().replace(/[^0-9A-F]/g, '')));
  }

  get restricts(): boolean {
    return this.subjects.length > 0 || this.fingerprints.size > 0;
  }

  allows(cert: crypto.X509Certificate): boolean {
    if (!this.restricts) return true;
    if (this.fingerprints.has(cert.fingerprint256.replace(/:/g, ''))) return true;
    const attrs = new Map<string, string[]>();
    for (const line of cert.subject.split('\n')) {
      const eq = line.indexOf('=');
      const k = line.slice(0, eq).toUpperCase();
      attrs.set(k, [...(attrs.get(k) ?? []), line.slice(eq + 1)]);
    }
    return this.subjects.some((pattern) =>
      [...pattern].every(([attr, re]) => (attrs.get(attr) ?? []).some((v) => re.test(v))));
  }
}

let ticketCheck: Promise<boolean> | null = null;

/**
 * Whether this process's OpenSSL sends TLS 1.3 session tickets. It does unless started
 * with sluice's OpenSSL config (NumTickets = 0). A client that closes without reading the
 * tickets gets them as unread data, its kernel answers with a reset, and whatever it had
 * not yet sent is lost: so TLS 1.3 is offered only when tickets are off.
 */
export function tls13SendsTickets(key: Buffer, cert: Buffer): Promise<boolean> {
  return (ticketCheck ??= new Promise<boolean>((resolve) => {
    const server = tls.createServer({ key, cert, minVersion: 'TLSv1.3' }, (s) => {
      s.on('error', () => {});
      // Give the tickets (if any) time to reach the client before closing.
      setTimeout(() => s.end(), 50);
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      let got = false;
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1.3' });
      c.on('session', () => { got = true; });
      c.on('error', () => {});
      c.on('close', () => { server.close(); resolve(got); });
      c.resume();
    });
    server.on('error', () => resolve(true));
  }));
}
