/**
 * Which ClickHouse type holds a Postgres column, and how a value crosses to it and back, exactly:
 * a value either lands as the same value or `encode` throws an `UnfitValue` naming the column,
 * the type and the value (never clamped, rounded, zeroed or nulled). docs/clickhouse.md explains
 * each choice to users.
 *
 * | Postgres                               | ClickHouse                                          |
 * |----------------------------------------|-----------------------------------------------------|
 * | int2 / int4 / int8                     | Int16 / Int32 / Int64                               |
 * | oid, xid, cid / xid8                   | UInt32 / UInt64                                     |
 * | real / double precision                | Float32 / Float64 (NaN, ±Infinity, -0 stored)       |
 * | numeric(p,s), p ≤ 76                   | Decimal(p,s) (scale > precision: Decimal(s,s); negative scale: Decimal(p-s,0)); NaN is unfit |
 * | numeric, numeric(p,s) with p > 76      | String: the exact text, NaN and ±Infinity kept      |
 * | bool                                   | Bool                                                |
 * | uuid                                   | UUID                                                |
 * | date                                   | Date32; ±infinity and dates outside 1900…2299 are unfit |
 * | timestamp / timestamptz                | DateTime64(6, 'UTC'); ±infinity and instants outside 1900…2299 are unfit |
 * | time / timetz                          | String `HH:MM:SS.ffffff` / `HH:MM:SS.ffffff+hh:mm`  |
 * | interval                               | String `P<months>M<days>DT<seconds>S` (each part's sign kept) |
 * | json / jsonb                           | String: the text Postgres sent                      |
 * | bytea                                  | String: Postgres' hex text `\x…`                    |
 * | arrays                                 | Array(Nullable(element)); more dimensions, lower bounds ≠ 1 and unfit elements are unfit |
 * | domains                                | as their base type (via `TypeLookup`), base typmod unknown |
 * | text, varchar, bpchar, enums, money, inet, ranges, everything else | String: the exact text |
 *
 * `encode` gives a non-null value as a JSONEachRow field (what `@clickhouse/client`'s `insert`
 * sends); `decode` reads a field back as ClickHouse prints it with the session settings of
 * connect.ts (64-bit integers and decimals quoted, NaN/±inf quoted). The mapped type never
 * carries Nullable: the caller wraps non-key columns where `nullable` says it can (not arrays).
 *
 * Widening: a type that can refuse a value carries `widening`, a String column type holding
 * the exact text of every value (the unfit ones included; arrays as JSON of those texts) and
 * `convertSql(column)`, the ClickHouse expression turning a stored value into that same text.
 * A warehouse that meets an `UnfitValue` can rewrite the column with it and carry on, instead
 * of stopping replication on one rare value. The same expression converts stored values when a
 * source column is retyped to a text-mapped type (numeric(p,s) → numeric): ClickHouse's own
 * CAST or MODIFY COLUMN of a Decimal to String drops the scale's trailing zeros (12.5000 → 12.5).
 */
import type { ColumnSchema } from '../../core/change-event.js';
import type { Value } from '../../core/values.js';
import { BUILTIN_TYPES } from '../../source/postgres/values/builtin-types.js';
import type { TypeInfo } from '../../source/postgres/values/type-registry.js';
import { NUMERIC_OID, numericModifier } from '../duckdb/type-mapping.js';
import * as codecs from './scalar-codecs.js';
import { type ScalarCodec, UnfitValue } from './scalar-codecs.js';

export { UnfitValue } from './scalar-codecs.js';

export type TypeLookup = (oid: number) => TypeInfo | undefined;

export interface ClickHouseColumnType {
  /** The type as ClickHouse DDL writes it, without Nullable. */
  readonly sql: string;
  /** A non-null value as a JSONEachRow field; throws `UnfitValue` for a value the type cannot hold. */
  encode(value: Value): unknown;
  /** A non-null JSONEachRow field back as the value Postgres sent. */
  decode(field: unknown): Value;
  /**
   * Whether `Nullable(sql)` exists. ClickHouse has no Nullable(Array(…)): an array column holds
   * no NULL, so a caller keeps a NULL array apart (tables.ts: a presence flag) and stores `[]` for it.
   */
  readonly nullable: boolean;
  /** Present when `encode` can refuse a value: the String column that holds every value. */
  readonly widening?: Widening;
}

