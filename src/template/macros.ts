// The template macros (syslog-ng's names): each renders an event to text or straight to bytes.

import type { ByteWriter } from '../codec/byte-writer.js';
import { datePartsOf, isoLocal, type DateParts } from '../codec/timestamp.js';
import type { LogEvent } from '../event/log-event.js';
import { facilityName, severityName } from '../event/syslog-names.js';

export interface Macro {
  /** The value as text ('' when absent). */
  text(ev: LogEvent): string;
  /** Writes the value; macros over raw bytes copy them without making a string. */
  write(ev: LogEvent, w: ByteWriter): void;
}

function fromText(text: (ev: LogEvent) => string): Macro {
  return { text, write: (ev, w) => w.text(text(ev)) };
}

/** A field kept as a byte range in the raw message unless overridden in ev.d. */
function rawField(key: 'hostname' | 'appname' | 'procid' | 'msgid', startKey: keyof LogEvent, endKey: keyof LogEvent): Macro {
  return {
    text: (ev) => ev[key] ?? '',
    write: (ev, w) => {
      const s = ev[startKey] as number;
      if (s >= 0 && (ev.d === null || ev.d[key] === undefined)) w.range(ev.buf, s, ev[endKey] as number);
      else w.text(ev[key] ?? '');
    },
  };
}

const host: Macro = {
  text: (ev) => ev.hostOrPeer,
  write: (ev, w) => {
    if (ev.asReceived('hostname')) w.range(ev.buf, ev.hostStart, ev.hostEnd);
    else w.text(ev.hostOrPeer);
  },
};

const message: Macro = {
  text: (ev) => ev.message ?? '',
  write: (ev, w) => {
    if (ev.d === null || ev.d.message === undefined) {
      if (ev.msgStart >= 0 && ev.msgStart < ev.end) w.range(ev.buf, ev.msgStart, ev.end);
    } else w.text(ev.message ?? '');
  },
};

function isoDate(ev: LogEvent): string {
  return ev.timestamp ?? isoLocal(ev.receivedAt);
}

const isodate: Macro = {
  text: isoDate,
  write: (ev, w) => {
    // An RFC 5424 stamp is already ISO 8601: copy it as received.
    if (ev.asReceived('timestamp')) {
      w.range(ev.buf, ev.tsStart, ev.tsEnd);
    } else w.text(isoDate(ev));
  },
};

/** PROGRAM[PID]: (or PROGRAM: without a PID); empty without a program, as syslog-ng's MSGHDR. */
const msghdr: Macro = {
  text: (ev) => {
    const app = ev.appname;
    if (!app) return '';
    const pid = ev.procid;
    return pid ? `${app}[${pid}]: ` : `${app}: `;
  },
  write: (ev, w) => {
    if (ev.appStart >= 0 && (ev.d === null || (ev.d.appname === undefined && ev.d.procid === undefined))) {
      w.range(ev.buf, ev.appStart, ev.appEnd);
      if (ev.pidStart >= 0) {
        w.byte(0x5b);
        w.range(ev.buf, ev.pidStart, ev.pidEnd);
        w.byte(0x5d);
      }
      w.byte(0x3a);
      w.byte(0x20);
    } else w.text(msghdr.text(ev));
  },
};

function datePart(part: keyof DateParts, received: boolean): Macro {
  return fromText((ev) => datePartsOf(received ? null : ev.timestamp, ev.receivedAt)[part]);
}

const MONTH_ABBR = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export const MACROS: Record<string, Macro> = {
  HOST: host,
  HOSTNAME: host,
  FULLHOST: host,
  PROGRAM: rawField('appname', 'appStart', 'appEnd'),
  PID: rawField('procid', 'pidStart', 'pidEnd'),
  MSGID: rawField('msgid', 'msgidStart', 'msgidEnd'),
  MSGHDR: msghdr,
  MSG: message,
  MESSAGE: message,
  SDATA: fromText((ev) => ev.structuredDataText ?? ''),
  FACILITY: fromText((ev) => (ev.facility === null ? '' : facilityName(ev.facility))),
  FACILITY_NUM: fromText((ev) => (ev.facility === null ? '' : String(ev.facility))),
  LEVEL: fromText((ev) => (ev.severity === null ? '' : severityName(ev.severity))),
  PRIORITY: fromText((ev) => (ev.severity === null ? '' : severityName(ev.severity))),
  SEVERITY: fromText((ev) => (ev.severity === null ? '' : severityName(ev.severity))),
  LEVEL_NUM: fromText((ev) => (ev.severity === null ? '' : String(ev.severity))),
  PRI: fromText((ev) => (ev.facility === null || ev.severity === null ? '' : String(ev.facility * 8 + ev.severity))),
  ISODATE: isodate,
  R_ISODATE: fromText((ev) => isoLocal(ev.receivedAt)),
  DATE: fromText((ev) => {
    const p = datePartsOf(ev.timestamp, ev.receivedAt);
    const day = Number(p.day);
    return `${MONTH_ABBR[Number(p.month) - 1]} ${day < 10 ? ' ' + day : day} ${p.hour}:${p.minute}:${p.second}`;
  }),
  UNIXTIME: fromText((ev) => {
    const t = ev.timestamp ? Date.parse(ev.timestamp) : NaN;
    return String(Math.floor((Number.isNaN(t) ? ev.receivedAt : t) / 1000));
  }),
  YEAR: datePart('year', false),
  MONTH: datePart('month', false),
  DAY: datePart('day', false),
  HOUR: datePart('hour', false),
  MIN: datePart('minute', false),
  SEC: datePart('second', false),
  R_YEAR: datePart('year', true),
  R_MONTH: datePart('month', true),
  R_DAY: datePart('day', true),
  R_HOUR: datePart('hour', true),
  R_MIN: datePart('minute', true),
  R_SEC: datePart('second', true),
  SOURCEIP: fromText((ev) => ev.source.address ?? ''),
  SOURCE: fromText((ev) => ev.source.name),
  TRANSPORT: fromText((ev) => ev.source.transport),
  TLS_PEER: fromText((ev) => ev.source.tlsPeer ?? ''),
};

/** ${fields.NAME}: a parsed extra field. */
export function fieldMacro(name: string): Macro {
  return fromText((ev) => {
    const v = ev.fields?.[name];
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  });
}
