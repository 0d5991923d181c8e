/**
 * The DuckDB side of snapshots and backfills (the rule is in ../snapshot.ts): job and chunk
 * state in `_tributary.snapshot_jobs` / `_tributary.snapshot_chunks`, one marks table per source
 * table with an active keyed job, and the set-based apply of rows read at a snapshot LSN.
 * Every function runs inside the caller's transaction.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BOOLEAN, type DuckDBType, LIST, UBIGINT, VARCHAR } from '@duckdb/node-api';
import type { Row } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import type { Lsn } from '../../core/lsn.js';
import { parsePosition } from '../../core/position.js';
import { quoteIdentifier as q, type TableRef } from '../../core/table-ref.js';
import type { Value } from '../../core/values.js';
import type { SnapshotRaw } from '../../landing/raw-zone.js';
import type { NetDelete } from '../fold.js';
import type { ChunkPlan, ChunkState, JobState, NewJob, SnapshotJob, SnapshotRows } from '../snapshot.js';
import type { Db } from './db.js';
import { STAGE_SQL, STAGE_TARGET, withStage } from './merge.js';
import { LSN_COLUMN, SYNCED_COLUMN, type TableState } from './tables.js';
import type { ColumnWriter } from './value-writer.js';
import { fromDuck } from './widen.js';

export const MARK_LSN = '_tributary_mark_lsn';
export const MARK_PARKED = '_tributary_parked';
export const MARK_UNKNOWN = '_tributary_unknown';
const ACTIVE = "state IN ('pending', 'running')";
const UNKNOWN_TYPE = LIST(VARCHAR);

/** The marks of one source table (see ../snapshot.ts, rule 2). */
export interface MarksTable {
  readonly sql: string;
  readonly target: { readonly schema: string; readonly table: string };
}

export async function bootstrapSnapshots(db: Db): Promise<void> {
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.snapshot_jobs (id VARCHAR NOT NULL, table_schema VARCHAR NOT NULL,
      table_name VARCHAR NOT NULL, predicate VARCHAR, reason VARCHAR NOT NULL, keyless BOOLEAN NOT NULL,
      state VARCHAR NOT NULL, requested_at TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
      rows_done UBIGINT NOT NULL, rows_estimated UBIGINT, attempt INTEGER NOT NULL, snapshot_lsn UBIGINT,
      truncated_lsn UBIGINT, error VARCHAR)`,
  );
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.snapshot_chunks (job_id VARCHAR NOT NULL, chunk INTEGER NOT NULL,
      from_page BIGINT NOT NULL, to_page BIGINT, done BOOLEAN NOT NULL, rows UBIGINT NOT NULL,
      snapshot_lsn UBIGINT, finished_at TIMESTAMPTZ)`,
  );
}

/** Whether the snapshot tables exist (a warehouse opened read-only may predate them). */
export async function hasSnapshotState(db: Db): Promise<boolean> {
  const rows = await db.rows(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '_tributary' AND table_name = 'snapshot_jobs'",
  );
  return Number(rows[0]?.[0] ?? 0) === 1;
}

export function marksTableOf(table: TableRef): MarksTable {
  const name = `marks_${createHash('sha256').update(`${table.schema}\u0000${table.name}`).digest('hex').slice(0, 16)}`;
  return { sql: `_tributary.${q(name)}`, target: { schema: '_tributary', table: name } };
}

const JOB_COLUMNS = `id, table_schema, table_name, predicate, reason, keyless, state, requested_at, started_at,
  finished_at, rows_done, rows_estimated, attempt, snapshot_lsn, error`;

function toJob(r: readonly unknown[]): SnapshotJob {
  const date = (v: unknown): Date | null => (v === null ? null : new Date(String(v)));
  return {
    id: String(r[0]),
    table: { schema: String(r[1]), name: String(r[2]) },
    predicate: r[3] === null ? null : String(r[3]),
    reason: String(r[4]),
    keyless: Boolean(r[5]),
    state: String(r[6]) as JobState,
    requestedAt: date(r[7]) as Date,
    startedAt: date(r[8]),
    finishedAt: date(r[9]),
    rowsDone: Number(r[10]),
    rowsEstimated: r[11] === null ? null : Number(r[11]),
    attempt: Number(r[12]),
    snapshotLsn: r[13] === null ? null : BigInt(r[13] as bigint),
    error: r[14] === null ? null : String(r[14]),
    truncatedLsn: r[15] === null ? null : BigInt(r[15] as bigint),
  };
}

