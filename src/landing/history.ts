/**
 * History: for every keyed table, a view `_tributary_history."<name>"` with one row per version
 * of each source row, derived from its raw table (raw-zone.ts) alone, so it is rebuilt from the
 * raw zone whenever it is read and cannot drift from it.
 *
 * - A version is every insert, update and snapshot row of a key, in position order (every
 *   intermediate version: each change is in the raw zone, not what a poll saw); a delete is a
 *   delete marker (`is_deleted`). A truncate ends every key alive then with a marker of its own,
 *   and an update that moved a row to a new key ends the old key with a marker.
 * - `valid_from` is the version's commit time (event time); `valid_to` the next version's (or
 *   marker's) `valid_from`, null for the last: [from, to), contiguous and never overlapping per
 *   key. Commit times follow commit order on one server; where a clock stepped back (or a
 *   snapshot's time, taken just before its slot, meets a change that committed meanwhile),
 *   `valid_from` is the latest commit time so far for the key, so intervals never invert.
 * - `is_current`: the last version of a key that is not deleted; at most one per key.
 * - Unchanged TOASTed columns (`_tributary_unchanged`) carry the value of the key's previous
 *   version that had one.
 * - Positions: `_tributary_position` (where the version starts) and `_tributary_valid_to_position`
 *   (where the next begins), both `commit LSN << 64 | ordinal + 2` as HUGEINT, for as-of by position.
 * - The four history columns are named `valid_from`, `valid_to`, `is_current`, `is_deleted`, and
 *   again with a `_tributary_` prefix (what `tributary_as_of` reads); a table with a column of
 *   one of those names has only the prefixed ones (and `tributary_as_of` leaves that column out).
 *   Event time is `valid_from` (= `_tributary_commit_time` of the change); ingestion time is
 *   `_tributary_ingested_at`.
 *
 * A table without a primary key has no row identity to give versions to: it has no history view
 * (its raw table holds its changes, and replay rebuilds it).
 */
import type { ColumnSchema } from '../core/change-event.js';
import { quoteIdentifier as q } from '../core/table-ref.js';
import { quoteLiteral } from '../source/postgres/setup/sql-text.js';
import type { Db } from '../warehouse/duckdb/db.js';
import type { TableState } from '../warehouse/duckdb/tables.js';
import type { RawTable } from './raw-zone.js';

export const HISTORY_SCHEMA = '_tributary_history';

const PLAIN = ['valid_from', 'valid_to', 'is_current', 'is_deleted'] as const;

/** Whether the history view of a table with these columns has the four plainly named columns. */
export function hasPlainHistoryNames(columns: readonly string[]): boolean {
  return !PLAIN.some((name) => columns.includes(name));
}

export async function bootstrapHistory(db: Db): Promise<void> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${q(HISTORY_SCHEMA)}`);
  // the table as of a time or a position, in SQL: SELECT * FROM tributary_as_of('orders', TIMESTAMPTZ '…')
  const columns = `columns(c -> NOT starts_with(c, '_tributary_') AND c NOT IN (${PLAIN.map((n) => `'${n}'`).join(', ')}))`;
  const from = `query_table('${HISTORY_SCHEMA}."' || replace(name, '"', '""') || '"')`;
  await db.run(
    `CREATE OR REPLACE MACRO main.tributary_as_of(name, ts) AS TABLE SELECT ${columns} FROM ${from}
       WHERE _tributary_valid_from <= ts AND (_tributary_valid_to IS NULL OR _tributary_valid_to > ts) AND NOT _tributary_is_deleted`,
  );
  await db.run(
    `CREATE OR REPLACE MACRO main.tributary_as_of_position(name, pos) AS TABLE SELECT ${columns} FROM ${from}
       WHERE _tributary_position <= pos AND (_tributary_valid_to_position IS NULL OR _tributary_valid_to_position > pos)
         AND NOT _tributary_is_deleted`,
  );
  // `16/B374D848` or `16/B374D848#12` → the position's HUGEINT (`#ordinal` absent: after every change of that LSN)
  await db.run(
    `CREATE OR REPLACE MACRO main.tributary_position(text) AS
       (((('0x' || split_part(split_part(text, '#', 1), '/', 1))::UBIGINT << 32)
         | ('0x' || split_part(split_part(text, '#', 1), '/', 2))::UBIGINT)::HUGEINT << 64)
       + CASE WHEN contains(text, '#') THEN split_part(text, '#', 2)::BIGINT + 2 ELSE (1::HUGEINT << 63) END`,
  );
}

