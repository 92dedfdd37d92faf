// The seal's ed25519 keys under <keyDir>/seal/: made at first start, never silently skipped.
//
//   signing.key   the current private key (PKCS#8 PEM, mode 0600)
//   root.pub      the first public key: what verify trusts; export it off-host to pin it
//   keys/<id>.pub every public key the chain introduced (informative: the chain carries them)
//
// A rotation writes signing.key.next first, then a checkpoint signed by the old key naming
// the new one, then renames: a crash in between leaves either the old key in use or a
// "next" file the next start either adopts (the chain names it) or discards (it does not).

import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../errors.js';

export interface SealKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Raw 32-byte ed25519 public key. */
  raw: Buffer;
  id: string;
}

export interface PublicKeyInfo {
  publicKey: KeyObject;
  raw: Buffer;
  id: string;
}

export function sealKeyDir(keyDir: string): string {
  return path.join(keyDir, 'seal');
}

// DER framing of ed25519 keys (RFC 8410): a fixed prefix, then the 32 key bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function rawPublicKey(pub: KeyObject): Buffer {
  const der = pub.export({ format: 'der', type: 'spki' });
  if (pub.asymmetricKeyType !== 'ed25519' || der.length !== 44 || !der.subarray(0, 12).equals(SPKI_PREFIX)) {
    throw new SluiceError('SLUICE_ERR_SEAL_KEY', 'the seal key is not an ed25519 key');
  }
  return der.subarray(12);
}

export function keyIdOf(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function publicKeyFromRaw(raw: Buffer): PublicKeyInfo {
  if (raw.length !== 32) throw new SluiceError('SLUICE_ERR_SEAL_KEY', `an ed25519 public key has 32 bytes, got ${raw.length}`);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  return { publicKey, raw, id: keyIdOf(raw) };
}

/** A public key from PEM (SPKI) text or 64 hex digits. */
export function parsePublicKey(text: string, what: string): PublicKeyInfo {
  const t = text.trim();
  try {
    if (/^[0-9a-f]{64}$/i.test(t)) return publicKeyFromRaw(Buffer.from(t, 'hex'));
    const publicKey = createPublicKey(t);
    const raw = rawPublicKey(publicKey);
    return { publicKey, raw, id: keyIdOf(raw) };
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_SEAL_KEY', `${what} is not an ed25519 public key (PEM or 64 hex digits): ${(e as Error).message}`, { cause: e });
  }
}

function keyFromPrivatePem(pem: string, file: string): SealKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_SEAL_KEY', `seal key ${file} is corrupt: ${(e as Error).message}; the store will not run unsealed`, { cause: e });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new SluiceError('SLUICE_ERR_SEAL_KEY', `seal key ${file} is ${privateKey.asymmetricKeyType}, not ed25519`);
  const publicKey = createPublicKey(privateKey);
  const raw = rawPublicKey(publicKey);
  return { privateKey, publicKey, raw, id: keyIdOf(raw) };
}

function writeDurably(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

export function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself was synced.
  }
}

/**
 * A new key from 32 random bytes, imported as PKCS#8. Not generateKeyPairSync: on Node 20 the
 * key-generation job it leaves for the GC can deadlock a later export of the same key
 * (ExportJWKEdKey holds the key's mutex while allocating; a GC then runs ~KeyGenJob, which
 * takes that mutex again). Seen as a test process stuck in a futex with no CPU time.
 */
function newKey(): SealKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, randomBytes(32)]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const raw = rawPublicKey(publicKey);
  return { privateKey, publicKey, raw, id: keyIdOf(raw) };
}

function publishPublic(dir: string, key: SealKey): void {
  fs.mkdirSync(path.join(dir, 'keys'), { recursive: true });
  writeDurably(path.join(dir, 'keys', `${key.id}.pub`), key.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 0o644);
}

/**
 * The current signing key. `mayCreate` only on a store that has sealed nothing yet: once a
 * checkpoint exists, a missing, unreadable or corrupt key is an error, not a new key.
 */
export function loadSigningKey(keyDir: string, mayCreate: boolean): SealKey {
  const dir = sealKeyDir(keyDir);
  const file = path.join(dir, 'signing.key');
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || !mayCreate) {
      throw new SluiceError('SLUICE_ERR_SEAL_KEY', `cannot read seal key ${file} (${code ?? (e as Error).message})${code === 'ENOENT' ? ' although the store has checkpoints signed with it' : ''}; the store will not run unsealed`, { cause: e });
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const key = newKey();
    writeDurably(file, key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
    writeDurably(path.join(dir, 'root.pub'), key.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 0o644);
    publishPublic(dir, key);
    return key;
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) fs.chmodSync(file, 0o600);
  return keyFromPrivatePem(pem, file);
}

/** The key verify trusts as the first of the chain (root.pub, or a pinned copy). */
export function loadTrustedKey(keyDir: string, pinnedFile?: string): PublicKeyInfo {
  const file = pinnedFile ?? path.join(sealKeyDir(keyDir), 'root.pub');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_SEAL_KEY', `cannot read the seal's public key ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parsePublicKey(text, file);
}

/** PEM text of the trusted (first) public key, for `sluice verify --export-key`. */
export function exportPublicKey(keyDir: string): string {
  const k = loadTrustedKey(keyDir);
  return k.publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** Step 1 of a rotation: a new key written beside the current one, not yet in use. */
export function prepareNextKey(keyDir: string): SealKey {
  const dir = sealKeyDir(keyDir);
  const key = newKey();
  writeDurably(path.join(dir, 'signing.key.next'), key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  return key;
}

/** Step 3 of a rotation (after the checkpoint naming it is durable): the new key takes over. */
export function commitNextKey(keyDir: string, key: SealKey): void {
  const dir = sealKeyDir(keyDir);
  publishPublic(dir, key);
  fs.renameSync(path.join(dir, 'signing.key.next'), path.join(dir, 'signing.key'));
  syncDir(dir);
}

/** A rotation interrupted by a crash: the prepared key, if one is there. */
export function pendingNextKey(keyDir: string): SealKey | null {
  const file = path.join(sealKeyDir(keyDir), 'signing.key.next');
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return keyFromPrivatePem(pem, file);
}

export function discardNextKey(keyDir: string): void {
  fs.rmSync(path.join(sealKeyDir(keyDir), 'signing.key.next'), { force: true });
}

export function signBytes(data: Buffer, key: SealKey): Buffer {
  return sign(null, data, key.privateKey);
}

export function verifyBytes(data: Buffer, signature: Buffer, key: PublicKeyInfo): boolean {
  try {
    return verify(null, data, key.publicKey, signature);
  } catch {
    return false;
  }
}
