/**
 * Shared by the ClickHouse type-mapping tests: columns of a given type, user-defined types for
 * lookups, and a round trip of values through a real ClickHouse table of a mapped type.
 */
import type { ColumnSchema } from '../../src/core/change-event.js';
import { valueToJson } from '../../src/core/event-json.js';
import { daysFromCivil, type Value } from '../../src/core/values.js';
import type { TypeInfo } from '../../src/source/postgres/values/type-registry.js';
import { quoteName } from '../../src/warehouse/clickhouse/connect.js';
import type { ClickHouseColumnType, TypeLookup } from '../../src/warehouse/clickhouse/type-mapping.js';
import type { TestClickHouse } from './clickhouse.js';

export const USER_TYPES: readonly TypeInfo[] = [
  { oid: 90_001, schema: 'public', name: 'mood', kind: 'enum' },
  { oid: 90_002, schema: 'public', name: 'positive', kind: 'domain', baseTypeOid: 23 },
  { oid: 90_003, schema: 'public', name: 'int_list', kind: 'domain', baseTypeOid: 1007 },
  { oid: 90_004, schema: 'public', name: '_int_list', kind: 'array', elementOid: 90_003 },
  { oid: 90_005, schema: 'public', name: 'price', kind: 'domain', baseTypeOid: 1700 },
  { oid: 90_006, schema: 'public', name: '_mood', kind: 'array', elementOid: 90_001 },
];
export const lookup: TypeLookup = (oid) => USER_TYPES.find((t) => t.oid === oid);

/** numeric(p,s)'s type modifier (negative scales in 11 bits, as Postgres 15+ stores them). */
export function numericMod(precision: number, scale: number): number {
  return ((precision << 16) | (scale & 0x7ff)) + 4;
}

export function column(name: string, typeOid: number, typeModifier = -1): ColumnSchema {
  return { name, typeOid, typeModifier, isKey: false };
}

export const day = (y: number, m: number, d: number) => daysFromCivil(y, m, d);
export const micros = (y: number, m: number, d: number, us = 0n) =>
  BigInt(day(y, m, d)) * 86_400_000_000n + us;
export const big = (digits: number) => '9'.repeat(digits);

/** Values compared in the exact JSON form of change events. */
export const exact = (values: readonly Value[]) => values.map(valueToJson);

export async function roundTrip(
  ch: TestClickHouse,
  table: string,
  type: ClickHouseColumnType,
  values: readonly Value[],
) {
  const v = type.nullable ? `Nullable(${type.sql})` : type.sql;
  await ch.connection.client.command({
    query: `CREATE TABLE ${quoteName(table)} (id UInt32, v ${v}) ENGINE = MergeTree ORDER BY id`,
  });
  const rows = values.map((value, id) => ({ id, v: value === null ? null : type.encode(value) }));
  if (type.nullable) rows.push({ id: values.length, v: null });
  // a server's default parsing of dates and times (chdb's own default is best_effort)
  await ch.connection.client.insert({
    table,
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'basic' },
  });
  const back = await ch.rows<{ id: number; v: unknown }>(`SELECT id, v FROM ${quoteName(table)} ORDER BY id`);
  return back.map((r) => (r.v === null ? null : type.decode(r.v)));
}
