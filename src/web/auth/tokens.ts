// API tokens: made and revoked by `sluice token` or the admin routes, kept hashed in <data_dir>/tokens.json.
//
// The file holds only sha256 hashes of 256-bit random tokens, so a copy of data_dir does not
// leak a usable token. A running daemon sees changes without a restart: every lookup stats the
// file (one syscall) and re-reads it when its mtime, size or inode moved.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../errors.js';

export type Role = 'read' | 'admin';
export const ROLES: readonly Role[] = ['read', 'admin'];

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** sha256 of the token, hex. */
  hash: string;
  created_at: string;
}

interface TokenFile {
  version: 1;
  tokens: TokenRecord[];
}

export const TOKEN_FILE = 'tokens.json';
const PREFIX = 'slc_';

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh token: the prefix (so it is recognisable in a leak scan) and 32 random bytes. */
export function newToken(): string {
  return PREFIX + crypto.randomBytes(32).toString('base64url');
}

export class TokenStore {
  readonly file: string;
  private records: TokenRecord[] = [];
  private hashes: Buffer[] = [];
  private stamp = '';

  constructor(dataDir: string) {
    this.file = path.join(dataDir, TOKEN_FILE);
  }

  /** Makes the first admin token when the file has none; returns it (to print once) or null. */
  ensureAdmin(): string | null {
    this.refresh();
    if (this.records.length > 0) return null;
    return this.locked(() => (this.records.length > 0 ? null : this.createLocked('admin', this.records.some((r) => r.name === 'admin') ? undefined : 'admin').token));
  }

  list(): TokenRecord[] {
    this.refresh();
    return this.records.map((r) => ({ ...r }));
  }

  /** Finds the token's record, comparing hashes in constant time against every record. */
  verify(token: string): TokenRecord | null {
    this.refresh();
    if (!token.startsWith(PREFIX) || token.length > 200) return null;
    const h = Buffer.from(hashToken(token), 'hex');
    let found: TokenRecord | null = null;
    for (let i = 0; i < this.hashes.length; i++) {
      if (crypto.timingSafeEqual(h, this.hashes[i]!)) found = this.records[i]!;
    }
    return found;
  }

  /** The record by id (sessions check their token still exists on every request). */
  byId(id: string): TokenRecord | null {
    this.refresh();
    return this.records.find((r) => r.id === id) ?? null;
  }

  create(role: Role, name?: string): { record: TokenRecord; token: string } {
    if (!ROLES.includes(role)) throw new SluiceError('SLUICE_ERR_USAGE', `token role must be read or admin, not ${JSON.stringify(role)}`);
    return this.locked(() => this.createLocked(role, name));
  }

  private createLocked(role: Role, name?: string): { record: TokenRecord; token: string } {
    const id = crypto.randomBytes(4).toString('hex');
    const n = name ?? `${role}-${id}`;
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(n)) throw new SluiceError('SLUICE_ERR_USAGE', `token name ${JSON.stringify(n)} must be 1-64 letters, digits, _ . @ -`);
    if (this.records.some((r) => r.name === n)) throw new SluiceError('SLUICE_ERR_USAGE', `a token named ${JSON.stringify(n)} exists already (revoke it first or pick another --name)`);
    const token = newToken();
    const record: TokenRecord = { id, name: n, role, hash: hashToken(token), created_at: new Date().toISOString() };
    this.write([...this.records, record]);
    return { record, token };
  }

  /** Revokes by id or name; returns the revoked record, or null when none matched. */
  revoke(idOrName: string): TokenRecord | null {
    return this.locked(() => this.revokeLocked(idOrName));
  }

  private revokeLocked(idOrName: string): TokenRecord | null {
    const r = this.records.find((x) => x.id === idOrName) ?? this.records.find((x) => x.name === idOrName);
    if (!r) return null;
    this.write(this.records.filter((x) => x !== r));
    return r;
  }

  /**
   * Runs a read-modify-write of the file under a lock file, so `sluice token` and the daemon's
   * admin routes cannot lose each other's changes. A lock older than 10 s is a crashed writer's.
   */
  private locked<T>(fn: () => T): T {
    const lock = `${this.file}.lock`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const end = Date.now() + 5000;
    for (;;) {
      try {
        fs.closeSync(fs.openSync(lock, 'wx', 0o600));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 10_000) { fs.rmSync(lock, { force: true }); continue; }
      } catch { /* gone meanwhile: try again */ }
      if (Date.now() > end) throw new SluiceError('SLUICE_ERR_TOKEN_FILE', `${lock} is held by another sluice token command; remove it if none is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    try {
      this.stamp = '';
      this.refresh();
      return fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }

  private refresh(): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.set([], 'missing');
      return;
    }
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp === this.stamp) return;
    let parsed: TokenFile;
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as TokenFile;
    } catch (e) {
      throw new SluiceError('SLUICE_ERR_TOKEN_FILE', `cannot read token file ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    const tokens = Array.isArray(parsed?.tokens) ? parsed.tokens.filter((t) => typeof t?.hash === 'string' && /^[0-9a-f]{64}$/.test(t.hash) && ROLES.includes(t.role)) : [];
    this.set(tokens, stamp);
  }

  private set(records: TokenRecord[], stamp: string): void {
    this.records = records;
    this.hashes = records.map((r) => Buffer.from(r.hash, 'hex'));
    this.stamp = stamp;
  }

  /** Writes atomically (temp file, fsync, rename), readable by the owner only. */
  private write(records: TokenRecord[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    const body: TokenFile = { version: 1, tokens: records };
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(body, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    this.stamp = '';
    this.refresh();
  }
}
