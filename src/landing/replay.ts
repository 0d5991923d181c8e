/**
 * Replay: current-state tables rebuilt from the raw zone alone, to its end or as of a time or a
 * position. Replayed to the end, a table equals the live one (the same rows, each with the
 * `_tributary_lsn` of the change that last wrote it): the live tables are the fold of exactly
 * the changes the raw zone holds, in the same order.
 *
 * - A keyed table is its history's versions alive at that point (history.ts): the same SQL as
 *   time travel, so replay and `--as-of` cannot disagree.
 * - A table without a primary key is a multiset: after its latest truncate, every inserted,
 *   updated-to and snapshot image counts one copy, every deleted and updated-from image (the
 *   old row REPLICA IDENTITY FULL sends) takes one away.
 */
import { TributaryError } from '../core/errors.js';
import { quoteIdentifier as q } from '../core/table-ref.js';
import { LSN_COLUMN, type TableState } from '../warehouse/duckdb/tables.js';
import { columnValue, fromJsonImage, HISTORY_SCHEMA } from './history.js';
import type { RawTable } from './raw-zone.js';

/** Where a replay stops: the end of the raw zone, a time, or a position. */
export type ReplayPoint =
  | { readonly kind: 'end' }
  | { readonly kind: 'time'; readonly time: string }
  | { readonly kind: 'position'; readonly position: string };

const TIME = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?\s?(Z|[+-]\d{2}(:?\d{2})?)?$/i;
const LSN = /^[0-9a-f]{1,8}\/[0-9a-f]{1,8}(#\d{1,15})?$/i;

/**
 * Reads `--until`/`--as-of`: an LSN (`16/B374D848`, after every change of it) or a position
 * (`16/B374D848#3`), or a time (ISO 8601; UTC unless it names a zone).
 */
export function parseReplayPoint(text: string): ReplayPoint {
  const trimmed = text.trim();
  if (LSN.test(trimmed)) return { kind: 'position', position: trimmed };
  // JavaScript's parser wants a zone's minutes: it checks the date is real, DuckDB reads the text
  const forJs = trimmed
    .replace(' ', 'T')
    .replace(/([+-]\d{2})$/, '$1:00')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  if (TIME.test(trimmed) && !Number.isNaN(Date.parse(forJs))) return { kind: 'time', time: trimmed };
  throw new TributaryError('USAGE', `not a time or a position: ${JSON.stringify(text)}`, {
    hint: 'give a time such as 2026-11-03T12:00:00Z, an LSN such as 16/B374D848, or a position such as 16/B374D848#3',
  });
}

/** The point as a SQL literal (its text was checked by parseReplayPoint: no quote can be in it). */
function literal(point: ReplayPoint, catalog: string): string {
  if (point.kind === 'time') return `'${point.time}'::TIMESTAMPTZ`;
  if (point.kind === 'position') return `${catalog}.main.tributary_position('${point.position}')`;
  return 'NULL';
}

/** A raw row's position as one sortable HUGEINT: `commit LSN << 64 | ordinal + 2`. */
export const POSITION = `((_tributary_lsn::HUGEINT << 64) + (_tributary_ordinal + 2))`;

/**
 * The SELECT of `table`'s rows at `point`, from its raw table in `catalog`: its columns (NULL for
 * one the raw table has not got yet: no change since it was added), then `_tributary_lsn`.
 */
export function replaySql(raw: RawTable, table: TableState, point: ReplayPoint, catalog: string): string {
  const stored = new Set(raw.columns.map((c) => c.name));
  const columns = table.schema.columns.map((c) => q(c.name));
  const types = new Map(raw.columns.map((c) => [c.name, c.type]));
  const values = table.schema.columns.map((c) => (stored.has(c.name) ? q(c.name) : `NULL AS ${q(c.name)}`));
  // straight from the raw table: a column kept aside when retyped, or added with a default, joins in
  const rawValues = table.schema.columns.map((c) =>
    stored.has(c.name)
      ? `${columnValue(raw, c.name, types.get(c.name) as string)} AS ${q(c.name)}`
      : `NULL AS ${q(c.name)}`,
  );
  const at = literal(point, catalog);
  const rawSql = `${catalog}.${raw.sql}`;
  if (table.hasPrimaryKey) {
    const history = `${catalog}.${q(HISTORY_SCHEMA)}.${q(raw.name)}`;
    const alive =
      point.kind === 'end'
        ? '_tributary_is_current'
        : point.kind === 'time'
          ? `_tributary_valid_from <= ${at} AND (_tributary_valid_to IS NULL OR _tributary_valid_to > ${at}) AND NOT _tributary_is_deleted`
          : `_tributary_position <= ${at} AND (_tributary_valid_to_position IS NULL OR _tributary_valid_to_position > ${at}) AND NOT _tributary_is_deleted`;
    return `SELECT ${values.join(', ')}, _tributary_lsn AS ${q(LSN_COLUMN)} FROM ${history} WHERE ${alive}`;
  }
  const upTo =
    point.kind === 'end'
      ? 'true'
      : point.kind === 'time'
        ? `_tributary_commit_time <= ${at}`
        : `${POSITION} <= ${at}`;
  const before = table.schema.columns.map((c) =>
    stored.has(c.name)
      ? `${fromJsonImage('_tributary_before', c.name, types.get(c.name) ?? 'VARCHAR')} AS ${q(c.name)}`
      : `NULL AS ${q(c.name)}`,
  );
  const list = columns.join(', ');
  return `
WITH upto AS (SELECT ${rawValues.join(', ')}, _tributary_op, _tributary_lsn, _tributary_ordinal, _tributary_before
  FROM ${rawSql} WHERE ${upTo}),
since AS (SELECT * FROM upto WHERE ${POSITION} > coalesce((SELECT max(${POSITION}) FROM upto WHERE _tributary_op = 'truncate'), -1)),
counted AS (
  SELECT ${list}, 1 AS _n, _tributary_lsn FROM since WHERE _tributary_op IN ('insert', 'update', 'snapshot')
  UNION ALL SELECT ${list}, -1, NULL FROM since WHERE _tributary_op = 'delete'
  UNION ALL SELECT ${before.join(', ')}, -1, NULL FROM since WHERE _tributary_op = 'update' AND _tributary_before IS NOT NULL),
net AS (SELECT ${list}, sum(_n) AS _n, max(_tributary_lsn) AS _lsn FROM counted GROUP BY ALL HAVING sum(_n) > 0)
SELECT ${list}, _lsn AS ${q(LSN_COLUMN)} FROM net, range(net._n::BIGINT)`;
}