export interface Widening {
  /** `String`, whose field is the value's exact text. */
  readonly type: ClickHouseColumnType;
  /** The expression turning a stored non-null value of the original type in `column` (quoted) into that text. */
  convertSql(column: string): string;
}

export const MAX_DECIMAL_PRECISION = 76;
const MAX_DEPTH = 32;

const SCALARS: ReadonlyMap<number, ScalarCodec> = new Map([
  [16, codecs.bool],
  [17, codecs.byteaText],
  [20, codecs.bigInteger('Int64')],
  [21, codecs.smallInteger('Int16')],
  [23, codecs.smallInteger('Int32')],
  [26, codecs.smallInteger('UInt32')],
  [28, codecs.smallInteger('UInt32')],
  [29, codecs.smallInteger('UInt32')],
  [5069, codecs.bigInteger('UInt64')],
  [700, codecs.float('Float32')],
  [701, codecs.float('Float64')],
  [114, codecs.jsonText],
  [3802, codecs.jsonText],
  [1082, codecs.date32],
  [1083, codecs.timeText],
  [1266, codecs.timeTzText],
  [1114, codecs.dateTime64(false)],
  [1184, codecs.dateTime64(true)],
  [1186, codecs.intervalText],
  [2950, codecs.uuid],
]);

/** The Decimal that holds every value of numeric(p,s) but NaN, or null when none does. */
export function decimalFor(precision: number, scale: number): ScalarCodec | null {
  if (precision < 1) return null;
  if (scale < 0)
    return precision - scale <= MAX_DECIMAL_PRECISION ? codecs.decimal(precision - scale, 0) : null;
  if (scale > precision) return scale <= MAX_DECIMAL_PRECISION ? codecs.decimal(scale, scale) : null;
  return precision <= MAX_DECIMAL_PRECISION ? codecs.decimal(precision, scale) : null;
}

/** The ClickHouse type of a column, and its value codec (see the header). */
export function clickhouseType(column: ColumnSchema, lookup?: TypeLookup): ClickHouseColumnType {
  const codec = codecFor(column.typeOid, column.typeModifier, lookup, 0);
  return columnType(codec, column.name);
}

/** A value codec: a scalar, or an array of codecs. */
type Codec = ScalarCodec | ArrayCodec;

interface ArrayCodec {
  readonly element: Codec;
}

function codecFor(oid: number, typeModifier: number, lookup: TypeLookup | undefined, depth: number): Codec {
  if (depth > MAX_DEPTH) return codecs.plainText;
  const scalar = SCALARS.get(oid);
  if (scalar) return scalar;
  if (oid === NUMERIC_OID) {
    const mod = numericModifier(typeModifier);
    return (mod && decimalFor(mod.precision, mod.scale)) || codecs.numericText;
  }
  const builtin = BUILTIN_TYPES.get(oid);
  if (builtin) {
    return builtin.elementOid !== undefined
      ? { element: codecFor(builtin.elementOid, typeModifier, lookup, depth + 1) }
      : codecs.plainText;
  }
  const info = lookup?.(oid);
  if (info?.kind === 'domain' && info.baseTypeOid) return codecFor(info.baseTypeOid, -1, lookup, depth + 1);
  if (info?.kind === 'array' && info.elementOid) {
    return { element: codecFor(info.elementOid, typeModifier, lookup, depth + 1) };
  }
  return codecs.plainText;
}

function isArray(codec: Codec): codec is ArrayCodec {
  return 'element' in codec;
}

function sqlOf(codec: Codec): string {
  if (!isArray(codec)) return codec.sql;
  // ClickHouse has no Nullable(Array(…)): a NULL inner array is unfit
  return isArray(codec.element) ? `Array(${sqlOf(codec.element)})` : `Array(Nullable(${codec.element.sql}))`;
}

