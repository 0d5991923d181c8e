/**
 * The checks that look for failing rows in one table: unique, not_null, accepted_values,
 * relationships and custom. Each counts its failing rows and keeps a sample of them (at most
 * SAMPLE_ROWS); none is a failure at zero. Names are quoted, values are bound parameters.
 *
 * - unique: rows whose (non-null) key in `columns` more than one row has.
 * - not_null: rows with a NULL in any of `columns`.
 * - accepted_values: rows whose `column` (compared as text) is not NULL and not in `values`.
 * - relationships: rows of `table` whose `columns` (all non-null) match no row of `to` on
 *   `fields`. A row synced to the warehouse less than `grace` ago (`_tributary_synced_at`) is
 *   forgiven: its parent may be on its way (another table's change, applied in a later batch).
 * - custom: `sql` is a SELECT returning the failing rows; anything but one SELECT is refused.
 */
import { DuckDBTimestampTZValue, StatementType } from '@duckdb/node-api';
import { parseDuration } from '../core/duration.js';
import { TributaryError } from '../core/errors.js';
import { displayName, quoteIdentifier as q } from '../core/table-ref.js';
import { SYNCED_COLUMN } from '../warehouse/duckdb/tables.js';
import type { CheckReader } from './check-reader.js';
import { type Outcome, SAMPLE_ROWS } from './check-result.js';
import { type CheckSpec, tableOf } from './check-spec.js';

type Spec<T extends CheckSpec['type']> = Extract<CheckSpec, { type: T }>;

/** Counts and samples the rows `select` (a SELECT of whole rows) returns. */
async function failing(
  reader: CheckReader,
  select: string,
  values: (string | DuckDBTimestampTZValue)[] = [],
): Promise<{ count: number; sample: Record<string, unknown>[] }> {
  const count = await reader.count(
    `SELECT count(*) FROM (${select}
)`,
    values,
  );
  const sample =
    count === 0
      ? []
      : await reader.rows(
          `SELECT * FROM (${select}
) LIMIT ${SAMPLE_ROWS}`,
          values,
        );
  return { count, sample };
}

function outcome(count: number, sample: Record<string, unknown>[], what: string, observed = {}): Outcome {
  return {
    level: count === 0 ? 'pass' : 'fail',
    observed: { failingRows: count, ...observed },
    message: count === 0 ? `no ${what}` : `${count} ${what}`,
    sample,
  };
}

export async function unique(reader: CheckReader, spec: Spec<'unique'>): Promise<Outcome> {
  const table = await reader.table(tableOf(spec.table));
  const key = spec.columns.map(q).join(', ');
  const { count, sample } = await failing(
    reader,
    `SELECT * EXCLUDE (_tributary_check_n) FROM (
       SELECT *, count(*) OVER (PARTITION BY ${key}) AS _tributary_check_n FROM ${table}
        WHERE ${spec.columns.map((c) => `${q(c)} IS NOT NULL`).join(' AND ')})
      WHERE _tributary_check_n > 1 ORDER BY ${key}`,
  );
  const keys =
    count === 0
      ? 0
      : await reader.count(
          `SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${spec.columns.map((c) => `${q(c)} IS NOT NULL`).join(' AND ')}
            GROUP BY ${key} HAVING count(*) > 1)`,
        );
  return outcome(count, sample, `rows share a value of (${spec.columns.join(', ')}) with another row`, {
    duplicateKeys: keys,
  });
}

export async function notNull(reader: CheckReader, spec: Spec<'not_null'>): Promise<Outcome> {
  const table = await reader.table(tableOf(spec.table));
  const { count, sample } = await failing(
    reader,
    `SELECT * FROM ${table} WHERE ${spec.columns.map((c) => `${q(c)} IS NULL`).join(' OR ')}`,
  );
  return outcome(count, sample, `rows with NULL in (${spec.columns.join(', ')})`);
}

export async function acceptedValues(reader: CheckReader, spec: Spec<'accepted_values'>): Promise<Outcome> {
  const table = await reader.table(tableOf(spec.table));
  const values = spec.values.map(String);
  const { count, sample } = await failing(
    reader,
    `SELECT * FROM ${table} WHERE ${q(spec.column)} IS NOT NULL
       AND ${q(spec.column)}::VARCHAR NOT IN (${values.map((_, i) => `$${i + 1}`).join(', ')})`,
    values,
  );
  return outcome(count, sample, `rows with a ${spec.column} not in the accepted values`);
}

export async function relationships(
  reader: CheckReader,
  spec: Spec<'relationships'>,
  now: Date,
): Promise<Outcome> {
  const child = await reader.table(tableOf(spec.table));
  const parent = await reader.table(tableOf(spec.to));
  const from = spec.columns ?? [spec.column as string];
  const to = spec.fields ?? [spec.field as string];
  const graceMs = spec.grace === undefined ? 0 : parseDuration(spec.grace);
  const orphans = `SELECT c.* FROM ${child} AS c
     WHERE ${from.map((k) => `c.${q(k)} IS NOT NULL`).join(' AND ')}
       AND NOT EXISTS (SELECT 1 FROM ${parent} AS p WHERE ${from.map((k, i) => `p.${q(to[i] as string)} = c.${q(k)}`).join(' AND ')})`;
  const cutoff = new DuckDBTimestampTZValue(BigInt(now.getTime() - graceMs) * 1000n);
  const { count, sample } = await failing(
    reader,
    `SELECT * FROM (${orphans}) WHERE ${q(SYNCED_COLUMN)} <= $1 ORDER BY ${q(SYNCED_COLUMN)}`,
    [cutoff],
  );
  const forgiven = await reader.count(`SELECT count(*) FROM (${orphans}) WHERE ${q(SYNCED_COLUMN)} > $1`, [
    cutoff,
  ]);
  const what = `rows of ${displayName(tableOf(spec.table))} refer to no row of ${displayName(tableOf(spec.to))}`;
  return {
    ...outcome(count, sample, `${what}${graceMs > 0 ? ` (older than ${spec.grace})` : ''}`, {
      forgiven,
    }),
    ...(count === 0 && forgiven > 0
      ? {
          message: `no orphans older than ${spec.grace}; ${forgiven} younger forgiven while their parent may arrive`,
        }
      : {}),
  };
}

export async function custom(reader: CheckReader, spec: Spec<'custom'>): Promise<Outcome> {
  const sql = spec.sql.trim().replace(/;+\s*$/, '');
  let type: StatementType;
  try {
    const statement = await reader.connection.prepare(sql);
    type = statement.statementType;
  } catch (error) {
    throw new TributaryError('USAGE', `the check's SQL does not prepare: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (type !== StatementType.SELECT)
    throw new TributaryError('USAGE', 'a custom check is one SELECT that returns the failing rows');
  const { count, sample } = await failing(reader, sql);
  return outcome(count, sample, 'failing rows');
}