export async function readJobs(db: Db, id: string | null = null): Promise<SnapshotJob[]> {
  // timestamps as text: the JSON form of DuckDB's TIMESTAMPTZ values is not what Date parses
  const rows = await db.rows(
    `SELECT id, table_schema, table_name, predicate, reason, keyless, state, strftime(requested_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
       strftime(started_at, '%Y-%m-%dT%H:%M:%S.%fZ'), strftime(finished_at, '%Y-%m-%dT%H:%M:%S.%fZ'), rows_done,
       rows_estimated, attempt, snapshot_lsn, error, truncated_lsn
     FROM _tributary.snapshot_jobs WHERE $1::VARCHAR IS NULL OR id = $1::VARCHAR ORDER BY requested_at, id`,
    [id],
  );
  return rows.map(toJob);
}

export async function readJob(db: Db, id: string): Promise<SnapshotJob> {
  const [job] = await readJobs(db, id);
  if (!job) throw new TributaryError('USAGE', `no snapshot or backfill job ${id}`);
  return job;
}

/** Source tables with an active keyed job: their changes write marks. */
export async function activeMarkedTables(db: Db): Promise<TableRef[]> {
  const rows = await db.rows(
    `SELECT DISTINCT table_schema, table_name FROM _tributary.snapshot_jobs WHERE ${ACTIVE} AND NOT keyless`,
  );
  return rows.map((r) => ({ schema: String(r[0]), name: String(r[1]) }));
}

export async function insertJob(db: Db, job: NewJob): Promise<string> {
  const id = randomUUID().slice(0, 8);
  await db.run(
    `INSERT INTO _tributary.snapshot_jobs (${JOB_COLUMNS.replace('error', 'truncated_lsn, error')})
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', now(), NULL, NULL, 0, NULL, 0, NULL, NULL, NULL)`,
    [id, job.table.schema, job.table.name, job.predicate, job.reason, job.keyless],
  );
  return id;
}

/** The position at which the table's current shape was recorded, or null when unknown. */
export async function currentVersionLsn(db: Db, table: TableRef): Promise<Lsn | null> {
  const rows = await db.rows(
    `SELECT first_position FROM _tributary.schema_versions WHERE table_schema = $1 AND table_name = $2
      ORDER BY recorded_at DESC, rowid DESC LIMIT 1`,
    [table.schema, table.name],
  );
  const text = rows[0]?.[0];
  return typeof text === 'string' ? parsePosition(text).commitLsn : null;
}

export async function ensureMarks(db: Db, table: TableState): Promise<MarksTable> {
  const marks = marksTableOf(table.schema.table);
  const keys = table.keyColumns.map(q).join(', ');
  await db.run(
    `CREATE TABLE IF NOT EXISTS ${marks.sql} AS SELECT ${keys}, NULL::UBIGINT AS ${q(MARK_LSN)}, NULL::BOOLEAN AS ${q(MARK_PARKED)},
       NULL::VARCHAR[] AS ${q(MARK_UNKNOWN)} FROM ${table.sql} LIMIT 0`,
  );
  return marks;
}

