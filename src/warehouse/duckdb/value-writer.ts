/**
 * Turns change-event values into DuckDB values for one column of a known DuckDB type, exactly:
 * each value either lands as the same value or is refused with a TributaryError naming the
 * table, column and value (never clamped, rounded or nulled). The writer is chosen from the
 * column's actual DuckDB type, so a warehouse reopened without type info still writes right.
 */
import {
  blobValue,
  DuckDBDateValue,
  type DuckDBDecimalType,
  type DuckDBListType,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  dateValue,
  decimalValue,
  intervalValue,
  listValue,
  timestampTZValue,
  timestampValue,
  timeTZValue,
  timeValue,
  uuidValue,
} from '@duckdb/node-api';
import { TributaryError } from '../../core/errors.js';
import { valueToJson } from '../../core/event-json.js';
import { displayName, type TableRef } from '../../core/table-ref.js';
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

/** Converts one non-null value, or throws an UnfitValue naming table, column and value. */
export type ToDuck = (value: Value) => DuckDBValue;

export interface ColumnWriter {
  readonly type: DuckDBType;
  /** Converts one non-null value, or throws a TributaryError naming table, column and value. */
  readonly toDuck: ToDuck;
}

const MAX_FINITE_MICROS = 2n ** 63n - 2n;

/** A value the column's DuckDB type cannot hold exactly (the warehouse may widen the column). */
export class UnfitValue extends TributaryError {
  readonly table: TableRef;
  readonly column: string;
  /** The column's DuckDB type, which refused the value. */
  readonly type: DuckDBType;
  constructor(table: TableRef, column: string, type: DuckDBType, message: string) {
    super('SINK', message, {
      hint: 'the warehouse never clamps or rounds; change the column type or exclude the table',
    });
    this.table = table;
    this.column = column;
    this.type = type;
  }
}

function refuse(where: ColumnRef, type: DuckDBType, value: Value, why = 'does not fit'): never {
  const shown = JSON.stringify(valueToJson(value));
  throw new UnfitValue(
    where.table,
    where.column,
    type,
    `${displayName(where.table)}.${where.column}: the value ${shown} ${why} in DuckDB type ${type.toString()}`,
  );
}

/** Exact text of any value, for VARCHAR columns (unknown types, unconstrained numeric, ...). */
export function exactText(value: Value): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return valueJson(value);
  return String(value);
}

/** A value as JSON text, in the JSON form of change events (event-json.ts). */
export function valueJson(value: Value): string {
  return value instanceof PgJson ? value.text : JSON.stringify(valueToJson(value));
}

/** Which table and column a writer fills (named in errors). */
export interface ColumnRef {
  readonly table: TableRef;
  readonly column: string;
}

export function toDuckFor(type: DuckDBType, where: ColumnRef): ToDuck {
  const bad = (v: Value, why?: string): never => refuse(where, type, v, why);
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return (v) => (typeof v === 'boolean' ? v : bad(v));
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return (v) => (typeof v === 'number' ? v : bad(v));
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
      return (v) => (typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : bad(v));
    case DuckDBTypeId.DECIMAL: {
      const { width, scale } = type as DuckDBDecimalType;
      return (v) => {
        const text = v instanceof Decimal ? v.text : typeof v === 'string' ? v : bad(v);
        const scaled = scaleDecimal(text, scale);
        if (scaled === null || abs(scaled) >= 10n ** BigInt(width)) return bad(v);
        return decimalValue(scaled, width, scale);
      };
    }
    case DuckDBTypeId.VARCHAR:
      // a JSON column holds arrays widened to JSON (widen.ts) besides json/jsonb
      if (type.alias === 'JSON') return (v) => valueJson(v);
      return (v) => (v instanceof PgJson ? v.text : exactText(v));
    case DuckDBTypeId.BLOB:
      return (v) => (v instanceof Uint8Array ? blobValue(v) : bad(v));
    case DuckDBTypeId.UUID:
      return (v) =>
        typeof v === 'string' && /^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(v)
          ? uuidValue(BigInt(`0x${v.replaceAll('-', '')}`))
          : bad(v);
    case DuckDBTypeId.DATE:
      return (v) => {
        if (!(v instanceof PgDate)) return bad(v);
        if (v.days === Number.POSITIVE_INFINITY) return DuckDBDateValue.PosInf;
        if (v.days === Number.NEGATIVE_INFINITY) return DuckDBDateValue.NegInf;
        return v.days > DuckDBDateValue.Max.days || v.days < DuckDBDateValue.Min.days
          ? bad(v)
          : dateValue(v.days);
      };
    case DuckDBTypeId.TIME:
      return (v) => (v instanceof PgTime ? timeValue(v.micros) : bad(v));
    case DuckDBTypeId.TIME_TZ:
      return (v) => (v instanceof PgTimeTz ? timeTZValue(v.micros, v.offsetSeconds) : bad(v));
    case DuckDBTypeId.TIMESTAMP:
      return (v) => {
        if (!(v instanceof PgTimestamp)) return bad(v);
        const micros = timestampMicros(v.micros);
        return micros === null ? bad(v, 'is beyond the range') : timestampValue(micros);
      };
    case DuckDBTypeId.TIMESTAMP_TZ:
      return (v) => {
        if (!(v instanceof PgTimestampTz)) return bad(v);
        const micros = timestampMicros(v.micros);
        return micros === null ? bad(v, 'is beyond the range') : timestampTZValue(micros);
      };
    case DuckDBTypeId.INTERVAL:
      return (v) => (v instanceof PgInterval ? intervalValue(v.months, v.days, v.micros) : bad(v));
    case DuckDBTypeId.LIST: {
      const element = toDuckFor((type as DuckDBListType).valueType, where);
      const nested = (type as DuckDBListType).valueType.typeId === DuckDBTypeId.LIST;
      return (v) => {
        if (!Array.isArray(v)) return bad(v);
        return listValue(
          (v as readonly Value[]).map((item) => {
            if (item === null) return null;
            if (Array.isArray(item) && !nested)
              return bad(v, 'is a multi-dimensional array and does not fit');
            return element(item);
          }),
        );
      };
    }
    default:
      return (v) => bad(v, 'has no mapping');
  }
}

function timestampMicros(micros: bigint): bigint | null {
  if (micros === INFINITY_MICROS) return DuckDBTimestampValue.PosInf.micros;
  if (micros === NEG_INFINITY_MICROS) return DuckDBTimestampValue.NegInf.micros;
  if (micros > MAX_FINITE_MICROS || micros < DuckDBTimestampTZValue.Min.micros) return null;
  return micros;
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

/** `-12.34` at scale 4 → -123400n; null when the text has more fraction digits or is not finite. */
export function scaleDecimal(text: string, scale: number): bigint | null {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return null;
  const fraction = match[3] ?? '';
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > scale) return null;
  const digits = BigInt(`${match[2]}${fraction.slice(0, scale).padEnd(scale, '0')}`);
  return match[1] ? -digits : digits;
}

/** How one column's values become DuckDB values: its actual type and the exact conversion. */
export function columnWriter(type: DuckDBType, where: ColumnRef): ColumnWriter {
  const toDuck = toDuckFor(type, where);
  if (type.typeId !== DuckDBTypeId.LIST) return { type, toDuck };
  // an element refused deep inside a list makes the column's type the unfit one
  return {
    type,
    toDuck: (v) => {
      try {
        return toDuck(v);
      } catch (error) {
        if (error instanceof UnfitValue && error.type !== type)
          throw new UnfitValue(error.table, error.column, type, error.message);
        throw error;
      }
    },
  };
}
