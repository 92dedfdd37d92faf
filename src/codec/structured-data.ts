// RFC 5424 STRUCTURED-DATA: find where it ends, and decode it into {sd-id: {param: value}}.

/** A repeated PARAM-NAME in one element (allowed by RFC 5424 §6.3.3) keeps every value, as an array. */
export type StructuredData = Record<string, Record<string, string | string[]>>;

/** The bytes that structure SD-ELEMENTs. */
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const SPACE = 0x20;
export const EQUALS = 0x3d;

/**
 * Scans SD-ELEMENTs starting at `p` (which must be '['), honouring quoted values and
 * escapes. Returns the offset just after the last ']', or -1 if the elements are malformed.
 * With `strict`, names must be 1..32 PRINTUSASCII without '=', ' ', ']' or '"'. Without it,
 * spaces after '=' and unquoted values are read as rsyslog reads them.
 */
export function scanStructuredData(buf: Buffer, p: number, end: number, strict: boolean): number {
  while (p < end && buf[p] === LBRACKET) {
    p++;
    // SD-ID
    const idStart = p;
    while (p < end && buf[p] !== SPACE && buf[p] !== RBRACKET) {
      if (strict && !isSdNameChar(buf[p]!)) return -1;
      p++;
    }
    if (p === idStart || (strict && p - idStart > 32)) return -1;
    // params
    while (p < end && buf[p] === SPACE) {
      p++;
      const nameStart = p;
      while (p < end && buf[p] !== EQUALS) {
        if (strict && !isSdNameChar(buf[p]!)) return -1;
        if (buf[p] === RBRACKET || buf[p] === SPACE) return -1;
        p++;
      }
      if (p === nameStart || p + 1 >= end) return -1;
      p++; // '='
      if (!strict) while (p < end && buf[p] === SPACE) p++;
      if (buf[p] !== QUOTE) {
        // Loose: an unquoted value (`a=b`, as some devices write) runs to a space or ']'.
        if (strict || p >= end) return -1;
        while (p < end && buf[p] !== SPACE && buf[p] !== RBRACKET && buf[p] !== QUOTE) p++;
        continue;
      }
      p++;
      while (p < end && buf[p] !== QUOTE) {
        if (buf[p] === BACKSLASH) p++;
        p++;
      }
      if (p >= end) return -1;
      p++; // closing quote
    }
    if (p >= end || buf[p] !== RBRACKET) return -1;
    p++;
  }
  return p;
}

function isSdNameChar(c: number): boolean {
  return c > 32 && c < 127 && c !== EQUALS && c !== RBRACKET && c !== QUOTE;
}

/** Decodes elements already validated by scanStructuredData over [start, end). */
export function parseStructuredData(buf: Buffer, start: number, end: number): StructuredData {
  const out: StructuredData = {};
  let p = start;
  while (p < end && buf[p] === LBRACKET) {
    p++;
    const idStart = p;
    while (p < end && buf[p] !== SPACE && buf[p] !== RBRACKET) p++;
    const id = buf.toString('utf8', idStart, p);
    const params: Record<string, string | string[]> = out[id] ?? (out[id] = {});
    while (p < end && buf[p] === SPACE) {
      p++;
      const nameStart = p;
      while (p < end && buf[p] !== EQUALS) p++;
      const name = buf.toString('utf8', nameStart, p);
      p++; // '='
      while (buf[p] === SPACE) p++;
      if (buf[p] !== QUOTE) {
        const vs = p;
        while (p < end && buf[p] !== SPACE && buf[p] !== RBRACKET) p++;
        addParam(params, name, buf.toString('utf8', vs, p));
        continue;
      }
      p++;
      const valueStart = p;
      let escaped = false;
      while (p < end && buf[p] !== QUOTE) {
        if (buf[p] === BACKSLASH) { escaped = true; p++; }
        p++;
      }
      let value = buf.toString('utf8', valueStart, Math.min(p, end));
      // RFC 5424 §6.3.3: only \" \\ and \] are escapes; a backslash before anything else stays.
      if (escaped) value = value.replace(/\\(["\\\]])/g, '$1');
      p++;
      addParam(params, name, value);
    }
    p++; // ']'
  }
  return out;
}

function addParam(params: Record<string, string | string[]>, name: string, value: string): void {
  const prev = params[name];
  if (prev === undefined) params[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else params[name] = [prev, value];
}