/** Records the chunk plan (first attempt) and starts attempt n+1; returns the job's chunks, done or not. */
export async function startAttempt(
  db: Db,
  job: SnapshotJob,
  snapshotLsn: Lsn,
  plan: readonly ChunkPlan[],
  rowsEstimated: number | null,
  startOver: boolean,
): Promise<ChunkState[]> {
  const existing = await db.rows('SELECT count(*) FROM _tributary.snapshot_chunks WHERE job_id = $1', [
    job.id,
  ]);
  if (Number(existing[0]?.[0] ?? 0) === 0) {
    for (const c of plan) {
      await db.run('INSERT INTO _tributary.snapshot_chunks VALUES ($1, $2, $3, $4, false, 0, NULL, NULL)', [
        job.id,
        c.chunk,
        BigInt(c.fromPage),
        c.toPage === null ? null : BigInt(c.toPage),
      ]);
    }
  }
  if (job.keyless || startOver) {
    // only a whole copy at one snapshot is exact for a multiset: start it over
    await db.run(
      'UPDATE _tributary.snapshot_chunks SET done = false, rows = 0, snapshot_lsn = NULL, finished_at = NULL WHERE job_id = $1',
      [job.id],
    );
  }
  await db.run(
    `UPDATE _tributary.snapshot_jobs SET state = 'running', attempt = attempt + 1, snapshot_lsn = $2::UBIGINT,
       started_at = coalesce(started_at, now()), rows_estimated = coalesce($3::UBIGINT, rows_estimated),
       rows_done = ${job.keyless || startOver ? '0' : 'rows_done'}, keyless = $4
     WHERE id = $1`,
    [
      job.id,
      snapshotLsn,
      rowsEstimated === null ? null : BigInt(Math.max(0, Math.round(rowsEstimated))),
      job.keyless,
    ],
  );
  const rows = await db.rows(
    `SELECT chunk, from_page, to_page, done, rows, snapshot_lsn FROM _tributary.snapshot_chunks
      WHERE job_id = $1 ORDER BY chunk`,
    [job.id],
  );
  return rows.map((r) => ({
    chunk: Number(r[0]),
    fromPage: Number(r[1]),
    toPage: r[2] === null ? null : Number(r[2]),
    done: Boolean(r[3]),
    rows: Number(r[4]),
    snapshotLsn: r[5] === null ? null : BigInt(r[5] as bigint),
  }));
}

/**
 * Writes rows read at `rows.snapshotLsn` by the rule of ../snapshot.ts into `table` (its current
 * shape: columns the rows' shape lacks get the column's missing value or null; columns the
 * table no longer has are ignored). Returns how many rows it wrote.
 */
export async function applyRows(
  db: Db,
  table: TableState,
  job: { readonly keyless: boolean; readonly truncatedLsn: Lsn | null },
  marks: MarksTable | null,
  rows: SnapshotRows,
  raw: SnapshotRaw | null,
): Promise<number> {
  const c = rows.snapshotLsn;
  const written = await writeRows(db, table, job, marks, rows, raw);
  if (rows.reread && rows.reread.length > 0 && marks) await resolveParked(db, table, marks, rows.reread, c);
  await recordProgress(db, rows.job, rows.chunk, rows.rows.length, rows.last, c);
  return written;
}

/** The rows written and their chunk's state: `count` more rows read, done when `last`. */
export async function recordProgress(
  db: Db,
  job: string,
  chunk: number | null,
  count: number,
  last: boolean,
  c: Lsn,
): Promise<void> {
  if (chunk !== null) {
    await db.run(
      `UPDATE _tributary.snapshot_chunks SET rows = rows + $3::UBIGINT, done = $4, snapshot_lsn = $5::UBIGINT,
         finished_at = CASE WHEN $4 THEN now() ELSE NULL END WHERE job_id = $1 AND chunk = $2`,
      [job, chunk, BigInt(count), last, c],
    );
  }
  await db.run('UPDATE _tributary.snapshot_jobs SET rows_done = rows_done + $2::UBIGINT WHERE id = $1', [
    job,
    BigInt(count),
  ]);
}

