// The output encoder contract: one event in, one message (no framing) appended to a ByteWriter.

import type { LogEvent } from '../../event/log-event.js';
import type { Template } from '../../template/template.js';
import type { ByteWriter } from '../byte-writer.js';

/** A syslog header in front of a payload format (cef, leef, kv, json, template). */
export type SyslogHeader = 'rfc3164' | 'rfc5424' | 'none';

export interface EncodeOptions {
  /** Facility code (0..23) for every event instead of the event's own. */
  facility?: number;
  /** Severity code (0..7) for every event instead of the event's own. */
  severity?: number;
  /** HOSTNAME for every event. */
  hostname?: string;
  /** APP-NAME (RFC 5424) / TAG (RFC 3164) for every event. */
  appname?: string;
  /**
   * The syslog header before a payload format. Default: rfc3164 for cef and leef (what
   * ArcSight and QRadar expect over syslog), none for kv, json and template. Ignored by
   * rfc5424 and rfc3164, which are syslog messages themselves.
   */
  header?: SyslogHeader;
  /** kv: between pairs (default " "; seed 002 uses "||"). */
  separator?: string;
  /** kv: between key and value (default "="). */
  pair?: string;
  /** template: the compiled line template (required for that format). */
  template?: Template;
  /** cef/leef header: device vendor, product and version (default sluice, sluice, the package version). */
  vendor?: string;
  product?: string;
  version?: string;
  /** leef: the attribute delimiter, one character (default tab). */
  delimiter?: string;
}

export type Encoder = (ev: LogEvent, w: ByteWriter, opts: EncodeOptions) => void;
