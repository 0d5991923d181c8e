/**
 * Tributary's own state in the `_tributary` schema: the checkpoint (one row: the last applied
 * position) and the schema versions of every table. Written in the same transaction as the
 * data they describe, so after a crash they agree with the current-state tables.
 */
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

export async function writeCheckpoint(db: Db, position: Position): Promise<void> {
  await db.run('DELETE FROM _tributary.checkpoint');
  await db.run('INSERT INTO _tributary.checkpoint VALUES ($1::UBIGINT, $2::BIGINT, now())', [
    position.commitLsn,
    BigInt(position.ordinal),
  ]);
}

/** A lane of a feed loaded here: its holder's epoch and its checkpoint. */
export interface LaneState {
  readonly epoch: bigint;
  readonly position: Position | null;
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
  await db.run('DELETE FROM _tributary.lanes WHERE lane = $1', [lane]);
  await db.run('INSERT INTO _tributary.lanes VALUES ($1, $2::UBIGINT, $3::UBIGINT, $4::BIGINT, now())', [
    lane,
    state.epoch,
    state.position?.commitLsn ?? null,
    state.position === null ? null : BigInt(state.position.ordinal),
  ]);
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
