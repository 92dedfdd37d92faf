// COPY … FROM STDIN (FORMAT binary) of prepared tuples (rows.ts), resolved once the server has taken them.

import type pg from 'pg';

/** The binary COPY signature, flags and header extension length. */
const HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** The field count -1: no more tuples. */
const TRAILER = Buffer.from([0xff, 0xff]);

/** Runs COPY on the client; when this resolves the server has taken every tuple (committed with the transaction it runs in). */
export async function copyBinary(client: pg.PoolClient | pg.Client, table: string, columns: string[], tuples: Buffer): Promise<void> {
  const { from: copyFrom } = await import('pg-copy-streams');
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`));
    let settled = false;
    const fail = (e: Error): void => { if (!settled) { settled = true; reject(e); } };
    stream.on('error', fail);
    stream.on('finish', () => { if (!settled) { settled = true; resolve(); } });
    stream.write(HEADER);
    stream.write(tuples);
    stream.end(TRAILER);
  });
}
