/**
 * Which DuckDB type holds a Postgres column, exactly (no value is ever rounded, clamped,
 * truncated or turned into null):
 *
 * | Postgres                               | DuckDB                                        |
 * |----------------------------------------|-----------------------------------------------|
 * | int2 / int4 / int8                     | SMALLINT / INTEGER / BIGINT                   |
 * | oid, xid, cid                          | UINTEGER                                      |
 * | xid8                                   | UBIGINT                                       |
 * | numeric(p,s), 0 ≤ s ≤ p ≤ 38           | DECIMAL(p,s); a NaN value widens the column to VARCHAR |
 * | numeric, numeric(p,s) with p > 38      | VARCHAR: the exact text, NaN/±Infinity kept   |
 * | real / double precision                | FLOAT / DOUBLE (NaN, ±Infinity, -0 kept)      |
 * | bool                                   | BOOLEAN                                       |
 * | text, varchar, bpchar, name, "char"    | VARCHAR (bpchar blank padding kept)           |
 * | bytea                                  | BLOB                                          |
 * | uuid                                   | UUID                                          |
 * | date / time / timetz                   | DATE / TIME / TIMETZ (±infinity dates kept)   |
 * | timestamp / timestamptz                | TIMESTAMP / TIMESTAMPTZ, microseconds, ±infinity kept; finite values beyond DuckDB's range (≥ 294247-01-10 04:00:54.775807) are refused, never clamped |
 * | interval                               | INTERVAL (months, days, micros kept apart)    |
 * | json / jsonb                           | JSON (the text Postgres sent)                 |
 * | arrays                                 | LIST of the element's type; a value a LIST cannot hold (more dimensions, lower bounds ≠ 1, an unfit element) widens the column to JSON |
 * | domains                                | as their base type (needs `typeInfo`)         |
 * | enums, and everything else             | VARCHAR: the exact text Postgres printed      |
 *
 * Widening (widen.ts) converts the stored values and is recorded as a schema version.
 * A domain column's OID is the domain's, so base types come from a `TypeLookup` (the source's
 * TypeRegistry `info`); without one, an unknown OID maps to VARCHAR.
 */
import type { ColumnSchema } from '../../core/change-event.js';
import { BUILTIN_TYPES } from '../../source/postgres/values/builtin-types.js';
import type { TypeInfo } from '../../source/postgres/values/type-registry.js';

export type TypeLookup = (oid: number) => TypeInfo | undefined;

const SCALAR_TYPES: ReadonlyMap<number, string> = new Map([
  [16, 'BOOLEAN'],
  [17, 'BLOB'],
  [20, 'BIGINT'],
  [21, 'SMALLINT'],
  [23, 'INTEGER'],
  [26, 'UINTEGER'],
  [28, 'UINTEGER'],
  [29, 'UINTEGER'],
  [5069, 'UBIGINT'],
  [700, 'FLOAT'],
  [701, 'DOUBLE'],
  [114, 'JSON'],
  [3802, 'JSON'],
  [1082, 'DATE'],
  [1083, 'TIME'],
  [1266, 'TIMETZ'],
  [1114, 'TIMESTAMP'],
  [1184, 'TIMESTAMPTZ'],
  [1186, 'INTERVAL'],
  [2950, 'UUID'],
]);

export const NUMERIC_OID = 1700;
const MAX_DEPTH = 32;

/** Precision and scale of a numeric type modifier; null when unconstrained. */
export function numericModifier(typeModifier: number): { precision: number; scale: number } | null {
  if (typeModifier < 4) return null;
  const precision = ((typeModifier - 4) >> 16) & 0xffff;
  let scale = (typeModifier - 4) & 0x7ff;
  if (scale > 1000) scale -= 2048; // PG 15+: negative scales are stored in 11 bits
  return { precision, scale };
}

/** The DuckDB type (SQL text) for a column. */
export function duckTypeFor(
  column: Pick<ColumnSchema, 'typeOid' | 'typeModifier'>,
  lookup?: TypeLookup,
): string {
  return mapOid(column.typeOid, column.typeModifier, lookup, 0);
}

function mapOid(oid: number, typeModifier: number, lookup: TypeLookup | undefined, depth: number): string {
  if (depth > MAX_DEPTH) return 'VARCHAR';
  const scalar = SCALAR_TYPES.get(oid);
  if (scalar) return scalar;
  if (oid === NUMERIC_OID) {
    const mod = numericModifier(typeModifier);
    if (mod && mod.precision >= 1 && mod.precision <= 38 && mod.scale >= 0 && mod.scale <= mod.precision) {
      return `DECIMAL(${mod.precision},${mod.scale})`;
    }
    return 'VARCHAR';
  }
  const builtin = BUILTIN_TYPES.get(oid);
  if (builtin) {
    return builtin.elementOid !== undefined
      ? `${mapOid(builtin.elementOid, typeModifier, lookup, depth + 1)}[]`
      : 'VARCHAR';
  }
  const info = lookup?.(oid);
  if (info?.kind === 'domain' && info.baseTypeOid) return mapOid(info.baseTypeOid, -1, lookup, depth + 1);
  if (info?.kind === 'array' && info.elementOid) {
    return `${mapOid(info.elementOid, typeModifier, lookup, depth + 1)}[]`;
  }
  return 'VARCHAR';
}
