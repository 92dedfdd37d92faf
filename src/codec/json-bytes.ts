// JSON straight from received bytes: strings and structured data copied when they need no
// escaping, so an encoder writes the JSON text without making the strings or objects first.
//
// Each writer either writes exactly what JSON.stringify of the decoded value gives, or writes
// nothing and answers false (the caller then takes the decoded value's way).

import type { ByteWriter } from './byte-writer.js';
import { BACKSLASH, EQUALS, LBRACKET, QUOTE, RBRACKET, SPACE } from './structured-data.js';

/**
 * True when the four bytes of x (little-endian) can stand in a JSON string as they are: no
 * high bit, no control below 0x20, no quote, no backslash (SWAR: all four tested at once).
 */
export function plainJsonWord(x: number): boolean {
  const q = x ^ 0x22222222, k = x ^ 0x5c5c5c5c;
  return ((x | ((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((k - 0x01010101) & ~k)) & 0x80808080) === 0;
}

/** Bytes that are not copied into a JSON string as they are: controls, quote, backslash, non-ASCII. */
const NOT_PLAIN = new Uint8Array(256).map((_, c) => (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80 ? 1 : 0));

/** A view of the last source buffer, for the four-bytes-at-a-time test (events of a read share their buffer). */
let viewOf: Buffer | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
/** The same for the writer's buffer (it changes only when the writer grows). */
let outOf: Buffer | null = null;
let outView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * b[s, e) as a JSON string when the bytes are plain printable ASCII (the common case: no
 * string is made); false, with nothing written, otherwise. Test and copy run four bytes at a
 * time (SWAR: no high bit, no byte below 0x20, no quote, no backslash).
 */
export function writePlainJsonString(w: ByteWriter, b: Buffer, s: number, e: number): boolean {
  const n = e - s;
  w.ensure(n + 2);
  const out = w.buf;
  let p = w.pos;
  out[p++] = 0x22;
  let i = s;
  if (n >= 16) {
    if (b !== viewOf) { view = new DataView(b.buffer, b.byteOffset, b.length); viewOf = b; }
    if (out !== outOf) { outView = new DataView(out.buffer, out.byteOffset, out.length); outOf = out; }
    const dv = view, ov = outView;
    for (; i + 4 <= e; i += 4, p += 4) {
      const x = dv.getInt32(i, true);
      if (!plainJsonWord(x)) break;
      ov.setInt32(p, x, true);
    }
  }
  for (; i < e; i++) {
    const c = b[i]!;
    if (NOT_PLAIN[c] !== 0) return false;
    out[p++] = c;
  }
  out[p++] = 0x22;
  w.pos = p;
  return true;
}


/** Names that JSON.stringify of a parsed object would not give back in place: array-index keys sort first, __proto__ is no key. */
function plainKey(b: Buffer, s: number, e: number): boolean {
  const c = b[s]!;
  return e > s && !(c >= 0x30 && c <= 0x39) && c !== 0x5f;
}

function sameBytes(b: Buffer, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let i = 0; i < e1 - s1; i++) if (b[s1 + i] !== b[s2 + i]) return false;
  return true;
}

/** Start and end offsets of the ids (or one element's names) met so far, for the repeat test. */
const seenIds: number[] = [];
const seenNames: number[] = [];

function seenBefore(seen: number[], b: Buffer, s: number, e: number): boolean {
  for (let k = 0; k < seen.length; k += 2) if (sameBytes(b, seen[k]!, seen[k + 1]!, s, e)) return true;
  seen.push(s, e);
  return false;
}

/**
 * RFC 5424 structured data b[start, end) (as scanStructuredData accepted it) as the JSON of
 * parseStructuredData's object, written from the bytes: `{"id":{"name":"value",…},…}`. Only the
 * plain form is taken: quoted values without escapes, ids and names not repeated (those merge
 * into one object or an array), plain ASCII throughout; anything else answers false with
 * nothing written.
 */
export function writeStructuredDataJson(w: ByteWriter, b: Buffer, start: number, end: number): boolean {
  const at = w.pos;
  seenIds.length = 0;
  let p = start;
  w.byte(0x7b);
  while (p < end) {
    if (b[p] !== LBRACKET) { w.pos = at; return false; }
    const idStart = ++p;
    while (p < end && b[p] !== SPACE && b[p] !== RBRACKET) p++;
    if (!plainKey(b, idStart, p) || seenBefore(seenIds, b, idStart, p)) { w.pos = at; return false; }
    if (seenIds.length > 2) w.byte(0x2c);
    if (!writePlainJsonString(w, b, idStart, p)) { w.pos = at; return false; }
    w.byte(0x3a);
    w.byte(0x7b);
    seenNames.length = 0;
    while (p < end && b[p] === SPACE) {
      const nameStart = ++p;
      while (p < end && b[p] !== EQUALS && b[p] !== SPACE && b[p] !== RBRACKET) p++;
      if (p >= end || b[p] !== EQUALS) { w.pos = at; return false; }
      const nameEnd = p++;
      if (b[p] !== QUOTE || !plainKey(b, nameStart, nameEnd) || seenBefore(seenNames, b, nameStart, nameEnd)) { w.pos = at; return false; }
      const valueStart = ++p;
      while (p < end && b[p] !== QUOTE && b[p] !== BACKSLASH) p++;
      if (p >= end || b[p] !== QUOTE) { w.pos = at; return false; }
      if (seenNames.length > 2) w.byte(0x2c);
      if (!writePlainJsonString(w, b, nameStart, nameEnd)) { w.pos = at; return false; }
      w.byte(0x3a);
      if (!writePlainJsonString(w, b, valueStart, p)) { w.pos = at; return false; }
      p++;
    }
    if (p >= end || b[p] !== RBRACKET) { w.pos = at; return false; }
    p++;
    w.byte(0x7d);
  }
  w.byte(0x7d);
  return true;
}
