/**
 * A first copy's chunk straight from Postgres' CSV file into a ClickHouse storage table
 * (`SnapshotStore.applySnapshotFile`): `INSERT INTO <storage> SELECT <conversions> FROM
 * input('<structure>') FORMAT CSV`, the file's bytes sent as the request's body through
 * `@clickhouse/client` to a server over HTTP (NOT RUN against one here: no server on the test
 * machine); on chdb the same SELECT reads `file('<path>', 'CSV', …)` (`CsvSource`). A column is read this
 * way only where the value ClickHouse stores is provably the one the row path stores (the
 * stream's decoder, then type-mapping.ts's `encode`); a table with any other column is copied as
 * rows (`csvReadable` is false). The arguments, for the text Postgres prints under Tributary's
 * session settings (DateStyle ISO, TimeZone UTC, extra_float_digits 3, bytea_output hex) into
 * the column's mapped type (never a widened one):
 *
 * - int2 / int4 / int8 / oid → Int16 / Int32 / Int64 / UInt32: `-?[0-9]+` within the type, which
 *   ClickHouse's CSV reader parses to the integer itself; anything else fails the insert.
 * - bool → Bool: `t` / `f`, which ClickHouse reads as true / false.
 * - float4 / float8 → Float32 / Float64: the shortest text that reads back as the same float (or
 *   NaN, Infinity, -Infinity), parsed correctly rounded with `precise_float_parsing` (-0 kept).
 * - numeric(p,s) → its Decimal (type-mapping.ts `decimalFor`): a stored value went through the
 *   typmod, so Postgres prints at most p−s whole digits and exactly s fraction digits (no
 *   exponent, no '+'): ClickHouse never has to round or truncate. NaN does not parse and fails the
 *   insert (the row path then widens the column).
 * - uuid → UUID: the canonical lowercase text, parsed to the same UUID.
 * - date → Date32, timestamp / timestamptz → DateTime64(6, 'UTC'): ClickHouse clamps a date
 *   outside its range silently, so the text is checked first (`checks`): 4-digit years 1900–2299
 *   (what type-mapping.ts admits; `infinity`, BC dates and 5-digit years fail the insert), the
 *   timestamp `YYYY-MM-DD HH:MM:SS[.f{1,6}]` with `+00` for timestamptz (TimeZone UTC), then
 *   converted by `toDate32` / `toDateTime64(…, 6, 'UTC')` (both ends of the range, before 1970
 *   and fractions of a second checked against the row path in test/clickhouse/first-copy-from-csv.test.ts).
 * - time → String `HH:MM:SS.ffffff`: Postgres' `HH:MM:SS[.f{1,6}]` with the fraction padded.
 * - Types the stream's decoder keeps as the text (text, varchar, bpchar, name, json, jsonb,
 *   inet, money, ranges, … every builtin decoded by `decodeText`/`decodeJson`; enums, composites
 *   and extension types), numeric without a fitting Decimal, and bytea (Postgres' `\x` +
 *   lowercase hex, what the row path writes) → String as it is.
 * - A domain as its base type (type-mapping.ts maps it so, without the base's modifier).
 *
 * CSV itself: Postgres writes NULL as an unquoted empty field and the empty string as `""`, and
 * quotes any field holding a comma, quote or line break (not one holding `\N`, nor spaces at
 * either end). ClickHouse reads it so with the settings below: the null representation empty
 * (an unquoted empty field is NULL, `""` the empty string, and `\N` is text — with its default
 * `\N` an unquoted `\N` would read as NULL), no trimming of spaces, no single quotes, no header.
 *
 * Every check is one `throwIf` in the WHERE clause, and the settings make the chunk one block
 * (one part): a chunk that fails writes nothing, and the caller reads it as rows.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { ColumnSchema } from '../../core/change-event.js';
import { TributaryError } from '../../core/errors.js';
import { BUILTIN_TYPES } from '../../source/postgres/values/builtin-types.js';
import { decodeJson, decodeText } from '../../source/postgres/values/scalars.js';
import { NUMERIC_OID } from '../duckdb/type-mapping.js';
import { quoteName as q } from './connect.js';
import { DELETED_COLUMN, LSN_COLUMN, VERSION_COLUMN } from './layout.js';
import { type ChTable, COPY_COLUMN, COPY_SEQ_COLUMN, columnType, quoteString } from './tables.js';
import type { TypeLookup } from './type-mapping.js';

/** How one CSV field becomes the column's value (see the header). */
interface CsvColumn {
  /** The mapped type the column must have (type-mapping.ts `sql`) for this to be exact. */
  readonly stored: string;
  /** The type in `input()`'s structure (Nullable: an unquoted empty field is NULL). */
  readonly input: string;
  /** The stored value from the field `x` as read. */
  readonly value: (x: string) => string;
  /** True where the (non-NULL) field `x` converts exactly; absent when reading it is the check. */
  readonly check?: (x: string) => string;
}

