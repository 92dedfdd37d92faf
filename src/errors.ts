// Coded errors: every error a user can meet carries a stable code and the context to fix it.

export const ERROR_CODES = {
  SLUICE_ERR_CONFIG_INVALID: 'the configuration does not match the schema',
  SLUICE_ERR_CONFIG_YAML: 'the configuration file is not valid YAML',
  SLUICE_ERR_CONFIG_READ: 'the configuration file cannot be read',
  SLUICE_ERR_CONFIG_ENV: 'a ${env.NAME} reference names a variable that is not set',
  SLUICE_ERR_CONFIG_REFERENCE: 'a log path names a source, filter or destination that is not defined',
  SLUICE_ERR_CONFIG_PORT_CLASH: 'two components listen on the same address and port',
  SLUICE_ERR_CONFIG_ACCESS: 'a file the config names cannot be read, or a directory written, by the daemon\'s user',
  SLUICE_ERR_FILTER_SYNTAX: 'a filter expression cannot be parsed',
  SLUICE_ERR_TEMPLATE_SYNTAX: 'a template names an unknown macro or is malformed',
  SLUICE_ERR_TLS_CONFIG: 'TLS files cannot be read or do not match',
  SLUICE_ERR_LISTEN: 'a listener cannot bind its address',
  SLUICE_ERR_PARSE: 'a message does not follow the requested syslog format',
  SLUICE_ERR_SYSLOG_CONF: 'a syslog.conf line cannot be imported',
  SLUICE_ERR_RULE_INVALID: 'a detection rule cannot be read or uses what sluice does not support',
  SLUICE_ERR_USAGE: 'a command-line argument is wrong',
  SLUICE_ERR_TOKEN_FILE: 'the API token file under data_dir cannot be read or written',
  SLUICE_ERR_SEND_CONNECT: 'sluice send could not connect (or finish the TLS handshake)',
  SLUICE_ERR_SEND_BROKEN: 'an established sluice send connection failed or was closed by the receiver',
  SLUICE_ERR_RELOAD: 'a reload was refused; the running config stays',
  SLUICE_ERR_STORE: 'the embedded store cannot open, write or read its partitions',
  SLUICE_ERR_QUERY: 'a store query cannot be parsed or would be unsafe to run',
  SLUICE_ERR_SEAL_KEY: 'the seal key is missing, unreadable or corrupt (the store does not run unsealed)',
  SLUICE_ERR_SEAL_STATE: 'the seal checkpoints disagree with the store (records removed or state lost)',
  SLUICE_ERR_ARCHIVE: 'an archive file or its manifest cannot be written or read',
  SLUICE_ERR_PG: 'the PostgreSQL store cannot be read or refused a statement',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SluiceError';
  }
}

export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError;
}

/** A readable one-line description of any thrown value. */
export function describeError(e: unknown): string {
  if (e instanceof SluiceError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return (e as NodeJS.ErrnoException).code ? `${(e as NodeJS.ErrnoException).code}: ${e.message}` : e.message;
  return String(e);
}
