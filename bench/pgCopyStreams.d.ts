/** The part of pg-copy-streams (7.0.0, no types of its own) that bench/history.ts uses: COPY ... FROM STDIN as a writable stream. */
declare module 'pg-copy-streams' {
  import type { Writable } from 'node:stream';
  import type { Submittable } from 'pg';

  export interface CopyStreamQuery extends Writable, Submittable {
    rowCount: number;
  }

  export function from(text: string): CopyStreamQuery;
}
