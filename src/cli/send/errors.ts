// Errors of `sluice send`: which connection failed, how, and what was sent before it did.

import { SluiceError, type ErrorCode } from '../../errors.js';
import type { SendReport } from './run.js';

/** A wrong option or URL: refused before anything is sent. */
export function usageError(msg: string): SluiceError {
  return new SluiceError('SLUICE_ERR_USAGE', msg);
}

export type SendErrorCode = Extract<ErrorCode, 'SLUICE_ERR_SEND_CONNECT' | 'SLUICE_ERR_SEND_BROKEN'>;

export class SendError extends Error {
  readonly code: SendErrorCode;
  /** Counts up to the failure, so that the caller can still print the summary line. */
  report?: SendReport;
  constructor(code: SendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SendError';
  }
}

// OpenSSL verify codes that Node passes through as err.code on a failed handshake.
const CERT_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH',
]);

/** Describes a socket error for a person: the errno or TLS code, the reason, and a hint where one helps. */
export function explainSocketError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = e instanceof Error ? e.message : String(err);
  let out = code && !text.includes(code) ? `${code}: ${text}` : text;
  if (code && CERT_VERIFY_CODES.has(code)) {
    out = `certificate verify failed: ${out} (trust the server's CA with --ca FILE, or name the host with --servername)`;
  } else if (code && /_ALERT_/.test(code)) {
    out += ' (the receiver refused the TLS session)';
  } else if (code === 'ECONNREFUSED') {
    out += ' (is a receiver listening there?)';
  }
  return out;
}
