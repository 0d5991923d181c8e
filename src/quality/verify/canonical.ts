/**
 * Canonical text of a column's values, computed in SQL on both sides: for each column a pair of
 * expressions, one for Postgres over the source column and one for DuckDB over the warehouse
 * column, that yield the same text for the same source value (NULL for NULL), so that `verify`
 * can hash rows on each engine and compare only aggregates.
 *
 * - `readSourceColumns(client, table)`: the table's columns (attnum order, no dropped ones) with
 *   their types resolved: a domain's base type, an array's element type, recursively.
 * - `canonicalColumn(column, warehouseType)`: the pair for one column, given the DuckDB type the
 *   warehouse holds it in (`duckdb_columns().data_type`), or `{ uncomparable: reason }`.
 * - `rowHash(columns)`: a BIGINT in [0, 2^60) per row, the same on both engines: the first 15 hex
 *   digits of the md5 of the canonical texts, each escaped (`\` → `\\`, `|` → `\|`) or `\N` for
 *   NULL, joined by `|` (hashed as UTF-8 on both sides).
 *
 * The canonical forms, by the pair of types (a pair not listed is `uncomparable`):
 *
 * | Postgres (domains as their base)        | DuckDB            | canonical text                  |
 * |-----------------------------------------|-------------------|---------------------------------|
 * | int2/int4/int8, oid/xid/cid, xid8        | any integer type  | decimal                         |
 * | float4 / float8                          | FLOAT / DOUBLE    | the double's bits: `[-]<biased exponent>:<fraction>` (float4 widened exactly), `NaN` for every NaN |
 * | numeric(p,s)                             | DECIMAL(p,s)      | Postgres' text (s fraction digits; DuckDB's `.5`/`-.5` given its `0`) |
 * | numeric; anything else Tributary keeps as text (text, varchar, bpchar with its padding, name, "char", uuid, enums, money, ranges, composites, geometry, ...) | VARCHAR | Postgres' output text |
 * | bool                                     | BOOLEAN           | `true` / `false`                |
 * | bytea                                    | BLOB              | lowercase hex                   |
 * | uuid                                     | UUID              | lowercase, hyphenated           |
 * | date                                     | DATE              | days since 1970-01-01, `±infinity` |
 * | time                                     | TIME              | microseconds since midnight     |
 * | timetz                                   | TIMETZ            | `<local microseconds>@<offset seconds east>` |
 * | timestamp / timestamptz                  | TIMESTAMP / TIMESTAMPTZ | epoch microseconds, `±infinity` |
 * | interval                                 | INTERVAL          | `<months>:<days>:<microseconds>`; Postgres 17's ±infinity as the field values Tributary stores |
 * | json / jsonb                             | JSON (or VARCHAR) | the text Postgres prints        |
 * | one-dimensional arrays                   | LIST              | `[e1,e2,...]`, each element's canonical text quoted (`"`, `\` escaped) or `N` for NULL; an array with other bounds or more dimensions gets its `array_dims` in front, so it never matches |
 *
 * Not comparable: arrays the warehouse widened to JSON (or holds as VARCHAR), whose text is the
 * JSON form of change events, which no Postgres expression reproduces; any other pairing (a
 * column whose type changed on one side only, DECIMAL scales that differ).
 *
 * Assumptions: Postgres 14 or newer (`extract` returns exact numerics); the Postgres session has
 * Tributary's session settings (session-settings.ts), because the output text of the types kept
 * as text follows them (money, ranges of timestamps, floats inside composites...); every other
 * expression is independent of session settings, and the DuckDB ones of DuckDB's settings.
 * The expressions introduce names starting with `tributary_canon_` (subquery aliases, lambda
 * parameters): a column of that name would be shadowed inside them.
 */
import type pg from 'pg';
import { quoteIdentifier, type TableRef } from '../../core/table-ref.js';
import { numericModifier } from '../../warehouse/duckdb/type-mapping.js';

/** A source type, with domains and arrays resolved. */
export interface SourceType {
  /** The declared type's OID (a domain's own OID for a domain). */
  readonly typeOid: number;
  readonly typeModifier: number;
  /** `format_type` of the declared type, for messages. */
  readonly typeText: string;
  /** A domain's base type (itself resolved); null for other types. */
  readonly base: SourceType | null;
  /** An array type's element type (the column's modifier applies to it); null for other types. */
  readonly element: SourceType | null;
}

export interface SourceColumnType extends SourceType {
  readonly name: string;
}