/** The write of `applyRows`, without the job's and chunk's progress. */
export async function writeRows(
  db: Db,
  table: TableState,
  job: { readonly keyless: boolean; readonly truncatedLsn: Lsn | null },
  marks: MarksTable | null,
  rows: SnapshotRows,
  raw: SnapshotRaw | null,
): Promise<number> {
  const c = rows.snapshotLsn;
  let written = 0;
  const discarded = job.truncatedLsn !== null && job.truncatedLsn >= c;
  if (rows.rows.length > 0 && !discarded) {
    const columns = table.schema.columns;
    const had = new Set(rows.schema.columns.map((col) => col.name));
    const all = [...columns.map((col) => col.name), LSN_COLUMN];
    const list = all.map(q).join(', ');
    await withStage(db, list, table, async () => {
      const source = rows.rows;
      await db.appendRows(
        STAGE_TARGET,
        [...table.writers.map((w) => w.type), UBIGINT],
        source.length,
        (r, i) => {
          if (i === columns.length) return c;
          const column = columns[i]!;
          const value: Value = had.has(column.name)
            ? ((source[r] as Row)[column.name] ?? null)
            : (column.missingValue ?? null);
          return value === null ? null : (table.writers[i] as ColumnWriter).toDuck(value);
        },
      );
      const insert = `INSERT INTO ${table.sql} (${list}, ${q(SYNCED_COLUMN)}) SELECT ${all.map((n) => `s.${q(n)}`).join(', ')}, now() FROM ${STAGE_SQL} AS s`;
      // the raw zone gets the rows this write keeps, chosen before it (the rule above)
      if (raw) await recordRaw(table, job.keyless || !table.hasPrimaryKey, marks, raw, c);
      if (job.keyless || !table.hasPrimaryKey) {
        written = (await db.read(insert)).rowsChanged;
        return;
      }
      const keys = new Set(table.keyColumns);
      const set = [
        ...columns.map((col) => col.name).filter((n) => !keys.has(n)),
        LSN_COLUMN,
        SYNCED_COLUMN,
      ].map((n) => `${q(n)} = excluded.${q(n)}`);
      const unmarked = marks
        ? ` WHERE NOT EXISTS (SELECT 1 FROM ${marks.sql} AS m WHERE ${matchKeys(table, 'm', 's')} AND NOT m.${q(MARK_PARKED)} AND m.${q(MARK_LSN)} >= $1::UBIGINT)`
        : '';
      const result = await db.read(
        `${insert}${unmarked} ON CONFLICT (${table.keyColumns.map(q).join(', ')}) DO UPDATE SET ${set.join(', ')} WHERE ${table.sql}.${q(LSN_COLUMN)} < $1::UBIGINT`,
        [c],
      );
      written = result.rowsChanged;
      if (marks) await fillParked(db, table, marks);
    });
  }
  return written;
}

/**
 * Records in the raw zone the staged rows that the write after it keeps: all of them for a
 * multiset (and a fresh table); for a keyed table those no mark of a newer change refuses and
 * no newer stored row outranks, and those whose key is parked (the snapshot gives their row as
 * it was at `c`, the parked update's unchanged columns carry it forward).
 */
async function recordRaw(
  table: TableState,
  all: boolean,
  marks: MarksTable | null,
  raw: SnapshotRaw,
  c: Lsn,
): Promise<void> {
  const columns = table.schema.columns.map((col) => `s.${q(col.name)}`).join(', ');
  if (all) {
    await raw.record(`SELECT ${columns} FROM ${STAGE_SQL} AS s`, []);
    return;
  }
  const newer = `EXISTS (SELECT 1 FROM ${table.sql} AS t WHERE ${matchKeys(table, 't', 's')} AND t.${q(LSN_COLUMN)} >= $1::UBIGINT)`;
  const refused = marks
    ? `EXISTS (SELECT 1 FROM ${marks.sql} AS m WHERE ${matchKeys(table, 'm', 's')} AND NOT m.${q(MARK_PARKED)} AND m.${q(MARK_LSN)} >= $1::UBIGINT)`
    : 'false';
  const parkedKey = marks
    ? `EXISTS (SELECT 1 FROM ${marks.sql} AS m WHERE ${matchKeys(table, 'm', 's')} AND m.${q(MARK_PARKED)})`
    : 'false';
  await raw.record(
    `SELECT ${columns} FROM ${STAGE_SQL} AS s WHERE NOT ${refused} AND (NOT ${newer} OR ${parkedKey})`,
    [c],
  );
}

function matchKeys(table: TableState, a: string, b: string): string {
  return table.keyColumns.map((k) => `${a}.${q(k)} IS NOT DISTINCT FROM ${b}.${q(k)}`).join(' AND ');
}

function keyWriters(table: TableState): { types: DuckDBType[]; writers: ColumnWriter[] } {
  const index = new Map(table.schema.columns.map((col, i) => [col.name, i]));
  const writers = table.keyColumns.map((k) => table.writers[index.get(k) ?? -1] as ColumnWriter);
  return { types: writers.map((w) => w.type), writers };
}

