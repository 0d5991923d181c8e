/**
 * Tributary's own state in a ClickHouse warehouse, in tables named `_tributary_<what>` of the
 * warehouse's database (layout.ts). ClickHouse has no transactions: every state table is
 * written so that writing a record again, or an older one after a newer, changes nothing.
 *
 * - `_tributary_checkpoint`: one logical row per lane (lane -1: the warehouse's own checkpoint,
 *   when loaded straight from a slot), a ReplacingMergeTree versioned by `rank` =
 *   epoch << 128 | the position's row version (layout.ts): a later position, or a later claim,
 *   always wins, whatever order the inserts land in. Read with FINAL.
 * - `_tributary_schema_versions`: every shape recorded, with a sequence number (the latest per
 *   table is the table's current shape) and `since_lsn`, the commit LSN from which the source
 *   had it (its first change's, or the snapshot's that brought it; 0 when unknown), and the
 *   columns the warehouse widened to String (widen.ts): a widening is recorded as the same
 *   shape again with the column added to `widened`, so a restart keeps the widened type.
 * - `_tributary_truncations`: per view, the row version of each truncate applied. A table's
 *   watermark is the greatest; its view hides every row at or below it (tables.ts), which also
 *   hides a snapshot copy inserted later with an older version (snapshot rule 3).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ColumnSchema, TableSchema } from '../../core/change-event.js';
import type { Position } from '../../core/position.js';
import { quoteName as q } from './connect.js';
import { positionVersion, stateTable } from './layout.js';
import { type DdlContext, DURABLE, qualified, TRUNCATIONS_TABLE } from './tables.js';

export const CHECKPOINT_TABLE = stateTable('checkpoint');
export const SCHEMAS_TABLE = stateTable('schema_versions');
/** The lane number of the warehouse's own checkpoint. */
export const MAIN_LANE = -1;

export interface LaneRecord {
  readonly epoch: bigint;
  readonly position: Position | null;
}

function engine(context: DdlContext, replacing: string | null): string {
  const name = replacing === null ? 'MergeTree' : 'ReplacingMergeTree';
  if (!context.cluster) return `${name}(${replacing ?? ''})`;
  return `Replicated${name}('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'${replacing ? `, ${replacing}` : ''})`;
}

