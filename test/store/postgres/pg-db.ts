// A fresh PostgreSQL database per test run on the machine's server (127.0.0.1:5432, user postgres), dropped after.

import crypto from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.SLUICE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  /** A client for assertions (closed by drop). */
  client: pg.Client;
  drop(): Promise<void>;
}

export async function freshDatabase(): Promise<TestDatabase> {
  const name = `sluice_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try { await admin.query(`CREATE DATABASE ${name}`); } finally { await admin.end(); }
  const url = PG_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => {});
      const a = new pg.Client({ connectionString: PG_ADMIN_URL });
      await a.connect();
      try { await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } finally { await a.end(); }
    },
  };
}

/**
 * Why the PostgreSQL tests cannot run here (no server answering PG_ADMIN_URL), or false when
 * they can. Under SLUICE_REQUIRE_ALL=1 (CI) an unreachable server fails instead of skipping.
 */
export async function pgUnavailable(): Promise<string | false> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return false;
  } catch (e) {
    const why = `PostgreSQL is not reachable at ${PG_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (${(e as Error).message}); set SLUICE_TEST_PG or run .ci/run`;
    if (process.env.SLUICE_REQUIRE_ALL === '1') throw new Error(`SLUICE_REQUIRE_ALL=1: ${why}`);
    return why;
  }
}