/**
 * Rows the stream created from an update that left columns unchanged (parked: those columns are
 * placeholders, named in the mark) get them from the staged rows, read at a snapshot: a column
 * still unknown was not sent since the row was parked, and nothing changed the row between an
 * earlier snapshot and the parking (it was missing from the warehouse, so any change would have
 * parked it earlier or created it whole), so the snapshot's value is the current one. Their marks
 * are resolved.
 */
async function fillParked(db: Db, table: TableState, marks: MarksTable): Promise<void> {
  const keys = new Set(table.keyColumns);
  const filled = table.schema.columns
    .map((c) => c.name)
    .filter((n) => !keys.has(n))
    .map(
      (n) =>
        `${q(n)} = CASE WHEN list_contains(m.${q(MARK_UNKNOWN)}, ${sqlString(n)}) THEN s.${q(n)} ELSE ${table.sql}.${q(n)} END`,
    );
  const parkedHere = `m.${q(MARK_PARKED)} AND ${matchKeys(table, 'm', 's')}`;
  if (filled.length > 0) {
    await db.run(
      `UPDATE ${table.sql} SET ${filled.join(', ')} FROM ${STAGE_SQL} AS s, ${marks.sql} AS m
        WHERE ${matchKeys(table, table.sql, 's')} AND ${parkedHere} AND len(m.${q(MARK_UNKNOWN)}) > 0`,
    );
  }
  await db.run(
    `DELETE FROM ${marks.sql} AS m USING ${STAGE_SQL} AS s WHERE ${parkedHere}
       AND EXISTS (SELECT 1 FROM ${table.sql} AS t WHERE ${matchKeys(table, 't', 's')})`,
  );
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Parks asked for again and read at `c`: those from before `c` are resolved. */
async function resolveParked(
  db: Db,
  table: TableState,
  marks: MarksTable,
  keys: readonly Row[],
  c: Lsn,
): Promise<void> {
  const { types, writers } = keyWriters(table);
  const names = table.keyColumns;
  await withStage(db, names.map(q).join(', '), table, async () => {
    await db.appendRows(STAGE_TARGET, types, keys.length, (r, i) => {
      const value = (keys[r] as Row)[names[i] as string] ?? null;
      return value === null ? null : (writers[i] as ColumnWriter).toDuck(value);
    });
    await db.run(
      `DELETE FROM ${marks.sql} AS m USING ${STAGE_SQL} AS s WHERE ${matchKeys(table, 'm', 's')} AND m.${q(MARK_PARKED)} AND m.${q(MARK_LSN)} < $1::UBIGINT`,
      [c],
    );
  });
}

/** Marks deleted keys (the loader, for a table with an active keyed job); their parks go with the rows. */
export async function markDeletes(
  db: Db,
  table: TableState,
  marks: MarksTable,
  deletes: readonly NetDelete[],
): Promise<void> {
  const { types, writers } = keyWriters(table);
  const names = table.keyColumns;
  await db.run(
    `DELETE FROM ${marks.sql} AS m WHERE m.${q(MARK_PARKED)} AND NOT EXISTS (SELECT 1 FROM ${table.sql} AS t WHERE ${matchKeys(table, 't', 'm')})`,
  );
  await db.appendRows(marks.target, [...types, UBIGINT, BOOLEAN, UNKNOWN_TYPE], deletes.length, (r, i) => {
    const d = deletes[r] as NetDelete;
    if (i === names.length) return d.position.commitLsn;
    if (i === names.length + 1) return false;
    if (i === names.length + 2) return null;
    const value = d.key[names[i] as string] ?? null;
    return value === null ? null : (writers[i] as ColumnWriter).toDuck(value);
  });
}

/**
 * An update that left `unchanged` columns unsent, staged (merge.ts's stage, with
 * `_tributary_lsn`), on a table with an active job. Rows the warehouse holds lose those columns
 * from their parks' unknown lists only where they were sent; rows it does not hold yet are
 * created with the sent columns (the others are placeholders) and parked with the unchanged
 * columns as unknown, for the job's snapshot rows to fill (fillParked). The caller's UPDATE then
 * writes the sent columns as usual.
 */
export async function parkPartial(
  db: Db,
  table: TableState,
  marks: MarksTable,
  unchanged: readonly string[],
): Promise<void> {
  const list = `[${unchanged.map(sqlString).join(', ')}]::VARCHAR[]`;
  const stagedKeys = table.keyColumns.map((k) => `s.${q(k)}`).join(', ');
  const missing = `NOT EXISTS (SELECT 1 FROM ${table.sql} AS t WHERE ${matchKeys(table, 't', 's')})`;
  await db.run(
    `UPDATE ${marks.sql} AS m SET ${q(MARK_UNKNOWN)} = list_filter(m.${q(MARK_UNKNOWN)}, x -> list_contains(${list}, x))
      FROM ${STAGE_SQL} AS s WHERE m.${q(MARK_PARKED)} AND ${matchKeys(table, 'm', 's')}`,
  );
  await db.run(
    `INSERT INTO ${marks.sql} SELECT ${stagedKeys}, s.${q(LSN_COLUMN)}, true, ${list} FROM ${STAGE_SQL} AS s WHERE ${missing}`,
  );
  const columns = [...table.schema.columns.map((c) => c.name), LSN_COLUMN];
  await db.run(
    `INSERT INTO ${table.sql} (${columns.map(q).join(', ')}, ${q(SYNCED_COLUMN)})
     SELECT ${columns.map((c) => `s.${q(c)}`).join(', ')}, now() FROM ${STAGE_SQL} AS s WHERE ${missing}`,
  );
}

/** Full rows staged for a table with an active job: their parks are resolved (every column is known). */
export async function resolveWhole(db: Db, table: TableState, marks: MarksTable): Promise<void> {
  await db.run(
    `DELETE FROM ${marks.sql} AS m USING ${STAGE_SQL} AS s WHERE m.${q(MARK_PARKED)} AND ${matchKeys(table, 'm', 's')}`,
  );
}

/** A truncate of a table with an active job: no row is left, so no park either. */
export async function clearParks(db: Db, marks: MarksTable): Promise<void> {
  await db.run(`DELETE FROM ${marks.sql} WHERE ${q(MARK_PARKED)}`);
}

/** A truncate at `lsn` of a table with active jobs: rows they read before it are discarded. */
export async function markTruncate(db: Db, table: TableRef, lsn: Lsn): Promise<void> {
  await db.run(
    `UPDATE _tributary.snapshot_jobs SET truncated_lsn = greatest(coalesce(truncated_lsn, 0::UBIGINT), $3::UBIGINT)
      WHERE table_schema = $1 AND table_name = $2 AND ${ACTIVE}`,
    [table.schema, table.name, lsn],
  );
}

export async function parked(db: Db, table: TableState, marks: MarksTable, limit: number): Promise<Row[]> {
  const { writers } = keyWriters(table);
  const names = table.keyColumns;
  const rows = await db.rows(
    `SELECT DISTINCT ${names.map(q).join(', ')} FROM ${marks.sql} WHERE ${q(MARK_PARKED)} AND len(${q(MARK_UNKNOWN)}) > 0
      LIMIT ${Math.max(1, Math.floor(limit))}`,
  );
  return rows.map((r) => {
    const key: Record<string, Value> = Object.create(null);
    names.forEach((n, i) => {
      key[n] = fromDuck(r[i] ?? null, (writers[i] as ColumnWriter).type);
    });
    return key;
  });
}

/** Ends `job`; returns whether it was its table's last active keyed job (its marks table is dropped). */
export async function finishJob(
  db: Db,
  job: SnapshotJob,
  state: 'done' | 'failed' | 'cancelled',
  error: string | null,
): Promise<boolean> {
  await db.run(
    `UPDATE _tributary.snapshot_jobs SET state = $2, finished_at = now(), error = $3 WHERE id = $1`,
    [job.id, state, error],
  );
  const others = await db.rows(
    `SELECT count(*) FROM _tributary.snapshot_jobs WHERE table_schema = $1 AND table_name = $2 AND ${ACTIVE} AND NOT keyless`,
    [job.table.schema, job.table.name],
  );
  if (Number(others[0]?.[0] ?? 0) > 0) return false;
  await db.run(`DROP TABLE IF EXISTS ${marksTableOf(job.table).sql}`);
  return true;
}