/** The statements that create the state tables (idempotent). */
export function bootstrapSql(context: DdlContext): string[] {
  const on = context.cluster ? ` ON CLUSTER ${q(context.cluster)}` : '';
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(context, CHECKPOINT_TABLE)}${on} (lane Int64, epoch UInt64, rank UInt256, has_position UInt8, commit_lsn UInt64, ordinal Int64, commit_micros Nullable(Int64), written_at DateTime64(6, 'UTC') DEFAULT now64(6)) ENGINE = ${engine(context, 'rank')} ORDER BY lane SETTINGS ${DURABLE}`,
    `CREATE TABLE IF NOT EXISTS ${qualified(context, SCHEMAS_TABLE)}${on} (view String, table_schema String, table_name String, version String, seq UInt64, body String, since_lsn UInt64, recorded_at DateTime64(6, 'UTC') DEFAULT now64(6)) ENGINE = ${engine(context, null)} ORDER BY (view, seq) SETTINGS ${DURABLE}`,
    `CREATE TABLE IF NOT EXISTS ${qualified(context, TRUNCATIONS_TABLE)}${on} (view String, version UInt128) ENGINE = ${engine(context, null)} ORDER BY (view, version) SETTINGS ${DURABLE}`,
  ];
}

async function rows<T>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow', query_params: params })).json<T>();
}

/** Every lane's record (the main checkpoint under MAIN_LANE). */
export async function readLanes(
  client: ClickHouseClient,
  context: DdlContext,
): Promise<Map<number, LaneRecord>> {
  const found = await rows<{
    lane: string;
    epoch: string;
    has_position: number;
    commit_lsn: string;
    ordinal: string;
  }>(
    client,
    `SELECT lane, epoch, has_position, commit_lsn, ordinal FROM ${qualified(context, CHECKPOINT_TABLE)} FINAL`,
  );
  return new Map(
    found.map((r) => [
      Number(r.lane),
      {
        epoch: BigInt(r.epoch),
        position: r.has_position ? { commitLsn: BigInt(r.commit_lsn), ordinal: Number(r.ordinal) } : null,
      },
    ]),
  );
}

/** Records `record` for `lane`; resolves once stored. */
export async function writeLane(
  client: ClickHouseClient,
  context: DdlContext,
  lane: number,
  record: LaneRecord,
  commitMicros: bigint | null = null,
): Promise<void> {
  const version = record.position ? BigInt(positionVersion(record.position)) : 0n;
  await client.insert({
    table: qualified(context, CHECKPOINT_TABLE),
    format: 'JSONEachRow',
    values: [
      {
        lane,
        epoch: record.epoch.toString(),
        rank: ((record.epoch << 128n) | version).toString(),
        has_position: record.position ? 1 : 0,
        commit_lsn: (record.position?.commitLsn ?? 0n).toString(),
        ordinal: record.position?.ordinal ?? 0,
        commit_micros: commitMicros === null ? null : commitMicros.toString(),
      },
    ],
  });
}

/** Records `schema` as the table's latest shape, with the columns the warehouse widened (widen.ts). */
export async function recordSchema(
  client: ClickHouseClient,
  context: DdlContext,
  view: string,
  schema: TableSchema,
  sinceLsn: bigint,
  widened: ReadonlySet<string> = new Set(),
): Promise<void> {
  const [last] = await rows<{ seq: string }>(
    client,
    `SELECT max(seq) AS seq FROM ${qualified(context, SCHEMAS_TABLE)}`,
  );
  const body = JSON.stringify({
    // a missing value matters only when the column is added; it is not kept
    columns: schema.columns.map(({ missingValue: _, ...column }) => column),
    key: schema.key,
    replicaIdentity: schema.replicaIdentity,
    relationOid: schema.relationOid,
    widened: [...widened],
  });
  await client.insert({
    table: qualified(context, SCHEMAS_TABLE),
    format: 'JSONEachRow',
    values: [
      {
        view,
        table_schema: schema.table.schema,
        table_name: schema.table.name,
        version: schema.version,
        seq: (BigInt(last?.seq ?? '0') + 1n).toString(),
        body,
        since_lsn: sinceLsn.toString(),
      },
    ],
  });
}

export interface RecordedSchema {
  readonly schema: TableSchema;
  /** The commit LSN from which the source had this shape (0: unknown). */
  readonly sinceLsn: bigint;
  /** The columns held as their widened String type (widen.ts). */
  readonly widened: ReadonlySet<string>;
}

/** The latest recorded shape of every table. */
export async function readSchemas(client: ClickHouseClient, context: DdlContext): Promise<RecordedSchema[]> {
  const found = await rows<{
    table_schema: string;
    table_name: string;
    version: string;
    body: string;
    since_lsn: string;
  }>(
    client,
    `SELECT table_schema, table_name, version, body, since_lsn FROM ${qualified(context, SCHEMAS_TABLE)} ORDER BY seq DESC LIMIT 1 BY view`,
  );
  return found.map((r) => {
    const body = JSON.parse(r.body) as {
      columns: ColumnSchema[];
      key: string[];
      replicaIdentity: TableSchema['replicaIdentity'];
      relationOid: number;
      widened?: string[];
    };
    const schema: TableSchema = {
      table: { schema: r.table_schema, name: r.table_name },
      version: r.version,
      columns: body.columns,
      key: body.key,
      replicaIdentity: body.replicaIdentity,
      relationOid: body.relationOid,
    };
    return { schema, sinceLsn: BigInt(r.since_lsn), widened: new Set(body.widened ?? []) };
  });
}

/** Records a truncate of `view` at `position`. */
export async function recordTruncate(
  client: ClickHouseClient,
  context: DdlContext,
  view: string,
  position: Position,
): Promise<void> {
  await client.insert({
    table: qualified(context, TRUNCATIONS_TABLE),
    format: 'JSONEachRow',
    values: [{ view, version: positionVersion(position) }],
  });
}

/** The table's truncation watermark as it was before `before` (a row version): rows at or below it are gone. */
export async function watermarkBefore(
  client: ClickHouseClient,
  context: DdlContext,
  view: string,
  before: string,
): Promise<string> {
  const [found] = await rows<{ w: string }>(
    client,
    `SELECT toString(max(version)) AS w FROM ${qualified(context, TRUNCATIONS_TABLE)} WHERE view = {view:String} AND version < {before:UInt128}`,
    { view, before },
  );
  return found?.w ?? '0';
}
