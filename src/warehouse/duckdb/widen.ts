/**
 * Widening: when a value arrives that its column's DuckDB type cannot hold exactly, the column
 * changes to a type that can, instead of replication stopping on one rare value. Two cases:
 *
 * - DECIMAL(p,s) → VARCHAR, for `NaN` in a `numeric(p,s)` column (DECIMAL has no NaN). Stored
 *   values become their exact text as Postgres prints it (`12.50`, and `0.5000` where DuckDB's
 *   cast of a DECIMAL(p,p) says `.5000`: tables.ts alterColumnType).
 * - LIST → JSON, for an array value a LIST cannot hold: more dimensions than the column's, an
 *   array with lower bounds other than 1 (the source keeps Postgres' text, `[0:1]={1,2}`), or an
 *   element its type cannot hold. Every value, stored or new, becomes the JSON form of change
 *   events (event-json.ts: nested arrays; bigint and numeric as strings, timestamps as ISO 8601,
 *   ...), an array known only by its text as a JSON string of that text.
 *
 * A column created (or added) in the batch that brought the unfit value is created widened.
 * Stored values are converted by the same code that writes new ones: a JS scalar function,
 * registered for the column's LIST type, fills a new JSON column that then replaces the old
 * one (see widenColumn for why not `ALTER ... USING`).
 * Other types are not widened (the value still stops the pipeline, naming the column).
 * Each widening is recorded in `_tributary.schema_versions` with the source's version, the
 * column, both types and the value that caused it.
 */
import {
  type DuckDBBlobValue,
  DuckDBDateValue,
  type DuckDBDecimalValue,
  type DuckDBIntervalValue,
  type DuckDBListType,
  type DuckDBListValue,
  DuckDBScalarFunction,
  type DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBTimeTZValue,
  type DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBUUIDValue,
  type DuckDBValue,
  DuckDBVarCharType,
} from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';
import { displayName, quoteIdentifier as q } from '../../core/table-ref.js';
import {
  Decimal,
  INFINITY_MICROS,
  NEG_INFINITY_MICROS,
  PgDate,
  PgInterval,
  PgJson,
  PgTime,
  PgTimestamp,
  PgTimestampTz,
  PgTimeTz,
  type Value,
} from '../../core/values.js';
import type { Db } from './db.js';
import { alterColumnType, recordVersion, type TableState } from './tables.js';
import { type UnfitValue, valueJson } from './value-writer.js';

const JSON_TYPE = DuckDBVarCharType.create('JSON');
let functions = 0;

/** The type a column of `type` widens to, or null when it does not widen. */
export function widenedType(type: DuckDBType): string | null {
  if (type.typeId === DuckDBTypeId.DECIMAL) return 'VARCHAR';
  if (type.typeId === DuckDBTypeId.LIST) return 'JSON';
  return null;
}

/**
 * Widens the column `unfit` names, in its own transaction; false when it does not widen (the
 * caller then reports `unfit` itself).
 */
