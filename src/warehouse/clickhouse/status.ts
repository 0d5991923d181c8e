/**
 * What `tributary status`, the HTTP API and Prometheus read of a ClickHouse warehouse: its tables
 * (the analyst views over `_tributary_rows_*` storage, counted as the views show them: FINAL,
 * without deleted rows) and its snapshot and backfill jobs. The DuckDB warehouse answers the same
 * questions with its own SQL (src/pipeline/status-report.ts); `WarehouseStatus` is the seam.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TableRef } from '../../core/table-ref.js';
import type { JobStatus } from '../../pipeline/status-report.js';
import { quoteName } from './connect.js';
import { stateTable } from './layout.js';

export interface StatusTable {
  readonly ref: TableRef;
  readonly rows: number;
  readonly lastChange: string | null;
}

/** A recorded job as `status` shows it (its table as parts; live progress is added by the caller). */
export type StatusJob = Omit<JobStatus, 'table' | 'rowsPerSecond' | 'etaSeconds' | 'chunks'> & {
  readonly table: TableRef;
};

/** The tables Tributary replicates into `client`'s database (from its schema versions). */
export async function statusTables(
  client: ClickHouseClient,
  tables: readonly TableRef[],
  view: (t: TableRef) => string,
): Promise<StatusTable[]> {
  const out: StatusTable[] = [];
  for (const ref of tables) {
    const result = await client.query({
      query: `SELECT count() AS rows, toString(max(_tributary_synced_at)) AS last FROM ${quoteName(view(ref))}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ rows: string; last: string | null }>();
    const rows = Number(row?.rows ?? 0);
    out.push({ ref, rows, lastChange: rows === 0 ? null : `${row?.last ?? ''}`.replace(' ', 'T') + 'Z' });
  }
  return out;
}

/** Snapshot and backfill jobs, oldest first; times in ISO 8601 UTC. */
export async function statusJobs(client: ClickHouseClient): Promise<StatusJob[]> {
  const exists = await client.query({
    query:
      'SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {name:String}',
    query_params: { name: stateTable('snapshot_jobs') },
    format: 'JSONEachRow',
  });
  if (Number((await exists.json<{ n: string }>())[0]?.n ?? 0) === 0) return [];
  const iso = (column: string) =>
    `if(isNull(${column}), NULL, formatDateTime(${column}, '%Y-%m-%dT%H:%i:%S.%fZ'))`;
  const result = await client.query({
    query: `SELECT id, table_schema, table_name, predicate, reason, state, ${iso('requested_at')} AS requested_at,
        ${iso('started_at')} AS started_at, ${iso('finished_at')} AS finished_at, rows_done, rows_estimated, attempt, error
      FROM ${quoteName(stateTable('snapshot_jobs'))} FINAL ORDER BY requested_at, id`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<Record<string, string | number | null>>();
  return rows.map((r) => ({
    id: String(r.id),
    table: { schema: String(r.table_schema), name: String(r.table_name) },
    predicate: r.predicate === null ? null : String(r.predicate),
    reason: String(r.reason),
    state: String(r.state),
    requestedAt: String(r.requested_at),
    startedAt: r.started_at === null ? null : String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    rows: Number(r.rows_done),
    rowsEstimated: r.rows_estimated === null ? null : Number(r.rows_estimated),
    attempts: Number(r.attempt),
    error: r.error === null ? null : String(r.error),
  }));
}
