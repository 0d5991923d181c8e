/**
 * Which columns DuckDB may read straight from Postgres' CSV (`COPY ... TO STDOUT (FORMAT csv)`,
 * with Tributary's session settings) and convert in SQL to exactly the value the stream's
 * decoder and value-writer.ts would give. Each conversion below is for one Postgres type AND the
 * column's actual DuckDB type (a widened column has none, unless stated), with the argument why
 * the text Postgres' output function prints can only become the same value:
 *
 * - int2 / int4 / int8 → SMALLINT / INTEGER / BIGINT: Postgres prints `-?[0-9]+`; DuckDB's cast
 *   of that text is the integer itself (out of range: NULL, the row goes to the decoders).
 * - bool → BOOLEAN: Postgres prints `t` or `f`, which DuckDB casts to true and false.
 * - text, varchar, bpchar, name → VARCHAR: the decoder keeps the text as it is; so does this.
 * - numeric with a modifier (p, s) → DECIMAL(p,s): a stored value went through the column's
 *   typmod, so Postgres prints it with exactly `s` fraction digits (`-?[0-9]+(\.[0-9]{s})?`)
 *   and DuckDB's cast never has to round; `NaN` (and ±Infinity) does not cast: the row goes to
 *   the decoders, whose writer widens the column. numeric → VARCHAR (unconstrained, p > 38, or
 *   widened): the decoder's `Decimal` is written as its text, so the text as it is.
 * - float8 → DOUBLE: with extra_float_digits = 3 Postgres prints a decimal that reads back as
 *   the same double (shortest round-trip from 12 on, 17 digits before), `NaN`, `Infinity` or
 *   `-Infinity`; DuckDB parses decimal text correctly rounded (as `Number()` does), -0 kept.
 *   (float4 is not here: the decoder rounds through a double with care for ties.)
 * - date / timestamp / timestamptz → DATE / TIMESTAMP / TIMESTAMPTZ: with DateStyle ISO and
 *   TimeZone UTC, Postgres prints `YYYY-MM-DD[ HH:MM:SS[.ffffff]][+00]` (4 or more year digits,
 *   at most 6 fraction digits), `infinity` / `-infinity` (DuckDB's infinities, as the writer
 *   maps them) or a ` BC` suffix. DuckDB reads a BC date as AD, so text ending in `BC` is never
 *   cast (the row goes to the decoders); a value beyond DuckDB's range casts to NULL (likewise).
 * - uuid → UUID: Postgres prints the canonical lowercase form; DuckDB casts it to the same UUID.
 * - json / jsonb → JSON: the decoder keeps the text Postgres printed and the writer stores it
 *   as it is; DuckDB's cast to JSON checks the text and keeps it as it is too (spaces, key order,
 *   duplicate keys, number spelling). Text DuckDB does not take as JSON does not cast.
 * - bytea → BLOB: with bytea_output = hex Postgres prints `\x` and two hex digits per byte;
 *   `from_hex` of the digits gives the same bytes the decoder gives. Anything else does not cast.
 *
 * Each conversion comes in two forms: `strict` fails the statement at the first text that does
 * not convert (cheaper: the caller tries it first, in a transaction of its own), `lenient` gives
 * NULL for it, and the caller inserts only the rows where every non-NULL text converted and
 * hands the texts of the others to the decoders (the ordinary path).
 */
