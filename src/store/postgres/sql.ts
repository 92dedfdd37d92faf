// Bound parameters for generated SQL: every value from a query goes in as $n, never as text.

export class Params {
  readonly values: unknown[] = [];

  /** Adds a value; returns its placeholder, with a cast when one is given. */
  add(v: unknown, cast?: string): string {
    this.values.push(v);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}
