// A TLS listener's certificate and key, picked up again when their files change.
//
// Renewed files are read at a reload and when a poll sees them change. The new pair must
// load and match (the same checks as at start) before any server uses it; new connections
// then get it, connections already open go on with theirs. A file that does not parse or
// does not match its key keeps the old pair, and says so.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import type { TlsServerConfig } from './tls-config.js';
import { serverTlsOptions } from './tls-server.js';

/** How often certificate files are looked at (their mtime and size; the content when those move). */
const POLL_MS = 2_000;

export class ServerCertificates {
  private readonly servers = new Set<tls.Server>();
  private digest: string;
  private readonly watched: string[];
  private watching = false;

  constructor(
    private readonly cfg: TlsServerConfig,
    private readonly baseDir: string,
    private readonly component: string,
    /** What servers use now (from listenerTlsOptions or serverTlsOptions). */
    public options: tls.TlsOptions,
  ) {
    this.watched = [cfg.cert, cfg.key, ...(cfg.ca ? [cfg.ca] : [])].map((f) => path.resolve(baseDir, f));
    this.digest = this.filesDigest() ?? '';
  }

  attach(server: tls.Server): void {
    this.servers.add(server);
    if (!this.watching) {
      this.watching = true;
      for (const f of this.watched) fs.watchFile(f, { interval: POLL_MS, persistent: false }, this.onChange);
    }
  }

  detach(server: tls.Server): void {
    this.servers.delete(server);
    if (this.servers.size === 0 && this.watching) {
      this.watching = false;
      for (const f of this.watched) fs.unwatchFile(f, this.onChange);
    }
  }

  private readonly onChange = (): void => { this.check(); };

  /** Re-reads the files; 'reloaded' when servers now use a new pair, 'kept' when the new files were refused. */
  check(): 'unchanged' | 'reloaded' | 'kept' {
    const digest = this.filesDigest();
    if (digest === null || digest === this.digest) {
      if (digest === null) log('error', this.component, 'TLS certificate or key file cannot be read; keeping the pair in use', { files: this.watched.join(' ') });
      return digest === null ? 'kept' : 'unchanged';
    }
    let next: tls.TlsOptions;
    try {
      next = serverTlsOptions(this.cfg, this.baseDir, this.options.maxVersion === 'TLSv1.2' ? 'TLSv1.2' : 'TLSv1.3');
    } catch (e) {
      // Mid-rename a pair can be half-written: the next change is looked at again.
      log('error', this.component, 'renewed TLS certificate/key refused; keeping the pair in use', { error: describeError(e) });
      this.digest = digest;
      return 'kept';
    }
    for (const s of this.servers) s.setSecureContext(next);
    this.options = next;
    this.digest = digest;
    const cert = new crypto.X509Certificate(next.cert as Buffer);
    log('info', this.component, 'TLS certificate reloaded: new connections get it', { subject: cert.subject.split('\n').join(','), not_after: cert.validTo, fingerprint: cert.fingerprint256 });
    return 'reloaded';
  }

  private filesDigest(): string | null {
    const h = crypto.createHash('sha256');
    try {
      for (const f of this.watched) h.update(fs.readFileSync(f)).update('\0');
    } catch {
      return null;
    }
    return h.digest('hex');
  }
}
