/**
 * Which ClickHouse type holds a Postgres column, and how a value crosses to it and back.
 *
 * PROVISIONAL (groundwork): integers, booleans, floats, numerics, text and timestamps are mapped;
 * everything else is kept as the exact text of its value in a String. The full, exact mapping
 * (Decimal up to 76 digits, DateTime64(6, 'UTC'), Date32, UUID, Array, JSON, …) and its table
 * replace this.
 *
 * `encode` gives the value as a JSONEachRow field (what `@clickhouse/client`'s `insert` sends);
 * `decode` reads it back from a JSONEachRow row as ClickHouse prints it with the session settings
 * of connect.ts (64-bit integers and decimals quoted). The mapped type never carries Nullable:
 * the caller wraps non-key columns.
 */
import type { ColumnSchema } from '../../core/change-event.js';
import { Decimal, PgTimestamp, PgTimestampTz, type Value } from '../../core/values.js';
import type { TypeInfo } from '../../source/postgres/values/type-registry.js';

export type TypeLookup = (oid: number) => TypeInfo | undefined;

export interface ClickHouseColumnType {
  /** The type as ClickHouse DDL writes it, without Nullable. */
  readonly sql: string;
  /** A non-null value as a JSONEachRow field. */
  encode(value: Value): unknown;
  /** A non-null JSONEachRow field back as the value Postgres sent. */
  decode(field: unknown): Value;
}

const NUMERIC_OID = 1700;

export function clickhouseType(column: ColumnSchema, _lookup?: TypeLookup): ClickHouseColumnType {
  switch (column.typeOid) {
    case 21:
      return plain('Int16');
    case 23:
      return plain('Int32');
    case 20:
      return { sql: 'Int64', encode: (v) => String(v), decode: (f) => BigInt(String(f)) };
    case 16:
      return plain('Bool');
    case 700:
      return plain('Float32');
    case 701:
      return plain('Float64');
    case NUMERIC_OID:
      return numeric(column.typeModifier);
    case 1114:
      return timestamp('DateTime64(6)', (m) => new PgTimestamp(m));
    case 1184:
      return timestamp("DateTime64(6, 'UTC')", (m) => new PgTimestampTz(m));
    default:
      return { sql: 'String', encode: (v) => String(v), decode: (f) => String(f) };
  }
}

function plain(sql: string): ClickHouseColumnType {
  return { sql, encode: (v) => v, decode: (f) => f as Value };
}

function numeric(typeModifier: number): ClickHouseColumnType {
  if (typeModifier >= 4) {
    const precision = ((typeModifier - 4) >> 16) & 0xffff;
    const scale = (typeModifier - 4) & 0xffff;
    if (precision <= 76 && scale <= precision) {
      return {
        sql: `Decimal(${precision}, ${scale})`,
        encode: (v) => (v as Decimal).text,
        decode: (f) => new Decimal(String(f)),
      };
    }
  }
  return { sql: 'String', encode: (v) => (v as Decimal).text, decode: (f) => new Decimal(String(f)) };
}

function timestamp(sql: string, make: (micros: bigint) => Value): ClickHouseColumnType {
  return {
    sql,
    // microseconds since 1970 as a number of seconds with six decimals
    encode: (v) => microsText((v as PgTimestamp).micros),
    decode: (f) => make(parseMicros(String(f))),
  };
}

function microsText(micros: bigint): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
}

/** `2024-01-02 03:04:05.123456` (UTC) → microseconds since 1970. */
function parseMicros(text: string): bigint {
  const m = /^(-?\d+)-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/.exec(text);
  if (!m) throw new Error(`not a DateTime64 value: ${text}`);
  const millis = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  return BigInt(millis) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
}
