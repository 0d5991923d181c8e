/**
 * The metric registry (registry.ts's rules) in a ClickHouse warehouse: the table
 * `_tributary_metric_versions` in the warehouse's database, a ReplacingMergeTree ordered by
 * (name, version, hash).
 *
 * ClickHouse has no transaction to register a version once, so a version is made to count once:
 * - each version is its own insert carrying the deduplication token `name@version#hash`
 *   (non-replicated dedup window on the table), so an insert retried or replayed after a crash is
 *   dropped by the server, not stored twice;
 * - rows of the same version and definition collapse on merge (they share the sort key);
 * - should two processes register the same version with different definitions at the same
 *   moment, both rows stay, and every reader takes the first registered (then the lowest hash):
 *   the same answer everywhere, before and after merges. The loser's file is then refused as a
 *   changed definition by the check after the write (metrics.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteName } from '../../warehouse/clickhouse/connect.js';
import { stateTable } from '../../warehouse/clickhouse/layout.js';
import { canonicalJson, type FieldChange } from '../definition-diff.js';
import type { RegisteredVersion } from '../registry.js';
import { readRows } from './read-rows.js';

export const REGISTRY_TABLE = stateTable('metric_versions');

export async function bootstrapClickHouseRegistry(client: ClickHouseClient): Promise<void> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${quoteName(REGISTRY_TABLE)} (
      name String, version UInt32, hash String, definition String,
      registered_at DateTime64(3, 'UTC'), registered_by String, reason Nullable(String), changes String)
      ENGINE = ReplacingMergeTree ORDER BY (name, version, hash)
      SETTINGS non_replicated_deduplication_window = 10000`,
  });
}

export async function readClickHouseRegistry(client: ClickHouseClient): Promise<RegisteredVersion[]> {
  const exists = await readRows(
    client,
    'SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
    { table: REGISTRY_TABLE },
  );
  if (Number(exists[0]?.[0] ?? 0) === 0) return [];
  const rows = await readRows(
    client,
    `SELECT name, version, definition, hash, toUnixTimestamp64Milli(registered_at), registered_by, reason, changes
       FROM ${quoteName(REGISTRY_TABLE)}
      ORDER BY name, version, registered_at, hash
      LIMIT 1 BY name, version`,
  );
  return rows.map((r) => ({
    name: String(r[0]),
    version: Number(r[1]),
    definition: JSON.parse(String(r[2])) as Record<string, unknown>,
    hash: String(r[3]),
    registeredAt: new Date(Number(r[4])).toISOString(),
    by: String(r[5]),
    reason: r[6] === null ? null : String(r[6]),
    changes: JSON.parse(String(r[7])) as FieldChange[],
  }));
}

/** Inserts each version once (see the header). */
export async function recordClickHouseVersions(
  client: ClickHouseClient,
  versions: readonly RegisteredVersion[],
): Promise<void> {
  if (versions.length === 0) return;
  await bootstrapClickHouseRegistry(client);
  for (const v of versions)
    await client.insert({
      table: REGISTRY_TABLE,
      format: 'JSONEachRow',
      values: [
        {
          name: v.name,
          version: v.version,
          hash: v.hash,
          definition: canonicalJson(v.definition),
          registered_at: new Date(v.registeredAt).toISOString().replace('T', ' ').replace('Z', ''),
          registered_by: v.by,
          reason: v.reason,
          changes: JSON.stringify(v.changes),
        },
      ],
      clickhouse_settings: { insert_deduplication_token: `${v.name}@${v.version}#${v.hash}` },
    });
}
