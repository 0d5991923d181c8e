/**
 * `_tributary.model_runs`: one row per model refresh — the model, how it is materialised, what
 * triggered the refresh (start, change, schedule, manual), when it started and finished, the
 * rows it holds (NULL for a view), ok / failed / skipped (an upstream model failed in the same
 * round), the error, and the data time it reflects: the commit time of the newest source
 * transaction the warehouse had applied, read in the refresh's own transaction.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { Db } from '../warehouse/duckdb/db.js';

export type RunStatus = 'ok' | 'failed' | 'skipped';
export type Trigger = 'start' | 'change' | 'schedule' | 'manual';

export interface ModelRun {
  readonly model: string;
  readonly materialized: string;
  readonly trigger: Trigger;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly rows: number | null;
  readonly status: RunStatus;
  readonly error: string | null;
  readonly dataTime: Date | null;
}

export async function bootstrapModelRuns(db: Db): Promise<void> {
  await db.run('CREATE SCHEMA IF NOT EXISTS _tributary');
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.model_runs (model VARCHAR NOT NULL, materialized VARCHAR NOT NULL,
      trigger VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL, rows BIGINT,
      status VARCHAR NOT NULL, error VARCHAR, data_time TIMESTAMPTZ)`,
  );
}

export async function recordModelRun(db: Db, run: ModelRun): Promise<void> {
  const values: DuckDBValue[] = [
    run.model,
    run.materialized,
    run.trigger,
    timestamp(run.startedAt),
    timestamp(run.finishedAt),
    run.rows === null ? null : BigInt(run.rows),
    run.status,
    run.error,
    run.dataTime === null ? null : timestamp(run.dataTime),
  ];
  await db.run(
    `INSERT INTO _tributary.model_runs VALUES ($1, $2, $3, $4::TIMESTAMPTZ, $5::TIMESTAMPTZ, $6::BIGINT, $7, $8, $9::TIMESTAMPTZ)`,
    values,
  );
}

function timestamp(date: Date): DuckDBTimestampTZValue {
  return new DuckDBTimestampTZValue(BigInt(date.getTime()) * 1000n);
}

/**
 * The commit time of the newest source transaction the warehouse applied (the checkpoint's, or
 * the newest of the lanes'; where a file predates commit times, when it was applied), as the
 * open transaction sees it; null before anything was applied.
 */
export const DATA_TIME_SQL = `SELECT epoch_ms(max(coalesce(commit_time, updated_at)))::BIGINT FROM (
    SELECT commit_time, updated_at FROM _tributary.checkpoint
    UNION ALL SELECT commit_time, updated_at FROM _tributary.lanes)`;

/** Each model's latest run, and its latest successful one, as `models status` reads them from the file. */
export const LATEST_RUNS_SQL = `SELECT model, status, error, epoch_ms(finished_at)::BIGINT AS finished,
    epoch_ms(data_time)::BIGINT AS data_time, rows::BIGINT AS rows,
    (SELECT epoch_ms(max(o.data_time))::BIGINT FROM _tributary.model_runs AS o
      WHERE o.model = r.model AND o.status = 'ok') AS ok_data_time
  FROM (SELECT *, row_number() OVER (PARTITION BY model ORDER BY finished_at DESC, started_at DESC) AS n
          FROM _tributary.model_runs) AS r
  WHERE n = 1`;
