// A throwaway PKI for TLS tests, made with the openssl CLI in a directory the test owns.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherClientCert: string;
  otherClientKey: string;
  untrustedClientCert: string;
  untrustedClientKey: string;
}

// Our own config, so that the system's openssl.cnf cannot add extensions (its v3_ca would
// make every leaf a CA) and every extension below is exactly what the test asked for.
const MINIMAL_CONFIG = '[req]\ndistinguished_name = dn\n[dn]\n';

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'];
const LEAF_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyAgreement'];

interface CertSpec {
  name: string;
  subject: string;
  ext: string[];
  issuer?: string; // base name of the signing CA; self-signed without it
}

async function makeCert(dir: string, config: string, spec: CertSpec): Promise<void> {
  const args = [
    'req', '-x509', '-config', config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-sha256', '-days', '2', '-subj', spec.subject,
    '-keyout', join(dir, `${spec.name}.key`), '-out', join(dir, `${spec.name}.pem`),
  ];
  if (spec.issuer) args.push('-CA', join(dir, `${spec.issuer}.pem`), '-CAkey', join(dir, `${spec.issuer}.key`));
  for (const e of spec.ext) args.push('-addext', e);
  try {
    await run('openssl', args);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`test PKI: openssl failed for ${spec.name} (${spec.subject}): ${stderr.trim() || String(e)}`, { cause: e });
  }
}

/** A CA, a localhost server certificate, two client certificates, and one from an unrelated CA. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'openssl-minimal.cnf');
  await writeFile(config, MINIMAL_CONFIG);
  // Two rounds of parallel openssl runs: the CAs, then everything they sign.
  await Promise.all([
    makeCert(dir, config, { name: 'ca', subject: '/CN=sluice test CA', ext: CA_EXT }),
    makeCert(dir, config, { name: 'other-ca', subject: '/CN=sluice unrelated CA', ext: CA_EXT }),
  ]);
  const client = [...LEAF_EXT, 'extendedKeyUsage=clientAuth'];
  await Promise.all([
    makeCert(dir, config, {
      name: 'server', subject: '/CN=localhost', issuer: 'ca',
      ext: [...LEAF_EXT, 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'],
    }),
    makeCert(dir, config, { name: 'client', subject: '/O=sluice-test/CN=web-01', issuer: 'ca', ext: client }),
    makeCert(dir, config, { name: 'other-client', subject: '/O=sluice-test/CN=db-01', issuer: 'ca', ext: client }),
    makeCert(dir, config, { name: 'untrusted-client', subject: '/O=sluice-test/CN=web-01', issuer: 'other-ca', ext: client }),
  ]);
  const pair = (name: string): [string, string] => [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  const [caCert, caKey] = pair('ca');
  const [serverCert, serverKey] = pair('server');
  const [clientCert, clientKey] = pair('client');
  const [otherClientCert, otherClientKey] = pair('other-client');
  const [untrustedClientCert, untrustedClientKey] = pair('untrusted-client');
  return {
    caCert, caKey, serverCert, serverKey, clientCert, clientKey,
    otherClientCert, otherClientKey, untrustedClientCert, untrustedClientKey,
  };
}

/** The SHA-256 fingerprint as `AA:BB:…`, exactly as X509Certificate.fingerprint256 gives it. */
export function fingerprint256(certPath: string): string {
  return new X509Certificate(readFileSync(certPath)).fingerprint256;
}