const YEAR = '(19[0-9][0-9]|2[0-2][0-9][0-9])';
const CLOCK = '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]([.][0-9]{1,6})?';
const DATETIME = "DateTime64(6, 'UTC')";

const typed = (type: string): CsvColumn => ({ stored: type, input: `Nullable(${type})`, value: (x) => x });
const asText = typed('String');
const matching = (pattern: string) => (x: string) => `match(${x}, ${quoteString(pattern)})`;

const SCALARS: ReadonlyMap<number, CsvColumn> = new Map([
  [21, typed('Int16')],
  [23, typed('Int32')],
  [20, typed('Int64')],
  [26, typed('UInt32')],
  [16, typed('Bool')],
  [700, typed('Float32')],
  [701, typed('Float64')],
  [2950, typed('UUID')],
  [17, asText],
  [
    1082,
    {
      stored: 'Date32',
      input: 'Nullable(String)',
      value: (x) => `if(isNull(${x}), NULL, toDate32(coalesce(${x}, '1970-01-01')))`,
      check: matching(`^${YEAR}-[0-9][0-9]-[0-9][0-9]$`),
    },
  ],
  [1114, timestamp(false)],
  [1184, timestamp(true)],
  [
    1083,
    {
      stored: 'String',
      input: 'Nullable(String)',
      value: (x) => `if(length(${x}) = 8, concat(${x}, '.000000'), rightPad(${x}, 15, '0'))`,
      check: matching(`^${CLOCK}$`),
    },
  ],
]);

function timestamp(zoned: boolean): CsvColumn {
  const suffix = zoned ? '[+]00' : '';
  const wall = (x: string) => (zoned ? `substring(${x}, 1, length(${x}) - 3)` : x);
  return {
    stored: DATETIME,
    input: 'Nullable(String)',
    value: (x) =>
      `if(isNull(${x}), NULL, toDateTime64(coalesce(${wall(x)}, '1970-01-01 00:00:00'), 6, 'UTC'))`,
    check: matching(`^${YEAR}-[0-9][0-9]-[0-9][0-9] ${CLOCK}${suffix}$`),
  };
}

/**
 * How `column` of `table` is read from CSV, or null when only the row path is exact for it
 * (a widened column, an array, a type whose decoder does more than keep the text, a type the
 * lookup does not know).
 */
function columnPlan(table: ChTable, column: ColumnSchema, lookup: TypeLookup | undefined): CsvColumn | null {
  const held = table.types.get(column.name);
  if (!held || table.widened.has(column.name)) return null;
  const oid = readAs(column.typeOid, lookup);
  if (oid === null) return null;
  let plan: CsvColumn | null = null;
  if (oid === 'text') plan = asText;
  else if (oid === NUMERIC_OID) plan = typed(held.sql);
  else {
    plan = SCALARS.get(oid) ?? null;
    const builtin = BUILTIN_TYPES.get(oid);
    if (
      !plan &&
      builtin &&
      builtin.elementOid === undefined &&
      (builtin.decoder === decodeText || builtin.decoder === decodeJson)
    )
      plan = asText;
  }
  return plan && plan.stored === held.sql ? plan : null;
}

