/**
 * Tributary's own state in the `_tributary` schema: the checkpoint (one row: the last applied
 * position, and the commit time of the newest transaction applied with it, for freshness checks;
 * NULL in files written before it was kept) and the schema versions of every table. Written in the same transaction as the
 * data they describe, so after a crash they agree with the current-state tables.
 */
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { ColumnSchema, TableSchema } from '../../core/change-event.js';
import type { Position } from '../../core/position.js';
import type { Db } from './db.js';

export async function bootstrap(db: Db): Promise<void> {
  await db.run('CREATE SCHEMA IF NOT EXISTS _tributary');
  await db.run(
    'CREATE TABLE IF NOT EXISTS _tributary.checkpoint (commit_lsn UBIGINT NOT NULL, ordinal BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)',
  );
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.lanes (lane INTEGER NOT NULL, epoch UBIGINT NOT NULL,
      commit_lsn UBIGINT, ordinal BIGINT, updated_at TIMESTAMPTZ NOT NULL)`,
  );
  // files from before commit times were kept with the checkpoint
  await db.run('ALTER TABLE _tributary.checkpoint ADD COLUMN IF NOT EXISTS commit_time TIMESTAMPTZ');
  await db.run('ALTER TABLE _tributary.lanes ADD COLUMN IF NOT EXISTS commit_time TIMESTAMPTZ');
  await db.run(
    `CREATE TABLE IF NOT EXISTS _tributary.schema_versions (table_schema VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
      version VARCHAR NOT NULL, columns JSON NOT NULL, first_position VARCHAR, recorded_at TIMESTAMPTZ NOT NULL)`,
  );
}

/** Whether the database holds Tributary's state (a read-only open cannot create it). */
export async function hasState(db: Db): Promise<boolean> {
  const rows = await db.rows(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '_tributary' AND table_name IN ('checkpoint', 'schema_versions')",
  );
  return Number(rows[0]?.[0] ?? 0) === 2;
}

export async function readCheckpoint(db: Db): Promise<Position | null> {
  const rows = await db.rows('SELECT commit_lsn, ordinal FROM _tributary.checkpoint LIMIT 1');
  const row = rows[0];
  if (!row) return null;
  return { commitLsn: BigInt(row[0] as bigint), ordinal: Number(row[1] as bigint) };
}

/**
 * Records `position` as applied, with `commitTime` (microseconds since the epoch) the commit time
 * of the newest transaction applied in the batch; null keeps the one recorded before.
 */
export async function writeCheckpoint(db: Db, position: Position, commitTime: bigint | null): Promise<void> {
  const values = [position.commitLsn, BigInt(position.ordinal), timestampOf(commitTime)];
  const held = await db.rows('SELECT count(*) FROM _tributary.checkpoint');
  if (Number(held[0]?.[0] ?? 0) === 0) {
    await db.run(
      'INSERT INTO _tributary.checkpoint (commit_lsn, ordinal, updated_at, commit_time) VALUES ($1::UBIGINT, $2::BIGINT, now(), $3::TIMESTAMPTZ)',
      values,
    );
  } else {
    await db.run(
      'UPDATE _tributary.checkpoint SET commit_lsn = $1::UBIGINT, ordinal = $2::BIGINT, updated_at = now(), commit_time = coalesce($3::TIMESTAMPTZ, commit_time)',
      values,
    );
  }
}

function timestampOf(micros: bigint | null | undefined): DuckDBTimestampTZValue | null {
  return micros === null || micros === undefined ? null : new DuckDBTimestampTZValue(micros);
}

/** A lane of a feed loaded here: its holder's epoch and its checkpoint. */
export interface LaneState {
  readonly epoch: bigint;
  readonly position: Position | null;
  /** The commit time (µs since the epoch) of the newest transaction applied to the lane in a batch; null keeps the recorded one. */
  readonly commitTime?: bigint | null;
}

export async function readLanes(db: Db): Promise<Map<number, LaneState>> {
  const lanes = new Map<number, LaneState>();
  const exists = await db.rows(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '_tributary' AND table_name = 'lanes'",
  );
  if (Number(exists[0]?.[0] ?? 0) === 0) return lanes;
  for (const r of await db.rows('SELECT lane, epoch, commit_lsn, ordinal FROM _tributary.lanes')) {
    lanes.set(Number(r[0]), {
      epoch: BigInt(r[1] as bigint),
      position: r[2] === null ? null : { commitLsn: BigInt(r[2] as bigint), ordinal: Number(r[3] as bigint) },
    });
  }
  return lanes;
}

export async function writeLane(db: Db, lane: number, state: LaneState): Promise<void> {
  const values = [
    lane,
    state.epoch,
    state.position?.commitLsn ?? null,
    state.position === null ? null : BigInt(state.position.ordinal),
    timestampOf(state.commitTime),
  ];
  const held = await db.rows('SELECT count(*) FROM _tributary.lanes WHERE lane = $1', [lane]);
  if (Number(held[0]?.[0] ?? 0) === 0) {
    await db.run(
      `INSERT INTO _tributary.lanes (lane, epoch, commit_lsn, ordinal, updated_at, commit_time)
        VALUES ($1, $2::UBIGINT, $3::UBIGINT, $4::BIGINT, now(), $5::TIMESTAMPTZ)`,
      values,
    );
  } else {
    await db.run(
      `UPDATE _tributary.lanes SET epoch = $2::UBIGINT, commit_lsn = $3::UBIGINT, ordinal = $4::BIGINT,
        updated_at = now(), commit_time = coalesce($5::TIMESTAMPTZ, commit_time) WHERE lane = $1`,
      values,
    );
  }
}

/** The latest recorded schema of every table. */
export async function readSchemas(db: Db): Promise<TableSchema[]> {
  const rows = await db.rows(
    `SELECT table_schema, table_name, version, columns::VARCHAR FROM (
       SELECT *, row_number() OVER (PARTITION BY table_schema, table_name ORDER BY recorded_at DESC, rowid DESC) AS n
       FROM _tributary.schema_versions) WHERE n = 1`,
  );
  return rows.map((r) => {
    const body = JSON.parse(String(r[3])) as {
      columns: ColumnSchema[];
      key: string[];
      replicaIdentity: TableSchema['replicaIdentity'];
      relationOid: number;
    };
    return {
      table: { schema: String(r[0]), name: String(r[1]) },
      version: String(r[2]),
      columns: body.columns,
      key: body.key,
      replicaIdentity: body.replicaIdentity,
      relationOid: body.relationOid,
    };
  });
}