/** SQL expressions over the quoted column that print the same text on each side. */
export interface ColumnCanon {
  readonly name: string;
  readonly source: string;
  readonly warehouse: string;
  /** The text never holds `|` or `\` (digits, signs, `:`, ...): the row hash need not escape it. */
  readonly plain?: boolean;
}

export type CanonResult = ColumnCanon | { readonly name: string; readonly uncomparable: string };

const MAX_DEPTH = 16;

interface TypeRow {
  oid: number;
  typtype: string;
  typbasetype: number;
  typtypmod: number;
  typelem: number;
  is_array: boolean;
}

/** The table's columns, in attnum order, with their types resolved from pg_type. */
export async function readSourceColumns(client: pg.Client, table: TableRef): Promise<SourceColumnType[]> {
  const columns = await client.query<{ name: string; oid: number; typmod: number }>(
    `SELECT a.attname AS name, a.atttypid::int AS oid, a.atttypmod AS typmod
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [table.schema, table.name],
  );
  const types = new Map<number, TypeRow>();
  let wanted = new Set(columns.rows.map((c) => c.oid));
  for (let round = 0; wanted.size > 0 && round < MAX_DEPTH; round++) {
    const rows = await client.query<TypeRow>(
      // a true array: its element's array type is itself (int2vector and point have a typelem too)
      `SELECT t.oid::int AS oid, t.typtype::text AS typtype, t.typbasetype::int AS typbasetype,
              t.typtypmod, t.typelem::int AS typelem, coalesce(e.typarray = t.oid, false) AS is_array
         FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
        WHERE t.oid = ANY($1::oid[])`,
      [[...wanted]],
    );
    for (const row of rows.rows) types.set(row.oid, row);
    wanted = new Set(
      rows.rows
        .flatMap((r) => [r.typtype === 'd' ? r.typbasetype : 0, r.is_array ? r.typelem : 0])
        .filter((oid) => oid !== 0 && !types.has(oid)),
    );
  }
  const texts = new Map<string, string>();
  const typeText = async (oid: number, typmod: number): Promise<string> => {
    const key = `${oid}/${typmod}`;
    let text = texts.get(key);
    if (text === undefined) {
      const result = await client.query<{ t: string }>('SELECT format_type($1::oid, $2::int) AS t', [
        oid,
        typmod,
      ]);
      text = result.rows[0]?.t ?? String(oid);
      texts.set(key, text);
    }
    return text;
  };
  const resolve = async (oid: number, typmod: number, depth: number): Promise<SourceType> => {
    const row = types.get(oid);
    const deeper = depth < MAX_DEPTH && row !== undefined;
    return {
      typeOid: oid,
      typeModifier: typmod,
      typeText: await typeText(oid, typmod),
      base: deeper && row.typtype === 'd' ? await resolve(row.typbasetype, row.typtypmod, depth + 1) : null,
      element: deeper && row.is_array ? await resolve(row.typelem, typmod, depth + 1) : null,
    };
  };
  const result: SourceColumnType[] = [];
  for (const c of columns.rows) result.push({ name: c.name, ...(await resolve(c.oid, c.typmod, 0)) });
  return result;
}

/** The pair of canonical expressions for one column, or why there is none. */
export function canonicalColumn(source: SourceColumnType, warehouseType: string): CanonResult {
  const column = quoteIdentifier(source.name);
  const pair = canon(source, parseDuckType(warehouseType), column, column, 0);
  return typeof pair === 'string'
    ? { name: source.name, uncomparable: pair }
    : { name: source.name, source: pair.source, warehouse: pair.warehouse, plain: pair.plain === true };
}

/**
 * The row hash on each side: a BIGINT in [0, 2^60), from the md5 of the columns' canonical texts
 * (escaped, `\N` for NULL, joined by `|`).
 */
export function rowHash(columns: readonly ColumnCanon[]): { source: string; warehouse: string } {
  // a plain text cannot hold the separator or the escape: it goes in as it is (the cheaper path)
  const field = (expr: string, plain: boolean, lit: (s: string) => string) =>
    plain
      ? `coalesce(${expr}, ${lit('\\N')})`
      : `coalesce(replace(replace(${expr}, ${lit('\\')}, ${lit('\\\\')}), ${lit('|')}, ${lit('\\|')}), ${lit('\\N')})`;
  const joined = (side: 'source' | 'warehouse', lit: (s: string) => string) =>
    columns.length === 0
      ? lit('')
      : columns.map((c) => field(c[side], c.plain === true, lit)).join(` || ${lit('|')} || `);
  return {
    source: `('x' || substr(md5(convert_to(${joined('source', pgLiteral)}, 'UTF8')), 1, 15))::bit(60)::bigint`,
    warehouse: `CAST('0x' || substr(md5(${joined('warehouse', duckLiteral)}), 1, 15) AS BIGINT)`,
  };
}

// ---------------------------------------------------------------------------------------------

/** A DuckDB type as `duckdb_columns()` prints it: a name, DECIMAL's width and scale, or a LIST. */
type DuckType =
  | { readonly kind: 'scalar'; readonly name: string }
  | { readonly kind: 'decimal'; readonly width: number; readonly scale: number }
  | { readonly kind: 'list'; readonly element: DuckType };

const DUCK_ALIASES: Readonly<Record<string, string>> = {
  BOOL: 'BOOLEAN',
  INT1: 'TINYINT',
  INT2: 'SMALLINT',
  INT4: 'INTEGER',
  INT: 'INTEGER',
  INT8: 'BIGINT',
  REAL: 'FLOAT',
  FLOAT4: 'FLOAT',
  FLOAT8: 'DOUBLE',
  TEXT: 'VARCHAR',
  STRING: 'VARCHAR',
  BYTEA: 'BLOB',
  TIMETZ: 'TIME WITH TIME ZONE',
  TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE',
};

function parseDuckType(text: string): DuckType {
  const t = text.trim().toUpperCase().replace(/\s+/g, ' ');
  if (t.endsWith('[]')) return { kind: 'list', element: parseDuckType(t.slice(0, -2)) };
  const decimal = /^(?:DECIMAL|NUMERIC)\((\d+), ?(\d+)\)$/.exec(t);
  if (decimal) return { kind: 'decimal', width: Number(decimal[1]), scale: Number(decimal[2]) };
  return { kind: 'scalar', name: DUCK_ALIASES[t] ?? t };
}

function duckTypeText(type: DuckType): string {
  if (type.kind === 'list') return `${duckTypeText(type.element)}[]`;
  if (type.kind === 'decimal') return `DECIMAL(${type.width},${type.scale})`;
  return type.name;
}

const INTEGER_OIDS = new Set([20, 21, 23, 26, 28, 29, 5069]);
const DUCK_INTEGERS = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
]);
/** Types Tributary decodes to something other than their text (builtin-types.ts). */
const DECODED_OIDS = new Set([
  16, 17, 20, 21, 23, 26, 28, 29, 114, 700, 701, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 3802, 5069,
]);
const NUMERIC = 1700;
const JSON_OIDS = new Set([114, 3802]);

interface Pair {
  readonly source: string;
  readonly warehouse: string;
  /** See ColumnCanon.plain. */
  readonly plain?: boolean;
}

/** Both expressions, or the reason there is no exact pair. `p` and `d` are the value's SQL. */
function canon(type: SourceType, duck: DuckType, p: string, d: string, depth: number): Pair | string {
  let base = type;
  while (base.base) base = base.base;
  const named = `Postgres ${type.typeText} in DuckDB ${duckTypeText(duck)}`;
  if (depth > MAX_DEPTH) return `${named}: nested too deep`;
  const oid = base.typeOid;
  const scalar = duck.kind === 'scalar' ? duck.name : '';

  if (duck.kind === 'list') {
    if (!base.element) return `${named}: the warehouse holds a list of a value that is not an array`;
    return listPair(base, duck.element, p, d, depth, named);
  }
  if (base.element) {
    return scalar === 'JSON' || scalar === 'VARCHAR'
      ? `${named}: the warehouse holds the array as the JSON of change events (a column widened from a LIST, or an array type unknown when the column was made), which no Postgres expression reproduces exactly; comparing needs the same JSON printed in Postgres, or both sides reduced to one JSON normal form`
      : `${named}: an array in a scalar column`;
  }
  if (INTEGER_OIDS.has(oid) && DUCK_INTEGERS.has(scalar))
    return { source: `(${p})::text`, warehouse: text(d), plain: true };
  if ((oid === 700 || oid === 701) && (scalar === 'FLOAT' || scalar === 'DOUBLE'))
    return { ...floatPair(p, d), plain: true };
  if (oid === NUMERIC && duck.kind === 'decimal') {
    const mod = numericModifier(base.typeModifier);
    if (!mod || mod.scale !== duck.scale) {
      return `${named}: the scales differ, so Postgres' text has other trailing zeros (the warehouse has not taken the column's type change yet?)`;
    }
    // DuckDB prints DECIMAL(p,p)'s 0.5 as '.5' and -0.5 as '-.5' (with digits before the point, a 0)
    return {
      source: `(${p})::text`,
      warehouse: duck.width === duck.scale ? `regexp_replace(${text(d)}, '^(-?)\\.', '\\10.')` : text(d),
      plain: true,
    };
  }
  if (scalar === 'VARCHAR' && (oid === NUMERIC || oid === 114 || oid === 3802)) {
    return { source: `(${p})::text`, warehouse: d };
  }
  if (scalar === 'VARCHAR' && (oid === 25 || oid === 1043)) {
    // text and varchar print as themselves (the cheaper path for the commonest columns)
    return { source: `(${p})::text`, warehouse: d };
  }
  if (scalar === 'VARCHAR' && !DECODED_OIDS.has(oid)) {
    // the output function's text (bpchar keeps its padding, inet its form: not `::text`)
    return { source: `CASE WHEN num_nulls(${p}) = 0 THEN format('%s', ${p}) END`, warehouse: d };
  }
  const same = SAME_TYPE.get(oid);
  if (same && same.duck === scalar) return { ...same.pair(p, d), plain: !JSON_OIDS.has(oid) };
  return `${named}: no exact pair (not the DuckDB type Tributary gives this Postgres type; has the column's type changed on one side only?)`;
}

const SAME_TYPE: ReadonlyMap<number, { duck: string; pair: (p: string, d: string) => Pair }> = new Map([
  [16, { duck: 'BOOLEAN', pair: (p, d) => ({ source: `(${p})::text`, warehouse: text(d) }) }],
  [17, { duck: 'BLOB', pair: (p, d) => ({ source: `encode(${p}, 'hex')`, warehouse: `lower(hex(${d}))` }) }],
  [2950, { duck: 'UUID', pair: (p, d) => ({ source: `(${p})::text`, warehouse: text(d) }) }],
  [114, { duck: 'JSON', pair: (p, d) => ({ source: `(${p})::text`, warehouse: text(d) }) }],
  [3802, { duck: 'JSON', pair: (p, d) => ({ source: `(${p})::text`, warehouse: text(d) }) }],
  [
    1082,
    {
      duck: 'DATE',
      pair: (p, d) => ({
        source: `CASE WHEN isfinite(${p}) THEN ((${p}) - date '1970-01-01')::text ELSE (${p})::text END`,
        warehouse: `CASE WHEN isfinite(${d}) THEN ${text(`${d} - DATE '1970-01-01'`)} ELSE ${text(d)} END`,
      }),
    },
  ],
  [1083, { duck: 'TIME', pair: (p, d) => ({ source: pgMicros(p), warehouse: text(`epoch_us(${d})`) }) }],
  [
    1266,
    {
      duck: 'TIME WITH TIME ZONE',
      pair: (p, d) => ({
        source: `${pgMicros(`(${p})::time`)} || '@' || extract(timezone from ${p})::int::text`,
        warehouse: `${text(`epoch_us(CAST(${d} AS TIME))`)} || '@' || ${text(`extract('timezone' FROM ${d})`)}`,
      }),
    },
  ],
  [1114, { duck: 'TIMESTAMP', pair: timestampPair }],
  [1184, { duck: 'TIMESTAMP WITH TIME ZONE', pair: timestampPair }],
  [1186, { duck: 'INTERVAL', pair: intervalPair }],
]);

function text(d: string): string {
  return `CAST(${d} AS VARCHAR)`;
}

function pgMicros(p: string): string {
  return `(extract(epoch from ${p}) * 1000000)::bigint::text`;
}

function timestampPair(p: string, d: string): Pair {
  return {
    source: `CASE WHEN isfinite(${p}) THEN ${pgMicros(p)} ELSE (${p})::text END`,
    warehouse: `CASE WHEN isfinite(${d}) THEN ${text(`epoch_us(${d})`)} ELSE ${text(d)} END`,
  };
}

/** Months, days and microseconds, each kept apart (Postgres 17's infinities as Tributary stores them). */
function intervalPair(p: string, d: string): Pair {
  const [int32max, int64max] = ['2147483647', '9223372036854775807'];
  return {
    source: `CASE WHEN (${p}) IS NULL THEN NULL
      WHEN isfinite(${p}) THEN (extract(year from ${p}) * 12 + extract(month from ${p}))::bigint::text
        || ':' || extract(day from ${p})::bigint::text
        || ':' || (extract(hour from ${p}) * 3600000000 + extract(minute from ${p}) * 60000000
                   + extract(microseconds from ${p}))::bigint::text
      WHEN (${p}) > interval '0' THEN '${int32max}:${int32max}:${int64max}'
      ELSE '-2147483648:-2147483648:-9223372036854775808' END`,
    warehouse: `${text(`datepart('year', ${d}) * 12 + datepart('month', ${d})`)}
      || ':' || ${text(`datepart('day', ${d})`)}
      || ':' || ${text(`CAST(datepart('hour', ${d}) AS HUGEINT) * 3600000000 + datepart('minute', ${d}) * 60000000 + datepart('microsecond', ${d})`)}`,
  };
}

/**
 * A float as its IEEE 754 double: sign, biased exponent and fraction. Postgres reads the bits
 * from float8send; DuckDB, which cannot reinterpret a double, computes them exactly: the exponent
 * from log2 corrected by one step, the fraction by scaling with powers of two (exact, split in
 * two factors so none overflows). A float4 widens to its double exactly on both sides.
 */
function floatPair(p: string, d: string): Pair {
  const bits = `('x' || encode(float8send((${p})::float8), 'hex'))::bit(64)::bigint`;
  const x = `CAST(${d} AS DOUBLE)`;
  const a = `abs(${x})`;
  const scaled = (k: string) => `(${a} * pow(2.0, (${k}) // 2) * pow(2.0, (${k}) - (${k}) // 2))`;
  const e0 = `CAST(floor(log2(${a})) AS INTEGER)`;
  const e = `(${e0} + CASE WHEN ${scaled(`-${e0}`)} >= 2 THEN 1 WHEN ${scaled(`-${e0}`)} < 1 THEN -1 ELSE 0 END)`;
  return {
    source: `CASE WHEN (${p})::float8 = 'NaN'::float8 THEN 'NaN'
      ELSE CASE WHEN ${bits} < 0 THEN '-' ELSE '' END || ((${bits} >> 52) & 2047)::text || ':' || (${bits} & 4503599627370495)::text END`,
    warehouse: `CASE WHEN isnan(${x}) THEN 'NaN'
      ELSE CASE WHEN signbit(${x}) THEN '-' ELSE '' END || CASE
        WHEN ${a} = 0 THEN '0:0'
        WHEN isinf(${a}) THEN '2047:0'
        WHEN ${a} < pow(2.0, -1022) THEN '0:' || ${text(`CAST(${scaled('1074')} AS BIGINT)`)}
        ELSE ${text(`${e} + 1023`)} || ':' || ${text(`CAST((${scaled(`-${e}`)} - 1) * 4503599627370496 AS BIGINT)`)}
      END END`,
  };
}

/**
 * A one-dimensional array as `[...]`: each element's canonical text quoted (`"` and `\` escaped),
 * `N` for a NULL element. Postgres walks the subscripts (unnest would expand composite
 * elements); an array with more dimensions or other bounds gets its dims in front.
 */
function listPair(
  array: SourceType,
  duckElement: DuckType,
  p: string,
  d: string,
  depth: number,
  named: string,
): Pair | string {
  const element = array.element as SourceType;
  const alias = `tributary_canon_s${depth}`;
  const index = `tributary_canon_i${depth}`;
  const param = `tributary_canon_e${depth}`;
  const inner = canon(element, duckElement, `(${p})[${alias}.${index}]`, param, depth + 1);
  if (typeof inner === 'string') return `${named}: its elements, ${inner}`;
  const quoted = (expr: string, lit: (s: string) => string) =>
    `coalesce('"' || replace(replace(${expr}, ${lit('\\')}, ${lit('\\\\')}), '"', ${lit('\\"')}) || '"', 'N')`;
  return {
    source: `CASE WHEN (${p}) IS NULL THEN NULL ELSE
      CASE WHEN array_ndims(${p}) > 1 OR array_lower(${p}, 1) <> 1 THEN array_dims(${p}) ELSE '' END
      || '[' || coalesce((SELECT string_agg(${quoted(inner.source, pgLiteral)}, ',' ORDER BY ${alias}.${index})
                           FROM generate_subscripts(${p}, 1) AS ${alias}(${index})), '') || ']' END`,
    warehouse: `CASE WHEN (${d}) IS NULL THEN NULL ELSE
      '[' || array_to_string(list_transform(${d}, lambda ${param}: ${quoted(inner.warehouse, duckLiteral)}), ',') || ']' END`,
  };
}

/** A Postgres string literal whatever standard_conforming_strings says. */
function pgLiteral(s: string): string {
  return `E'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function duckLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