/**
 * The builtin type whose text a column of type `oid` holds: itself, or a domain's base
 * (recursively; the stream decodes a domain as its base and type-mapping.ts maps it so);
 * `text` for the other user-defined types (enums, composites, ranges, extension types: decoded
 * and stored as their exact text); null for arrays and types the lookup does not know.
 */
function readAs(oid: number, lookup: TypeLookup | undefined): number | 'text' | null {
  let current = oid;
  for (let depth = 0; depth <= 32; depth++) {
    if (BUILTIN_TYPES.has(current)) return current;
    const info = lookup?.(current);
    if (!info || info.kind === 'array') return null;
    if (info.kind !== 'domain') return 'text';
    if (!info.baseTypeOid) return null;
    current = info.baseTypeOid;
  }
  return null;
}

/** Whether every column of `table` is read from CSV exactly (see the header). */
export function csvReadable(table: ChTable, lookup: TypeLookup | undefined): boolean {
  return table.schema.columns.every((c) => columnPlan(table, c, lookup) !== null);
}

/**
 * The INSERT that loads a chunk's CSV into `storage` (qualified) at `version` (`lsn` = its high
 * half); for a table without a key, copy identities `version`, `copyBase | row number`.
 */
export function csvInsertSql(
  table: ChTable,
  storage: string,
  version: string,
  lsn: string,
  copyBase: bigint,
  from: CsvSource,
  lookup: TypeLookup | undefined,
): string {
  const columns = table.schema.columns;
  const plans = columns.map((c) => {
    const plan = columnPlan(table, c, lookup);
    if (!plan) throw new Error(`${table.view}.${c.name} is not read from CSV`);
    return plan;
  });
  const field = (i: number) => `c${i}`;
  const structure = plans.map((p, i) => `${field(i)} ${p.input}`).join(', ');
  const targets = [...columns.map((c) => q(c.name)), q(LSN_COLUMN), q(VERSION_COLUMN), q(DELETED_COLUMN)];
  const values = [
    ...plans.map((p, i) => `CAST(${p.value(field(i))} AS ${columnType(table, columns[i] as ColumnSchema)})`),
    `toUInt64('${lsn}')`,
    `toUInt128('${version}')`,
    'toUInt8(0)',
  ];
  if (table.keyless) {
    targets.push(q(COPY_COLUMN), q(COPY_SEQ_COLUMN));
    values.push(`toUInt128('${version}')`, `bitOr(toUInt64('${copyBase}'), rowNumberInAllBlocks())`);
  }
  const checks = plans.flatMap((p, i) => (p.check ? [`(isNull(${field(i)}) OR ${p.check(field(i))})`] : []));
  const where =
    checks.length === 0
      ? ''
      : ` WHERE throwIf(NOT coalesce(${checks.join(' AND ')}, 0), 'a value outside its ClickHouse type') = 0`;
  const source =
    from.kind === 'file'
      ? `file(${quoteString(from.path)}, 'CSV', ${quoteString(structure)})`
      : `input(${quoteString(structure)})`;
  const insert = `INSERT INTO ${storage} (${targets.join(', ')}) SELECT ${values.join(', ')} FROM ${source}${where}`;
  return from.kind === 'file' ? insert : `${insert} FORMAT CSV`;
}

/**
 * Where the INSERT reads the CSV: the request's body (`input()`, a server over HTTP), or the file
 * itself (`file()`, chdb: the engine runs in this process and reads the same file system —
 * and its connection does not feed a request's body to `input()`: such an insert reads no row).
 */
