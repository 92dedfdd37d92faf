// TLS settings shared by listeners and clients: schema and loading of PEM files.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { duration } from '../config/units.js';

export const tlsServerSchema = z.object({
  cert: z.string().describe('PEM file with the server certificate (and chain)'),
  key: z.string().describe('PEM file with the private key'),
  ca: z.string().optional().describe('PEM file with the CA(s) that client certificates must chain to'),
  client_auth: z.enum(['none', 'optional', 'required']).default('none')
    .describe('ask for client certificates: none, optional (verified if sent), required'),
  allow_subjects: z.array(z.string()).default([])
    .describe('client certificate subjects allowed, as "CN=web-*,O=Example" (glob per attribute; listed attributes must all match)'),
  allow_fingerprints: z.array(z.string()).default([])
    .describe('client certificate SHA-256 fingerprints allowed (AA:BB:...)'),
  min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('oldest protocol version accepted'),
  handshake_timeout: duration().default(10_000).describe('close connections that do not finish the handshake in time'),
}).strict();

export type TlsServerConfig = z.infer<typeof tlsServerSchema>;

export const tlsClientSchema = z.object({
  ca: z.string().optional().describe('PEM file with the CA(s) the server certificate must chain to (default: system CAs)'),
  cert: z.string().optional().describe('PEM file with a client certificate'),
  key: z.string().optional().describe('PEM file with the client private key'),
  servername: z.string().optional().describe('name to verify the server certificate against (default: the URL host)'),
  verify: z.boolean().default(true).describe('verify the server certificate and name (turn off only for tests)'),
  min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
}).strict();

export type TlsClientConfig = z.infer<typeof tlsClientSchema>;

export function readPem(file: string, what: string, baseDir: string): Buffer {
  const p = path.resolve(baseDir, file);
  try {
    return fs.readFileSync(p);
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_TLS_CONFIG', `cannot read the TLS ${what} file ${p}: ${(e as Error).message}`, { cause: e });
  }
}