function leafOf(codec: Codec): ScalarCodec {
  return isArray(codec) ? leafOf(codec.element) : codec;
}

function columnType(codec: Codec, column: string): ClickHouseColumnType {
  const sql = sqlOf(codec);
  const encode = isArray(codec) ? (v: Value) => encodeArray(codec, sql, v) : codec.encode;
  const refuses = isArray(codec) || codec.canRefuse;
  return {
    sql,
    nullable: !isArray(codec),
    encode: refuses ? (v) => namingColumn(encode, v, sql, column) : encode,
    decode: isArray(codec) ? (f) => decodeArray(codec, f) : codec.decode,
    ...(refuses ? { widening: widening(codec) } : {}),
  };
}

/** `encode(value)`, an UnfitValue from it naming the column. */
function namingColumn(encode: (v: Value) => unknown, value: Value, sql: string, column: string): unknown {
  try {
    return encode(value);
  } catch (error) {
    if (error instanceof UnfitValue) throw new UnfitValue(sql, `${column}: ${error.message}`, column);
    throw error;
  }
}

function widening(codec: Codec): Widening {
  if (!isArray(codec)) {
    return { type: widenedScalar(codec), convertSql: (c) => codec.textSql(c) };
  }
  return { type: widenedArray(leafOf(codec)), convertSql: (c) => arrayTextSql(codec, c, 0) };
}

function encodeArray(codec: ArrayCodec, sql: string, value: Value): unknown {
  if (!Array.isArray(value)) {
    throw new UnfitValue(
      sql,
      `the array ${JSON.stringify(value)} has lower bounds other than 1 and does not fit in ${sql}`,
    );
  }
  const element = codec.element;
  return (value as readonly Value[]).map((item) => {
    if (item === null) {
      if (isArray(element))
        throw new UnfitValue(sql, `an array with a NULL sub-array does not fit in ${sql}`);
      return null;
    }
    if (isArray(element)) return encodeArray(element, sql, item);
    if (Array.isArray(item)) throw new UnfitValue(sql, `a multi-dimensional array does not fit in ${sql}`);
    return element.encode(item);
  });
}

function decodeArray(codec: ArrayCodec, field: unknown): Value {
  const element = codec.element;
  return (field as unknown[]).map((item) =>
    item === null ? null : isArray(element) ? decodeArray(element, item) : element.decode(item),
  );
}

// ---------------------------------------------------------------------------------------------
// Widened forms

function widenedScalar(codec: ScalarCodec): ClickHouseColumnType {
  return {
    sql: 'String',
    nullable: true,
    encode: (v) => codec.text(v),
    decode: (f) => codec.fromText(String(f)),
  };
}

type TextTree = null | string | TextTree[];

/** An array as JSON whose leaves are the elements' exact texts; an array kept as Postgres' text, as a JSON string. */
function widenedArray(leaf: ScalarCodec): ClickHouseColumnType {
  const toTree = (v: Value): TextTree =>
    v === null ? null : Array.isArray(v) ? (v as readonly Value[]).map(toTree) : leaf.text(v);
  const fromTree = (t: TextTree): Value =>
    t === null ? null : Array.isArray(t) ? t.map(fromTree) : leaf.fromText(t);
  return {
    sql: 'String',
    nullable: true,
    encode: (v) => JSON.stringify(typeof v === 'string' ? v : toTree(v)),
    decode: (f) => {
      const tree = JSON.parse(String(f)) as TextTree;
      return typeof tree === 'string' ? tree : fromTree(tree);
    },
  };
}

function arrayTextSql(codec: ArrayCodec, x: string, depth: number): string {
  const e = `_e${depth}`;
  const item = isArray(codec.element)
    ? arrayTextSql(codec.element, e, depth + 1)
    : `toJSONString(${codec.element.textSql(`assumeNotNull(${e})`)})`;
  return `concat('[', arrayStringConcat(arrayMap(${e} -> if(isNull(${e}), 'null', ${item}), ${x}), ','), ']')`;
}
