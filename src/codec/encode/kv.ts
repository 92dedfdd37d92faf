// key=value output: timestamp, host, app, procid, msgid, severity, facility, message, then fields.
//
// Pairs are joined by the separator (default " "; seed 002's QRadar feed uses "||") and
// key and value by the pair string (default "="). Absent values leave their pair out.
// Quoting rule: a value is written in double quotes when it is empty or contains a
// character of the separator, whitespace, a control character or a double quote; inside
// the quotes "\" and '"' are escaped with a backslash and CR, LF and TAB are written as
// \r, \n and \t. Other values go out as they are (so "a=b" stays a=b: readers split a
// pair at its first pair string). In keys, whitespace, '"' and characters of the
// separator or pair string become "_". A field named like a built-in key replaces it.
// severity and facility are names (info, local0).

import type { LogEvent } from '../../event/log-event.js';
import { facilityName, severityName } from '../../event/syslog-names.js';
import type { ByteWriter } from '../byte-writer.js';
import { facilityOf, fieldText, severityOf, writePayloadHeader } from './common.js';
import type { EncodeOptions } from './types.js';

interface Prepared { sep: Buffer; pair: Buffer; quote: RegExp; badKey: RegExp }
const prepared = new WeakMap<EncodeOptions, Prepared>();

function classOf(chars: string): string {
  return [...new Set(chars)].map((c) => c.replace(/[\\\]^-]/g, '\\$&')).join('');
}

function prepare(opts: EncodeOptions): Prepared {
  let p = prepared.get(opts);
  if (p === undefined) {
    const sep = opts.separator ?? ' ';
    const pair = opts.pair ?? '=';
    p = {
      sep: Buffer.from(sep, 'utf8'),
      pair: Buffer.from(pair, 'utf8'),
      quote: new RegExp(`[\\s"\\x00-\\x1f\\x7f${classOf(sep)}]`),
      badKey: new RegExp(`[\\s"\\x00-\\x1f\\x7f${classOf(sep + pair)}]`, 'g'),
    };
    prepared.set(opts, p);
  }
  return p;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A kv value by the quoting rule above. */
export function kvValue(v: string, quote: RegExp): string {
  if (v !== '' && !quote.test(v)) return v;
  return '"' + v.replace(/[\\"\n\r\t]/g, (c) => ESCAPES[c]!) + '"';
}

export function encodeKv(ev: LogEvent, w: ByteWriter, opts: EncodeOptions): void {
  writePayloadHeader(ev, w, opts, 'none', true);
  const p = prepare(opts);
  const fields = ev.fields;
  let first = true;
  const put = (k: string, v: string | null): void => {
    if (v === null) return;
    if (!first) w.range(p.sep, 0, p.sep.length);
    first = false;
    p.badKey.lastIndex = 0;
    w.text(p.badKey.test(k) ? k.replace(p.badKey, '_') : k);
    w.range(p.pair, 0, p.pair.length);
    w.text(kvValue(v, p.quote));
  };
  const builtin = (k: string, v: string | null): void => {
    if (fields === null || fields[k] === undefined) put(k, v);
  };
  builtin('timestamp', ev.timestamp ?? new Date(ev.receivedAt).toISOString());
  builtin('host', opts.hostname ?? ev.hostname ?? ev.source.address);
  builtin('app', opts.appname ?? ev.appname);
  builtin('procid', ev.procid);
  builtin('msgid', ev.msgid);
  builtin('severity', severityName(severityOf(ev, opts)));
  builtin('facility', facilityName(facilityOf(ev, opts)));
  builtin('message', ev.message);
  if (fields !== null) for (const k of Object.keys(fields)) put(k, fieldText(fields[k]));
}