/** Types whose values are never TOASTed (fixed length): no carrying forward needed. */
const FIXED_LENGTH = new Set([
  16, 18, 20, 21, 23, 26, 700, 701, 774, 790, 829, 1082, 1083, 1114, 1184, 1186, 1266, 2950, 3220,
]);

/** Creates or replaces the history view of `table` over `raw`; none for a table without a key. */
export async function createHistoryView(db: Db, raw: RawTable, table: TableState): Promise<void> {
  const view = `${q(HISTORY_SCHEMA)}.${q(raw.name)}`;
  if (!table.hasPrimaryKey) {
    await db.run(`DROP VIEW IF EXISTS ${view}`);
    return;
  }
  await db.run(`CREATE OR REPLACE VIEW ${view} AS ${historySql(raw, table)}`);
}

/**
 * The expression of a column's value in every raw row: a column kept aside when retyped joins
 * in, and a row written before the column was added with a constant DEFAULT has that default.
 */
export function columnValue(raw: RawTable, name: string, type: string): string {
  const aside = raw.columns.filter(
    (c) => c.name.startsWith(`${name}@`) && /^\d+$/.test(c.name.slice(name.length + 1)),
  );
  const parts = [q(name), ...aside.map((c) => `TRY_CAST(${q(c.name)} AS ${type})`)];
  const fill = raw.defaults.find((d) => d.column === name);
  if (fill) {
    parts.push(
      `CASE WHEN _tributary_schema_version IN (${fill.versions.map(quoteLiteral).join(', ')}) THEN ${fromJsonImage(quoteLiteral(fill.json), name, type)} END`,
    );
  }
  return parts.length === 1 ? q(name) : `coalesce(${parts.join(', ')})`;
}

/**
 * A column's value from a row image kept as JSON (`_tributary_before`, event-json.ts's form):
 * bytea as `\\x` hex, arrays as JSON arrays, json as its text, everything else as text DuckDB casts.
 */
