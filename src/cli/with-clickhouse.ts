/**
 * Reaches a ClickHouse warehouse (`clickhouse://…`, `clickhouses://…`, `chdb:…`) for a command
 * that reads it or keeps state in it (query, metrics): a connection of its own, checked
 * reachable with errors that say what to change (exit 2), closed when the work is done. A
 * ClickHouse server admits many clients, so unlike a DuckDB file nothing goes through a running
 * `tributary run`. (A `chdb:` URL runs ClickHouse's engine inside this process, on its directory.)
 */
import {
  type ClickHouseConnection,
  checkReachable,
  connectClickHouse,
  parseClickHouseUrl,
} from '../warehouse/clickhouse/connect.js';

export async function withClickHouse<T>(
  url: string,
  work: (connection: ClickHouseConnection) => Promise<T>,
): Promise<T> {
  const connection = await connectClickHouse(parseClickHouseUrl(url));
  try {
    await checkReachable(connection, false);
    return await work(connection);
  } finally {
    await connection.close();
  }
}