export async function widenColumn(db: Db, table: TableState, unfit: UnfitValue): Promise<boolean> {
  const index = table.schema.columns.findIndex((c) => c.name === unfit.column);
  const writer = table.writers[index];
  if (!writer || writer.type.toString() !== unfit.type.toString()) return false;
  const to = widenedType(writer.type);
  if (!to) return false;
  const column = q(unfit.column);
  const fail = (error: unknown): never => {
    throw new TributaryError(
      'SINK',
      `${displayName(table.schema.table)}.${unfit.column}: widening it from ${writer.type.toString()} to ${to} failed (${(error as Error).message}) after: ${unfit.message}`,
      { cause: error, hint: unfit.hint ?? 'exclude the table, or change the column type at the source' },
    );
  };
  const note = {
    widened: { column: unfit.column, from: writer.type.toString(), to, because: unfit.message },
  };
  if (to !== 'JSON') {
    await inTransaction(db, async () => {
      await alterColumnType(db, table.sql, column, writer.type.toString(), to).catch(fail);
      await recordVersion(db, table.schema, null, note);
    });
    return true;
  }
  // LIST → JSON needs a JS function over the stored values. Not as `ALTER ... USING fn(col)`:
  // DuckDB replays its WAL by binding that expression again, before any function is registered,
  // and fails to open the file. Instead the values go to a new column by UPDATE (the WAL keeps
  // the values), then the old column is dropped and the new one takes its name (it moves to the
  // end of the table). A crash between the two transactions leaves the new column beside the old;
  // the replayed batch widens again and fills it anew.
  const temporary = q(`${unfit.column}__tributary_widened`);
  const name = `_tributary_list_json_${++functions}`;
  const listType = writer.type as DuckDBListType;
  const registered = DuckDBScalarFunction.create({
    name,
    returnType: JSON_TYPE,
    parameterTypes: [listType],
    mainFunction: (_info, input, output) => {
      const values = input.getColumnValues(0);
      for (let i = 0; i < values.length; i++) {
        const value = values[i] ?? null;
        output.setItem(i, value === null ? null : valueJson(fromDuck(value, listType)));
      }
      output.flush();
    },
  });
  db.connection.registerScalarFunction(registered);
  try {
    await inTransaction(db, async () => {
      await db.run(`ALTER TABLE ${table.sql} ADD COLUMN IF NOT EXISTS ${temporary} JSON`);
      await db.run(`UPDATE ${table.sql} SET ${temporary} = ${name}(${column})`);
    }).catch(fail);
  } finally {
    registered.destroySync();
  }
  await inTransaction(db, async () => {
    await db.run(`ALTER TABLE ${table.sql} DROP COLUMN ${column}`);
    await db.run(`ALTER TABLE ${table.sql} RENAME COLUMN ${temporary} TO ${column}`);
    await recordVersion(db, table.schema, null, note);
  }).catch(fail);
  return true;
}

async function inTransaction(db: Db, body: () => Promise<void>): Promise<void> {
  await db.run('BEGIN TRANSACTION');
  try {
    await body();
    await db.run('COMMIT');
  } catch (error) {
    try {
      await db.run('ROLLBACK');
    } catch {
      // the transaction already ended: report the first error
    }
    throw error;
  }
}

/** A stored DuckDB value back as the change-event value it was written from. */
export function fromDuck(value: DuckDBValue, type: DuckDBType): Value {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.LIST: {
      const element = (type as DuckDBListType).valueType;
      return (value as DuckDBListValue).items.map((item) => fromDuck(item, element));
    }
    case DuckDBTypeId.DECIMAL:
      return new Decimal((value as DuckDBDecimalValue).toString());
    case DuckDBTypeId.VARCHAR:
      return type.alias === 'JSON' ? new PgJson(value as string) : (value as string);
    case DuckDBTypeId.BLOB:
      return (value as DuckDBBlobValue).bytes;
    case DuckDBTypeId.UUID:
      return (value as DuckDBUUIDValue).toString();
    case DuckDBTypeId.DATE: {
      const days = (value as DuckDBDateValue).days;
      if (days === DuckDBDateValue.PosInf.days) return new PgDate(Number.POSITIVE_INFINITY);
      if (days === DuckDBDateValue.NegInf.days) return new PgDate(Number.NEGATIVE_INFINITY);
      return new PgDate(days);
    }
    case DuckDBTypeId.TIME:
      return new PgTime((value as DuckDBTimeValue).micros);
    case DuckDBTypeId.TIME_TZ: {
      const time = value as DuckDBTimeTZValue;
      return new PgTimeTz(time.micros, time.offset);
    }
    case DuckDBTypeId.TIMESTAMP:
      return new PgTimestamp(timestampMicros((value as DuckDBTimestampValue).micros));
    case DuckDBTypeId.TIMESTAMP_TZ:
      return new PgTimestampTz(timestampMicros((value as DuckDBTimestampTZValue).micros));
    case DuckDBTypeId.INTERVAL: {
      const interval = value as DuckDBIntervalValue;
      return new PgInterval(interval.months, interval.days, interval.micros);
    }
    default:
      // booleans, integers (bigint for 64-bit), floats: as the source decodes them
      return value as Value;
  }
}

function timestampMicros(micros: bigint): bigint {
  if (micros === DuckDBTimestampValue.PosInf.micros) return INFINITY_MICROS;
  if (micros === DuckDBTimestampValue.NegInf.micros) return NEG_INFINITY_MICROS;
  return micros;
}
