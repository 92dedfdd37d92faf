// Templates such as "${ISODATE} ${HOST} ${MSGHDR}${MSG}\n", compiled once into parts.

import type { ByteWriter } from '../codec/byte-writer.js';
import type { LogEvent } from '../event/log-event.js';
import { SluiceError } from '../errors.js';
import { fieldMacro, MACROS, type Macro } from './macros.js';

/** A literal (macro null) or a macro; one shape so the render loops stay monomorphic. */
interface Part { literal: string; bytes: Buffer; macro: Macro | null; name: string }

const EMPTY = Buffer.alloc(0);

export const DEFAULT_LINE_TEMPLATE = '${ISODATE} ${HOST} ${MSGHDR}${MSG}\n';

export class Template {
  private constructor(readonly source: string, private readonly parts: Part[]) {}

  static compile(text: string): Template {
    const parts: Part[] = [];
    let lit = '';
    let i = 0;
    const pushLit = () => {
      if (lit) parts.push({ literal: lit, bytes: Buffer.from(lit, 'utf8'), macro: null, name: '' });
      lit = '';
    };
    while (i < text.length) {
      const c = text[i]!;
      if (c !== '$') { lit += c; i++; continue; }
      if (text[i + 1] === '$') { lit += '$'; i += 2; continue; }
      let name: string;
      let next: number;
      if (text[i + 1] === '{') {
        const close = text.indexOf('}', i + 2);
        if (close < 0) throw syntax(text, i, 'unclosed "${"');
        name = text.slice(i + 2, close);
        next = close + 1;
      } else {
        const m = /^[A-Z_][A-Z0-9_]*/.exec(text.slice(i + 1));
        if (!m) { lit += '$'; i++; continue; }
        name = m[0];
        next = i + 1 + name.length;
      }
      const macro = name.startsWith('fields.') && name.length > 7 ? fieldMacro(name.slice(7)) : MACROS[name];
      if (!macro) throw syntax(text, i, `unknown macro \${${name}}; known: ${Object.keys(MACROS).join(', ')}, fields.NAME`);
      pushLit();
      parts.push({ literal: '', bytes: EMPTY, macro, name });
      i = next;
    }
    pushLit();
    return new Template(text, parts);
  }

  /** True when the template has no macros (a constant path needs no rendering). */
  get constant(): boolean {
    return this.parts.every((p) => p.macro === null);
  }

  /** Names of the macros used, for deciding what a destination needs. */
  get macroNames(): string[] {
    return this.parts.flatMap((p) => (p.macro !== null ? [p.name] : []));
  }

  render(ev: LogEvent, sanitize?: (value: string) => string): string {
    let out = '';
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.macro === null) out += p.literal;
      else out += sanitize ? sanitize(p.macro.text(ev)) : p.macro.text(ev);
    }
    return out;
  }

  /**
   * Writes each macro's value followed by its length: events with equal keys render equal
   * text, so a destination can tell "same path as the last event" without making strings.
   */
  renderKey(ev: LogEvent, w: ByteWriter): void {
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      const m = parts[i]!.macro;
      if (m === null) continue;
      const start = w.pos;
      m.write(ev, w);
      const n = w.pos - start;
      w.byte(n & 0xff);
      w.byte((n >>> 8) & 0xff);
      w.byte((n >>> 16) & 0xff);
      w.byte(n >>> 24);
    }
  }

  renderInto(ev: LogEvent, w: ByteWriter): void {
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.macro === null) w.range(p.bytes, 0, p.bytes.length);
      else p.macro.write(ev, w);
    }
  }
}

function syntax(text: string, at: number, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_TEMPLATE_SYNTAX', `template ${JSON.stringify(text)}, column ${at + 1}: ${what}`);
}

/** Makes a macro value safe as part of a file path: no directory changes, no NUL. */
export function pathSafe(value: string): string {
  if (value === '.' || value === '..') return '_';
  if (value.indexOf('/') < 0 && value.indexOf('\\') < 0 && value.indexOf('\0') < 0) return value;
  return value.replace(/[/\\\0]/g, '_');
}
