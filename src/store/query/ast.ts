// The query language's syntax tree: what the one parser produces and every store compiles.
//
// DESIGN.md ("Store and query") fixes the language; parse.ts turns text into a Query, and
// each backend (SQLite, PostgreSQL, the archive scanner, live tail) evaluates the same tree.

/**
 * A field a term can name. `message` is what bare words and phrases search. Names the tests
 * rely on: host, app, procid, msgid, facility, severity, source, transport, sd.ID.PARAM,
 * fields.NAME (the parser resolves aliases and rejects unknown names with a column).
 */
export type FieldRef =
  | { kind: 'builtin'; name: BuiltinField }
  | { kind: 'sd'; id: string; param: string }
  | { kind: 'fields'; name: string };

export type BuiltinField = 'message' | 'host' | 'app' | 'procid' | 'msgid' | 'facility' | 'severity' | 'source' | 'transport';

/** A comparable value: names of facilities and severities are already their codes. */
export type Scalar = string | number;

export type Node =
  /** The empty query: everything. */
  | { kind: 'all' }
  | { kind: 'and'; nodes: Node[] }
  | { kind: 'or'; nodes: Node[] }
  | { kind: 'not'; node: Node }
  /** A whole word, case-insensitive; on `message` (bare) or any field. */
  | { kind: 'word'; field: FieldRef; value: string }
  /** Words in sequence, case-insensitive. */
  | { kind: 'phrase'; field: FieldRef; value: string }
  /** A word that starts with `value` (`word*`, `host:web-*`). */
  | { kind: 'prefix'; field: FieldRef; value: string }
  /** `*` and `?` elsewhere than at the end: can only scan (bounded). */
  | { kind: 'wildcard'; field: FieldRef; pattern: string }
  /** `/re/` or `field:/re/`: can only scan (bounded). */
  | { kind: 'regex'; field: FieldRef; pattern: string; flags: string }
  /** `field:*` */
  | { kind: 'exists'; field: FieldRef }
  /** `field:value` on a keyword field: the whole value, case-insensitive (host, app, …). */
  | { kind: 'equals'; field: FieldRef; value: Scalar }
  | { kind: 'compare'; field: FieldRef; op: '<' | '<=' | '>' | '>='; value: Scalar }
  /** `field:[a TO b]`, inclusive. */
  | { kind: 'range'; field: FieldRef; low: Scalar; high: Scalar };

export type Pipe =
  | { kind: 'stats'; by: FieldRef[] }
  | { kind: 'top'; n: number; field: FieldRef }
  | { kind: 'limit'; n: number };

export interface Query {
  /** The text it was parsed from (for messages and the API's echo). */
  text: string;
  filter: Node;
  pipes: Pipe[];
  /** True when some term can only be answered by scanning (wildcard, regex). */
  scans: boolean;
}

/** Column-precise parse error (1-based column into the query text). */
export interface QueryErrorInfo {
  code: 'SLUICE_ERR_QUERY';
  column: number;
  message: string;
}