export type CsvSource = { readonly kind: 'body' } | { readonly kind: 'file'; readonly path: string };

/** Settings of that INSERT: Postgres' CSV read as written (see the header), the chunk as one block. */
export function csvInsertSettings(rows: number, token: string): ClickHouseSettings {
  const block = String(Math.max(rows + 1, 1_048_576));
  return {
    input_format_csv_trim_whitespaces: 0,
    input_format_csv_empty_as_default: 1,
    format_csv_allow_single_quotes: 0,
    format_csv_allow_double_quotes: 1,
    format_csv_null_representation: '',
    input_format_csv_detect_header: 0,
    input_format_csv_skip_first_lines: '0',
    input_format_csv_allow_variable_number_of_columns: 0,
    input_format_csv_skip_trailing_empty_lines: 0,
    input_format_allow_errors_num: '0',
    input_format_allow_errors_ratio: 0,
    precise_float_parsing: 1,
    cast_string_to_date_time_mode: 'basic',
    insert_null_as_default: 0,
    max_insert_block_size: block,
    min_insert_block_size_rows: block,
    min_insert_block_size_bytes: '0',
    insert_deduplicate: 1,
    insert_deduplication_token: token,
  };
}

/** A chunk's file to load: its path, Postgres' row count, the version and dedup token of its rows. */
export interface CsvChunk {
  readonly path: string;
  readonly rows: number;
  readonly version: string;
  readonly token: string;
}

/**
 * Loads `chunk` into `table`'s storage (`target`, qualified). Throws a `SINK` error, having
 * written nothing, when the file cannot be loaded exactly: a column not read from CSV, or a value
 * the insert refuses (the caller then reads the chunk as rows).
 */
export async function loadCsvChunk(
  client: ClickHouseClient,
  table: ChTable,
  target: string,
  chunk: CsvChunk,
  where: { readonly inProcess: boolean; readonly lookup: TypeLookup | undefined },
): Promise<void> {
  const { inProcess, lookup } = where;
  if (!csvReadable(table, lookup))
    throw new TributaryError('SINK', `${table.view}: a column is not read from CSV exactly`);
  if (chunk.rows === 0) return;
  const lsn = (BigInt(chunk.version) >> 64n).toString();
  // copies of a multiset made by one chunk: its token picks their sequence numbers (as snapshotRows does)
  const base = BigInt(`0x${createHash('sha256').update(chunk.token).digest('hex').slice(0, 8)}`) << 32n;
  const settings = csvInsertSettings(chunk.rows, chunk.token);
  try {
    if (inProcess) {
      // file() reads `*`, `?` and `{…}` in a path as a glob, with no escape: such a path goes as rows
      if (/[*?{}]/.test(chunk.path))
        throw new TributaryError('SINK', `${table.view}: the chunk's path holds a glob character`);
      const from: CsvSource = { kind: 'file', path: chunk.path };
      await client.command({
        query: csvInsertSql(table, target, chunk.version, lsn, base, from, lookup),
        clickhouse_settings: settings,
      });
    } else {
      const result = await client.exec({
        query: csvInsertSql(table, target, chunk.version, lsn, base, { kind: 'body' }, lookup),
        values: createReadStream(chunk.path),
        clickhouse_settings: settings,
      });
      result.stream.resume();
      await finished(result.stream);
    }
  } catch (error) {
    // the server refused the insert (a check, a parse error): nothing of the chunk was written.
    // Anything else (the connection lost, a timeout) may have stored it: not a reason to read
    // the chunk again as rows — a multiset would get its copies twice — so it is thrown as it is.
    if (!refusedByServer(error)) throw error;
    throw new TributaryError(
      'SINK',
      `${table.view}: ClickHouse did not load the chunk's CSV: ${message(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** A ClickHouse exception (a numeric error code), from a server or chdb, not a transport failure. */
function refusedByServer(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && /^[0-9]+$/.test(code);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
