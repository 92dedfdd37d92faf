// RFC 3164 output: "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG", the stamp in local time.

import type { LogEvent } from '../../event/log-event.js';
import type { ByteWriter } from '../byte-writer.js';
import { write3164Header, writeMessage } from './common.js';
import type { EncodeOptions } from './types.js';

/**
 * HOST is the hostname (else the peer address, else "-"); TAG is APP-NAME cut to 48
 * characters without "[", "]" or ":", left out with its "[PID]: " when the event has no
 * program (as syslog-ng's ${MSGHDR}). A received BSD stamp is copied as is; an ISO stamp
 * is converted to local time, as RFC 3164 receivers read it.
 */
export function encodeRfc3164(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  write3164Header(ev, w, opts, true);
  writeMessage(ev, w);
}
