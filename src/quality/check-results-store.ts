/**
 * Check results kept with their history in `_tributary.check_results`, one row per check per
 * run, written by the process that holds the warehouse (through its writer, in one transaction
 * per run). `observed` and `sample` (at most SAMPLE_ROWS failing rows) are JSON.
 */
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { Db } from '../warehouse/duckdb/db.js';
import type { CheckResult } from './check-result.js';

export async function bootstrapCheckResults(db: Db): Promise<void> {
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.check_results (run_id VARCHAR NOT NULL, check_name VARCHAR NOT NULL,
      check_type VARCHAR NOT NULL, severity VARCHAR NOT NULL, status VARCHAR NOT NULL, observed JSON NOT NULL,
      message VARCHAR NOT NULL, sample JSON NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL)`,
  );
}

/** Appends `results` (in the caller's transaction). */
export async function recordCheckResults(db: Db, results: readonly CheckResult[]): Promise<void> {
  await bootstrapCheckResults(db);
  for (const r of results) {
    await db.run(
      'INSERT INTO _tributary.check_results VALUES ($1, $2, $3, $4, $5, $6::JSON, $7, $8::JSON, $9, $10)',
      [
        r.runId,
        r.name,
        r.type,
        r.severity,
        r.status,
        JSON.stringify(r.observed),
        r.message,
        JSON.stringify(r.sample),
        timestamp(r.startedAt),
        timestamp(r.finishedAt),
      ],
    );
  }
}

function timestamp(iso: string): DuckDBTimestampTZValue {
  return new DuckDBTimestampTZValue(BigInt(Date.parse(iso)) * 1000n);
}
