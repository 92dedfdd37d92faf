// The part of pg-copy-streams sluice uses (the package ships no types).
declare module 'pg-copy-streams' {
  import type { Writable } from 'node:stream';
  import type { Submittable } from 'pg';
  export interface CopyFromStream extends Writable, Submittable {}
  export function from(text: string): CopyFromStream;
}
