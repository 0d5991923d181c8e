/**
 * Retention of the raw zone (`--raw-retention 90d`; by default everything is kept). Pruning is
 * the one thing that removes raw rows, and it removes only what no state depends on:
 *
 * - Rows whose commit time is before the cutoff go. What the table held just before the cutoff
 *   stays, compacted: one `snapshot` row per live row (a keyed table: its version alive then,
 *   with its own position and commit time, and unchanged TOASTed columns filled in; a table
 *   without a key: each copy, at the latest position before the cutoff). So replay to the end,
 *   history and time travel from the cutoff on give what they gave before.
 * - The cutoff is recorded as the table's horizon (`_tributary.raw_tables.horizon`): time travel
 *   and replay to a time before it are refused (what was true then is no longer known).
 * - All of a table's pruning is one transaction (the caller's), with the rows it compacts.
 */
import { TributaryError } from '../core/errors.js';
import { formatPosition } from '../core/position.js';
import { displayName, quoteIdentifier as q } from '../core/table-ref.js';
import type { Db } from '../warehouse/duckdb/db.js';
import { LSN_COLUMN, type TableState } from '../warehouse/duckdb/tables.js';
import { HISTORY_SCHEMA } from './history.js';
import { forgetCopies, RAW_META, type RawBatch, type RawTable } from './raw-zone.js';
import { POSITION, replaySql } from './replay.js';

const COPY_POSITION = '((_tributary_lsn::HUGEINT << 64) + 1)';

export interface Pruned {
  readonly removed: number;
  readonly compacted: number;
}

export async function pruneRaw(
  db: Db,
  raw: RawTable,
  table: TableState,
  cutoff: Date,
  batch: RawBatch,
  catalog: string,
): Promise<Pruned> {
  const at = cutoff.toISOString();
  // everything up to the last position committed before the cutoff goes (by position, not by
  // time: a clock that stepped back must not leave a hole)
  const last = await db.rows(
    // (rows an earlier pruning compacted are pruned again only when a change outdates them)
    `SELECT max(${POSITION}), max(_tributary_commit_time)::VARCHAR,
        count(*) FILTER (WHERE _tributary_source IS DISTINCT FROM 'retention') FROM ${raw.sql}
      WHERE _tributary_commit_time < $1::TIMESTAMPTZ AND _tributary_batch < $2::UBIGINT`,
    [at, batch.batch],
  );
  const top = last[0]?.[0];
  if (top === null || top === undefined || Number(last[0]?.[2] ?? 0) === 0)
    return { removed: 0, compacted: 0 };
  const pstar = BigInt(top as bigint);
  const lsn = pstar >> 64n;
  const ordinal = Number(pstar & ((1n << 64n) - 1n)) - 2;
  const stored = new Set(raw.columns.map((c) => c.name));
  const columns = table.schema.columns.filter((c) => stored.has(c.name)).map((c) => q(c.name));
  const meta = RAW_META.map(([name]) => q(name)).join(', ');
  let compacted: number;
  if (table.hasPrimaryKey) {
    const history = `${q(HISTORY_SCHEMA)}.${q(raw.name)}`;
    const result = await db.read(
      `INSERT INTO ${raw.rows} (${meta}, ${columns.join(', ')})
        SELECT 'snapshot', _tributary_lsn, _tributary_ordinal, _tributary_xid, _tributary_valid_from, now(), 'retention',
          _tributary_schema_version, []::VARCHAR[], NULL, $2::UBIGINT, ${columns.join(', ')}
        FROM ${history}
        WHERE _tributary_position <= $1::HUGEINT
          AND (_tributary_valid_to_position IS NULL OR _tributary_valid_to_position > $1::HUGEINT)
          AND NOT _tributary_is_deleted`,
      [pstar.toString(), batch.batch],
    );
    compacted = Number(result.rowsChanged);
  } else {
    const point = { kind: 'position', position: formatPosition({ commitLsn: lsn, ordinal }) } as const;
    const result = await db.read(
      `INSERT INTO ${raw.rows} (${meta}, ${table.schema.columns.map((c) => q(c.name)).join(', ')})
        SELECT 'snapshot', $3::UBIGINT, $4::BIGINT, NULL, $5::TIMESTAMPTZ, now(), 'retention', $6, []::VARCHAR[], NULL,
          $2::UBIGINT, * EXCLUDE (${q(LSN_COLUMN)})
        FROM (${replaySql(raw, table, point, q(catalog))})`,
      [pstar.toString(), batch.batch, lsn, BigInt(ordinal), String(last[0]?.[1]), table.schema.version],
    );
    compacted = Number(result.rowsChanged);
  }
  // a copied row's position is (its LSN, -1)
  let removed = 0;
  for (const sql of [raw.rows, raw.copies]) {
    const deleted = await db.read(
      `DELETE FROM ${sql} WHERE ${sql === raw.rows ? POSITION : COPY_POSITION} <= $1::HUGEINT AND _tributary_batch < $2::UBIGINT`,
      [pstar.toString(), batch.batch],
    );
    removed += Number(deleted.rowsChanged);
  }
  await forgetCopies(db, raw);
  await db.run(
    `UPDATE _tributary.raw_tables SET horizon = greatest(coalesce(horizon, $3::TIMESTAMPTZ), $3::TIMESTAMPTZ)
      WHERE table_schema = $1 AND table_name = $2`,
    [table.schema.table.schema, table.schema.table.name, at],
  );
  return { removed, compacted };
}

/** Refuses a time before `table`'s horizon: the raw zone no longer knows what was true then. */
export async function checkHorizon(db: Db, table: TableState, time: string, catalog: string): Promise<void> {
  const rows = await db.rows(
    `SELECT horizon::VARCHAR FROM ${q(catalog)}._tributary.raw_tables
      WHERE table_schema = $1 AND table_name = $2 AND horizon > $3::TIMESTAMPTZ`,
    [table.schema.table.schema, table.schema.table.name, time],
  );
  const horizon = rows[0]?.[0];
  if (horizon !== undefined && horizon !== null) {
    throw new TributaryError(
      'USAGE',
      `${displayName(table.schema.table)}: the raw zone keeps its changes since ${String(horizon)} (raw retention); what it held at ${time} is no longer known`,
      { hint: 'ask for a later time, or keep the raw zone longer (--raw-retention)' },
    );
  }
}
