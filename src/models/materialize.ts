/**
 * Materialises one model on a DuckDB connection of its own (never the loader's), in one
 * transaction with its `_tributary.model_runs` row:
 *
 * - a view: `CREATE OR REPLACE VIEW`;
 * - a table: `CREATE OR REPLACE TABLE ... AS <the model's SQL>`. Until COMMIT, readers (and a
 *   process started after a kill -9) see the previous complete table: a half-built one is never
 *   visible. The build reads one MVCC snapshot, and each loader batch is one transaction, so it
 *   never sees half a batch; the data time it records is the checkpoint's commit time in that
 *   same snapshot.
 *
 * The loader writes other tables meanwhile: DuckDB's optimistic concurrency lets both commit
 * (test/models/refresh-under-load). The connection's search path is `main, <models schema>`, so
 * the SQL names replicated tables and other models unqualified, as written. A model that fails
 * rolls back and is recorded `failed` with DuckDB's message, in a transaction of its own (unless
 * `recordFailure()` says no: a refresh interrupted because the process stops is no failure).
 */
import { quoteIdentifier as q } from '../core/table-ref.js';
import type { Db } from '../warehouse/duckdb/db.js';
import { MODEL_TABLE_COMMENT } from '../warehouse/duckdb/tables.js';
import { modelBody } from './model-files.js';
import type { Model } from './model-graph.js';
import { DATA_TIME_SQL, type ModelRun, recordModelRun, type Trigger } from './model-runs.js';

/** Prepares `db` for refreshes: the schemas, the runs table, the search path. */
export async function prepareModelConnection(db: Db, schema: string): Promise<void> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
  await db.run(`SET search_path = '${`main,${schema}`.replaceAll("'", "''")}'`);
}

export async function materialize(
  db: Db,
  schema: string,
  model: Model,
  trigger: Trigger,
  now: () => Date = () => new Date(),
  recordFailure: () => boolean = () => true,
): Promise<ModelRun> {
  const startedAt = now();
  const target = `${q(schema)}.${q(model.name)}`;
  const kind = model.header.materialized;
  try {
    await db.run('BEGIN TRANSACTION');
    const dataRow = await db.rows(DATA_TIME_SQL);
    const dataMs = dataRow[0]?.[0];
    const dataTime = dataMs === null || dataMs === undefined ? null : new Date(Number(dataMs));
    const existing = await existingKind(db, schema, model.name);
    if (existing !== null && existing !== kind) await db.run(`DROP ${existing.toUpperCase()} ${target}`);
    let rows: number | null = null;
    if (kind === 'view') {
      await db.run(`CREATE OR REPLACE VIEW ${target} AS\n${modelBody(model.sql)}\n`);
      await db.run(`COMMENT ON VIEW ${target} IS '${MODEL_TABLE_COMMENT}'`);
    } else {
      await db.run(`CREATE OR REPLACE TABLE ${target} AS\n${modelBody(model.sql)}\n`);
      await db.run(`COMMENT ON TABLE ${target} IS '${MODEL_TABLE_COMMENT}'`);
      rows = Number((await db.rows(`SELECT count(*) FROM ${target}`))[0]?.[0] ?? 0);
    }
    const run: ModelRun = {
      model: model.name,
      materialized: kind,
      trigger,
      startedAt,
      finishedAt: now(),
      rows,
      status: 'ok',
      error: null,
      dataTime,
    };
    await recordModelRun(db, run);
    await db.run('COMMIT');
    return run;
  } catch (error) {
    await db.run('ROLLBACK').catch(() => {});
    const run: ModelRun = {
      model: model.name,
      materialized: kind,
      trigger,
      startedAt,
      finishedAt: now(),
      rows: null,
      status: 'failed',
      error: (error as Error).message,
      dataTime: null,
    };
    if (recordFailure()) await recordModelRun(db, run);
    return run;
  }
}

/**
 * Drops what models no longer in the project left in the models schema, so analysts do not read
 * a relation nothing refreshes any more: the tables and views a refresh made (they carry the
 * model comment; a view made before views were commented is not recognised). Anything else in
 * the schema (a relation an analyst made there, even under a removed model's name) stays. Models
 * are built from the warehouse's tables, so a dropped one is rebuilt in full if it comes back.
 * One transaction; returns the names dropped.
 */
export async function dropRemovedModels(db: Db, schema: string, keep: readonly string[]): Promise<string[]> {
  // DuckDB's names are case-insensitive: a model `orders` keeps the relation `Orders`
  const kept = new Set(keep.map((name) => name.toLowerCase()));
  await db.run('BEGIN TRANSACTION');
  try {
    const rows = await db.rows(
      `SELECT table_name, table_type FROM information_schema.tables
        WHERE table_catalog = current_database() AND table_schema = $1 AND TABLE_COMMENT = $2`,
      [schema, MODEL_TABLE_COMMENT],
    );
    const dropped: string[] = [];
    for (const [name, type] of rows) {
      if (kept.has(String(name).toLowerCase())) continue;
      await db.run(`DROP ${type === 'VIEW' ? 'VIEW' : 'TABLE'} ${q(schema)}.${q(String(name))}`);
      dropped.push(String(name));
    }
    await db.run('COMMIT');
    return dropped;
  } catch (error) {
    await db.run('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** A model skipped this round because `upstream` failed: recorded, nothing built. */
export async function recordSkipped(
  db: Db,
  model: Model,
  trigger: Trigger,
  upstream: string,
  now: () => Date = () => new Date(),
): Promise<ModelRun> {
  const at = now();
  const run: ModelRun = {
    model: model.name,
    materialized: model.header.materialized,
    trigger,
    startedAt: at,
    finishedAt: at,
    rows: null,
    status: 'skipped',
    error: `skipped: the upstream model ${upstream} failed`,
    dataTime: null,
  };
  await recordModelRun(db, run);
  return run;
}

async function existingKind(db: Db, schema: string, name: string): Promise<'view' | 'table' | null> {
  const rows = await db.rows(
    `SELECT table_type FROM information_schema.tables
      WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2`,
    [schema, name],
  );
  const type = rows[0]?.[0];
  if (type === undefined) return null;
  return type === 'VIEW' ? 'view' : 'table';
}