import { type DuckDBDecimalType, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import type { ColumnSchema } from '../../core/change-event.js';
import { numericModifier } from './type-mapping.js';

const INTEGERS: ReadonlyMap<number, DuckDBTypeId> = new Map([
  [21, DuckDBTypeId.SMALLINT],
  [23, DuckDBTypeId.INTEGER],
  [20, DuckDBTypeId.BIGINT],
]);
const TEXT_OIDS: ReadonlySet<number> = new Set([25, 1043, 1042, 19]);
const NUMERIC_OID = 1700;
const FLOAT8_OID = 701;
const BOOL_OID = 16;
const DATE_OID = 1082;
const TIMESTAMP_OID = 1114;
const TIMESTAMPTZ_OID = 1184;
const UUID_OID = 2950;
const JSON_OIDS: ReadonlySet<number> = new Set([114, 3802]);
const BYTEA_OID = 17;

/** How one CSV field (`x`, VARCHAR) becomes the column's value in SQL; `exact` when it cannot fail. */
export interface CsvConversion {
  /** NULL where the text does not convert. */
  readonly lenient: (x: string) => string;
  /** Fails the statement where the text does not convert. */
  readonly strict: (x: string) => string;
  readonly exact: boolean;
}

const asIs: CsvConversion = { lenient: (x) => x, strict: (x) => x, exact: true };
const cast = (type: string): CsvConversion => ({
  lenient: (x) => `TRY_CAST(${x} AS ${type})`,
  strict: (x) => `CAST(${x} AS ${type})`,
  exact: false,
});
const notBc = (type: string): CsvConversion => ({
  lenient: (x) => `CASE WHEN NOT ends_with(${x}, 'BC') THEN TRY_CAST(${x} AS ${type}) END`,
  strict: (x) => `if(ends_with(${x}, 'BC'), error('a BC value'), CAST(${x} AS ${type}))`,
  exact: false,
});

const hex: CsvConversion = {
  lenient: (x) => `CASE WHEN starts_with(${x}, '\\x') THEN TRY(from_hex(${x}[3:])) END`,
  strict: (x) => `if(starts_with(${x}, '\\x') IS FALSE, error('not bytea in hex'), from_hex(${x}[3:]))`,
  exact: false,
};

/** The conversion for a column of Postgres type `column` stored as DuckDB `type`, or null. */
export function csvConversion(
  column: Pick<ColumnSchema, 'typeOid' | 'typeModifier'>,
  type: DuckDBType,
): CsvConversion | null {
  const oid = column.typeOid;
  const id = type.typeId;
  if (INTEGERS.get(oid) === id) return cast(type.toString());
  if (oid === BOOL_OID && id === DuckDBTypeId.BOOLEAN) return cast('BOOLEAN');
  if (TEXT_OIDS.has(oid) && id === DuckDBTypeId.VARCHAR && type.alias === undefined) return asIs;
  if (oid === NUMERIC_OID) {
    if (id === DuckDBTypeId.VARCHAR && type.alias === undefined) return asIs;
    const mod = numericModifier(column.typeModifier);
    const decimal = type as DuckDBDecimalType;
    if (id === DuckDBTypeId.DECIMAL && mod && mod.precision === decimal.width && mod.scale === decimal.scale)
      return cast(`DECIMAL(${decimal.width},${decimal.scale})`);
    return null;
  }
  if (oid === FLOAT8_OID && id === DuckDBTypeId.DOUBLE) return cast('DOUBLE');
  if (oid === DATE_OID && id === DuckDBTypeId.DATE) return notBc('DATE');
  if (oid === TIMESTAMP_OID && id === DuckDBTypeId.TIMESTAMP) return notBc('TIMESTAMP');
  if (oid === TIMESTAMPTZ_OID && id === DuckDBTypeId.TIMESTAMP_TZ) return notBc('TIMESTAMPTZ');
  if (oid === UUID_OID && id === DuckDBTypeId.UUID) return cast('UUID');
  if (JSON_OIDS.has(oid) && id === DuckDBTypeId.VARCHAR && type.alias === 'JSON') return cast('JSON');
  if (oid === BYTEA_OID && id === DuckDBTypeId.BLOB) return hex;
  return null;
}

/**
 * `read_csv` of a file Postgres wrote with `COPY ... TO STDOUT (FORMAT csv)`: fields `c0`, `c1`,
 * ... as VARCHAR; an unquoted empty field is NULL and a quoted one (`""`) the empty string.
 */
export function readPostgresCsv(path: string, columns: number): string {
  const names = Array.from({ length: columns }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  return `read_csv('${path.replaceAll("'", "''")}', columns = {${names}}, header = false, auto_detect = false,
    delim = ',', quote = '"', escape = '"', new_line = '\\n', allow_quoted_nulls = false, strict_mode = true,
    null_padding = false, max_line_size = 1000000000)`;
}
