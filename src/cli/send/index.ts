// `sluice send`: the load generator and test client for syslog receivers (udp, tcp, tls, unix).

export { send, type SendOptions, type SendReport } from './run.js';
export { registerSendCommand, formatSummary } from './command.js';
export { SendError, type SendErrorCode } from './errors.js';
