// A TLS client's options (CA, client certificate and key), re-read when their files change.
//
// Destinations connect again and again; each new connection asks for `options`, which looks
// at the files' size and mtime (a stat, no read) and loads them again only when one moved.
// A renewed pair that does not load or match keeps the old one, and says so once.

import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { describeError, SluiceError } from '../errors.js';
import { log } from '../log.js';
import { readPem, tlsClientSchema, type TlsClientConfig } from './tls-config.js';

export class ClientTls {
  private current: ConnectionOptions;
  private stamp: string;
  private readonly files: string[];
  private readonly t: TlsClientConfig;

  /**
   * Reads and checks the files now: a wrong path or a mismatched pair fails at start.
   * `who` starts error messages (the URL), `component` names the log lines.
   */
  constructor(t: TlsClientConfig | undefined, private readonly host: string, private readonly baseDir: string, private readonly who: string, private readonly component = who) {
    this.t = t ?? tlsClientSchema.parse({});
    if ((this.t.cert === undefined) !== (this.t.key === undefined)) {
      throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `${who}: tls.cert and tls.key go together (a client certificate needs its key)`);
    }
    this.files = [this.t.ca, this.t.cert, this.t.key].filter((f): f is string => f !== undefined).map((f) => path.resolve(baseDir, f));
    this.stamp = this.filesStamp();
    this.current = this.load();
  }

  /** Options for a new connection (renewed files picked up). */
  get options(): ConnectionOptions {
    this.refresh();
    return this.current;
  }

  /** True when the files changed and the new ones are now in use. */
  refresh(): boolean {
    const stamp = this.filesStamp();
    if (stamp === this.stamp) return false;
    this.stamp = stamp;
    try {
      this.current = this.load();
    } catch (e) {
      log('error', this.component, 'renewed TLS client files refused; keeping the ones in use', { error: describeError(e) });
      return false;
    }
    log('info', this.component, 'TLS client files reloaded: new connections use them', { files: this.files.join(' ') });
    return true;
  }

  private load(): ConnectionOptions {
    const t = this.t, base = this.baseDir;
    const o: ConnectionOptions = {
      minVersion: t.min_version,
      // Both the chain and the name are checked (Node's checkServerIdentity) unless verify is off.
      rejectUnauthorized: t.verify,
    };
    if (t.ca) o.ca = readPem(t.ca, 'CA', base);
    if (t.cert) o.cert = readPem(t.cert, 'client certificate', base);
    if (t.key) o.key = readPem(t.key, 'client key', base);
    // SNI carries names only (RFC 6066); for an IP address Node checks the certificate's IP SANs.
    const name = t.servername ?? (isIP(this.host) ? undefined : this.host);
    if (name !== undefined) o.servername = name;
    try {
      // A key that does not match its certificate, or PEM that is not one, fails here.
      createSecureContext(o);
    } catch (e) {
      throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `${this.who}: the TLS files do not work together: ${describeError(e)}`, { cause: e });
    }
    return o;
  }

  private filesStamp(): string {
    return this.files.map((f) => {
      try {
        const s = fs.statSync(f);
        return `${s.size}:${s.mtimeMs}:${s.ino}`;
      } catch {
        return 'missing';
      }
    }).join('|');
  }
}