export function fromJsonImage(expr: string, key: string, type: string): string {
  const path = `'${`$."${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`.replaceAll("'", "''")}'`;
  const text = `json_extract_string(${expr}, ${path})`;
  if (type === 'BLOB') return `from_hex(substr(${text}, 3))`;
  if (type.endsWith(']')) return `CAST(json_extract(${expr}, ${path}) AS ${type})`;
  return `CAST(${text} AS ${type})`;
}

export function historySql(raw: RawTable, table: TableState): string {
  const kept = raw.columns.filter(
    (c) => !/@\d+$/.test(c.name) || !raw.columns.some((o) => c.name.startsWith(`${o.name}@`)),
  );
  const names = kept.map((c) => c.name);
  const type = new Map(kept.map((c) => [c.name, c.type]));
  const schemaOf = new Map<string, ColumnSchema>(table.schema.columns.map((c) => [c.name, c]));
  const keys = table.keyColumns;
  const keySet = new Set(keys);
  const plain = hasPlainHistoryNames(names);
  const partition = keys.map(q).join(', ');
  const meta = [
    '_tributary_op',
    '_tributary_lsn',
    '_tributary_ordinal',
    '_tributary_xid',
    '_tributary_commit_time',
    '_tributary_ingested_at',
    '_tributary_source',
    '_tributary_schema_version',
    '_tributary_unchanged',
    '_tributary_batch',
  ].map(q);
  const p = `((_tributary_lsn::HUGEINT << 64) + (_tributary_ordinal + 2))`;
  // every row event of a key, with its position; an update that moved its key adds a delete of the old one
  const values = names.map((n) => `${columnValue(raw, n, type.get(n) as string)} AS ${q(n)}`).join(', ');
  const oldKey = keys.map(
    (k) => `${fromJsonImage('_tributary_before', k, type.get(k) as string)} AS ${q(k)}`,
  );
  const moved = `_tributary_op = 'update' AND _tributary_before IS NOT NULL
      AND row(${keys.map((k) => fromJsonImage('_tributary_before', k, type.get(k) as string)).join(', ')}) IS DISTINCT FROM row(${keys.map(q).join(', ')})`;
  const others = names.filter((n) => !keySet.has(n)).map((n) => `NULL AS ${q(n)}`);
  const events = `
    SELECT ${values}, ${meta.join(', ')}, ${p} AS _p FROM ${raw.sql} WHERE _tributary_op <> 'truncate'
    UNION ALL BY NAME
    SELECT ${[...oldKey, ...others].join(', ')}, 'delete' AS _tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_xid,
      _tributary_commit_time, _tributary_ingested_at, _tributary_source, _tributary_schema_version,
      []::VARCHAR[] AS _tributary_unchanged, _tributary_batch, ${p} AS _p
    FROM ${raw.sql} WHERE ${moved}`;
  // unchanged columns carry the key's previous value (a delete or a fresh insert stops the carry)
  const carried = names.map((n) => {
    const column = schemaOf.get(n);
    if (keySet.has(n) || (column && FIXED_LENGTH.has(column.typeOid))) return q(n);
    const own = `CASE WHEN NOT list_contains(_tributary_unchanged, ${quoteLiteral(n)}) THEN {'v': ${q(n)}} END`;
    return `CASE WHEN list_contains(_tributary_unchanged, ${quoteLiteral(n)})
      THEN (last_value(${own} IGNORE NULLS) OVER (PARTITION BY ${partition} ORDER BY _p ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)).v
      ELSE ${q(n)} END AS ${q(n)}`;
  });
  const all = names.map(q).join(', ');
  return `
WITH events AS (${events}),
filled AS (SELECT ${carried.join(', ')}, ${meta.join(', ')}, _p FROM events),
truncates AS (SELECT ${p} AS _p, _tributary_lsn, _tributary_ordinal, _tributary_xid, _tributary_commit_time,
    _tributary_ingested_at, _tributary_source, _tributary_schema_version, _tributary_batch
  FROM ${raw.sql} WHERE _tributary_op = 'truncate'),
ranked AS (SELECT f.*, lead(f._p) OVER (PARTITION BY ${keys.map((k) => `f.${q(k)}`).join(', ')} ORDER BY f._p) AS _next,
    t._p AS _t_p, t._tributary_lsn AS _t_lsn, t._tributary_ordinal AS _t_ordinal, t._tributary_xid AS _t_xid,
    t._tributary_commit_time AS _t_time, t._tributary_ingested_at AS _t_ingested, t._tributary_source AS _t_source,
    t._tributary_schema_version AS _t_version, t._tributary_batch AS _t_batch
  FROM filled AS f ASOF LEFT JOIN truncates AS t ON f._p < t._p),
versions AS (
  SELECT ${all}, ${meta.join(', ')}, _p FROM filled
  UNION ALL
  SELECT ${names.map((n) => (keySet.has(n) ? q(n) : `NULL AS ${q(n)}`)).join(', ')}, 'truncate', _t_lsn, _t_ordinal, _t_xid,
    _t_time, _t_ingested, _t_source, _t_version, []::VARCHAR[], _t_batch, _t_p
  FROM ranked WHERE _tributary_op NOT IN ('delete') AND _t_p IS NOT NULL AND (_next IS NULL OR _next > _t_p)),
timed AS (SELECT *, max(_tributary_commit_time) OVER (PARTITION BY ${partition} ORDER BY _p ROWS UNBOUNDED PRECEDING) AS _from
  FROM versions)
SELECT ${all},${
    plain
      ? `
  _from AS valid_from,
  lead(_from) OVER w AS valid_to,
  lead(_p) OVER w IS NULL AND _tributary_op NOT IN ('delete', 'truncate') AS is_current,
  _tributary_op IN ('delete', 'truncate') AS is_deleted,`
      : ''
  }
  ${meta.filter((m) => m !== '"_tributary_batch"' && m !== '"_tributary_unchanged"').join(', ')},
  _tributary_unchanged,
  _p AS _tributary_position,
  lead(_p) OVER w AS _tributary_valid_to_position,
  _from AS _tributary_valid_from,
  lead(_from) OVER w AS _tributary_valid_to,
  lead(_p) OVER w IS NULL AND _tributary_op NOT IN ('delete', 'truncate') AS _tributary_is_current,
  _tributary_op IN ('delete', 'truncate') AS _tributary_is_deleted
FROM timed
WINDOW w AS (PARTITION BY ${partition} ORDER BY _p)`;
}
