// The query language's one error: a message that names the 1-based column it is about.

import { SluiceError } from '../../errors.js';
import type { QueryErrorInfo } from './ast.js';

export class QueryError extends SluiceError {
  /** 1-based column in characters (code points) of the query text. */
  readonly column: number;
  /** The problem without the "column N:" prefix. */
  readonly detail: string;
  readonly query: string;

  constructor(query: string, column: number, detail: string) {
    super('SLUICE_ERR_QUERY', `column ${column}: ${detail}`);
    this.name = 'QueryError';
    this.query = query;
    this.column = column;
    this.detail = detail;
  }

  /** The query (or the part around the column, for long ones) with a caret under the column. */
  render(): string {
    const chars = [...this.query];
    const width = 72;
    let from = 0;
    if (chars.length > width) from = Math.max(0, Math.min(this.column - 1 - (width >> 1), chars.length - width));
    const shown = chars.slice(from, from + width).map((c) => (c === '\n' || c === '\r' || c === '\t' ? ' ' : c));
    const lead = from > 0 ? '…' : '';
    const tail = from + width < chars.length ? '…' : '';
    const caretAt = lead.length + (this.column - 1 - from);
    return `${lead}${shown.join('')}${tail}\n${' '.repeat(Math.max(0, caretAt))}^ ${this.message}`;
  }

  toJSON(): QueryErrorInfo {
    return { code: 'SLUICE_ERR_QUERY', column: this.column, message: this.message };
  }
}

export function isQueryError(e: unknown): e is QueryError {
  return e instanceof QueryError;
}
