/**
 * A real ClickHouse for tests: the chdb engine embedded in the test process (scripts/ensure-chdb.mjs
 * installs it; the global setup runs that), one data directory per process (chdb admits one), one
 * fresh database per call. Tests reach it only through the `chdb:` URL and @clickhouse/client, the
 * same path `tributary run --warehouse chdb:…` takes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClickHouseConnection,
  checkReachable,
  connectClickHouse,
  parseClickHouseUrl,
  quoteName,
} from '../../src/warehouse/clickhouse/connect.js';

let engineDir: string | null = null;

/** The process's chdb data directory (created once). */
export function chdbDir(): string {
  engineDir ??= mkdtempSync(join(tmpdir(), 'tributary-chdb-'));
  return engineDir;
}

export interface TestClickHouse {
  /** The warehouse URL of the fresh database. */
  readonly url: string;
  readonly database: string;
  /** A connection to it (closed by `drop`). */
  readonly connection: ClickHouseConnection;
  /** Rows of a query as JSON objects. */
  rows<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Drops the database and closes the connection. */
  drop(): Promise<void>;
}

export async function freshClickHouse(prefix = 'test'): Promise<TestClickHouse> {
  const database = `${prefix}_${randomBytes(5).toString('hex')}`;
  const url = `chdb://${chdbDir()}?database=${database}`;
  const connection = await connectClickHouse(parseClickHouseUrl(url));
  await checkReachable(connection, true);
  return {
    url,
    database,
    connection,
    rows: async <T>(sql: string, params?: Record<string, unknown>) =>
      (
        await connection.client.query({ query: sql, format: 'JSONEachRow', query_params: params ?? {} })
      ).json<T>(),
    drop: async () => {
      try {
        await connection.client.command({ query: `DROP DATABASE IF EXISTS ${quoteName(database)}` });
      } finally {
        await connection.close();
      }
    },
  };
}
