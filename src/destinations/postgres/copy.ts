// COPY … FROM STDIN of one prepared text-format payload, resolved once the server has committed it.

import type pg from 'pg';

/** Runs COPY on the client; when this resolves the server has taken every row (committed with the transaction it runs in). */
export async function copyText(client: pg.PoolClient, table: string, columns: string[], payload: Buffer): Promise<void> {
  const { from: copyFrom } = await import('pg-copy-streams');
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    let settled = false;
    const fail = (e: Error): void => { if (!settled) { settled = true; reject(e); } };
    stream.on('error', fail);
    stream.on('finish', () => { if (!settled) { settled = true; resolve(); } });
    stream.end(payload);
  });
}
