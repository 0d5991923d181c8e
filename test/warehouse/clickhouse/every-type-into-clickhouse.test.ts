/**
 * Every Postgres type, as a real Postgres sends it, through the ClickHouse type mapping and back:
 * for each available major, the every-type table (test/values/every-type.columns.ts, edge rows
 * included, nothing left out) streams through the real `PostgresSource`; each column gets a
 * ClickHouse table of its mapped type in chdb; every value goes in through `@clickhouse/client`'s
 * JSONEachRow insert and comes back through a select, and the decoded value must equal what
 * Postgres holds: the facts Postgres computes for it (every-type.facts.ts: float bits, bytea hex,
 * day offsets, microseconds, numeric text, array shape, ...) and the source's own value exactly.
 *
 * Values a mapped type cannot hold must be refused with an UnfitValue (never clamped), and the
 * column's widening (a String of the exact text) must hold them exactly.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent, ColumnSchema } from '../../../src/core/change-event.js';
import { valueToJson } from '../../../src/core/event-json.js';
import { Decimal, PgDate, type PgTimestamp, type Value } from '../../../src/core/values.js';
import { TypeRegistry } from '../../../src/source/postgres/values/type-registry.js';
import { quoteName } from '../../../src/warehouse/clickhouse/connect.js';
import {
  DATE32_MAX_DAYS,
  DATE32_MIN_DAYS,
  DATETIME64_MAX_MICROS,
  DATETIME64_MIN_MICROS,
} from '../../../src/warehouse/clickhouse/scalar-codecs.js';
import {
  type ClickHouseColumnType,
  clickhouseType,
  UnfitValue,
} from '../../../src/warehouse/clickhouse/type-mapping.js';
import { EACH_MAJOR, useCluster } from '../../harness/use-cluster.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { waitFor } from '../../helpers/events.js';
import { type RunningSource, startSource } from '../../helpers/in-process-source.js';
import { type Column, columnsFor } from '../../values/every-type.columns.js';
import {
  applySessionSettings,
  createEveryTypeTable,
  expectValue,
  type Facts,
  insertEveryTypeRows,
  readFacts,
  shownFacts,
} from '../../values/every-type.facts.js';

/** What each column of the every-type table maps to; a new column needs its line here. */
const CLICKHOUSE_TYPES: Readonly<Record<string, string>> = {
  c_int2: 'Int16',
  c_int4: 'Int32',
  c_int8: 'Int64',
  c_oid: 'UInt32',
  c_xid: 'UInt32',
  c_xid8: 'UInt64',
  c_float4: 'Float32',
  c_float8: 'Float64',
  c_numeric: 'String',
  c_numeric_scaled: 'Decimal(12, 4)',
  c_bool: 'Bool',
  c_uuid: 'UUID',
  c_date: 'Date32',
  c_timestamp: "DateTime64(6, 'UTC')",
  c_timestamptz: "DateTime64(6, 'UTC')",
  a_int4: 'Array(Nullable(Int32))',
  a_int2: 'Array(Nullable(Int16))',
  a_int8: 'Array(Nullable(Int64))',
  a_float4: 'Array(Nullable(Float32))',
  a_float8: 'Array(Nullable(Float64))',
  a_bool: 'Array(Nullable(Bool))',
  a_uuid: 'Array(Nullable(UUID))',
  a_date: 'Array(Nullable(Date32))',
  a_timestamp: "Array(Nullable(DateTime64(6, 'UTC')))",
  a_timestamptz: "Array(Nullable(DateTime64(6, 'UTC')))",
  a_oid: 'Array(Nullable(UInt32))',
  a_xid8: 'Array(Nullable(UInt64))',
  c_int_list: 'Array(Nullable(Int32))',
  a_int_list: 'Array(Array(Nullable(Int32)))',
};
const typeOf = (name: string) =>
  CLICKHOUSE_TYPES[name] ?? (name.startsWith('a_') ? 'Array(Nullable(String))' : 'String');

/** Whether docs/clickhouse.md lists `value` among those a column of type `sql` cannot hold. */
function documentedUnfit(value: Value, sql: string): boolean {
  if (sql.startsWith('Array(')) {
    const inner = sql.slice('Array('.length, -1);
    if (!Array.isArray(value)) return true; // lower bounds other than 1: Postgres' text
    return (value as readonly Value[]).some((item) => {
      if (item === null) return inner.startsWith('Array('); // a NULL sub-array
      if (Array.isArray(item) && !inner.startsWith('Array(')) return true; // more dimensions
      return documentedUnfit(item, inner.replace(/^Nullable\((.*)\)$/, '$1'));
    });
  }
  if (sql.startsWith('Decimal(')) return value instanceof Decimal && !value.isFinite();
  if (sql === 'Date32') {
    return value instanceof PgDate && !(value.days >= DATE32_MIN_DAYS && value.days <= DATE32_MAX_DAYS);
  }
  if (sql.startsWith('DateTime64(')) {
    const micros = (value as PgTimestamp).micros;
    return micros < DATETIME64_MIN_MICROS || micros > DATETIME64_MAX_MICROS;
  }
  return false;
}

/** Every refusal seen, for the log: what the mapping cannot hold among Postgres' edge values. */
const refusals: string[] = [];

interface Landed {
  readonly type: ClickHouseColumnType;
  /** By row id: the decoded value read back, or the refusal. */
  readonly back: Map<number, { value: Value } | { refused: unknown }>;
  readonly sent: Map<number, Value>;
}

describe.each(EACH_MAJOR)('every Postgres type into ClickHouse on %s', (_label, binaries) => {
  const cluster = useCluster({ binaries });
  let client: pg.Client;
  let running: RunningSource | undefined;
  let ch: TestClickHouse;
  let columns: Column[] = [];
  let facts: Map<number, Map<string, Facts>>;
  const landed = new Map<string, Landed>();

  /** Lands one column's values of every inserted row in a table of its own; returns what came back. */
  async function land(
    schema: ColumnSchema,
    inserts: readonly ChangeEvent[],
    types: TypeRegistry,
  ): Promise<Landed> {
    const type = clickhouseType(schema, (oid) => types.info(oid));
    const table = `every_${schema.name}`;
    const column = type.nullable ? `Nullable(${type.sql})` : type.sql;
    await ch.connection.client.command({
      query: `CREATE TABLE ${quoteName(table)} (id UInt32, v ${column}) ENGINE = MergeTree ORDER BY id`,
    });
    const back = new Map<number, { value: Value } | { refused: unknown }>();
    const sent = new Map<number, Value>();
    const rows: { id: number; v: unknown }[] = [];
    for (const event of inserts) {
      const id = event.row?.id as number;
      const value = event.row?.[schema.name] ?? null;
      sent.set(id, value);
      if (value === null && !type.nullable) continue; // an array column holds no NULL
      try {
        rows.push({ id, v: value === null ? null : type.encode(value) });
      } catch (refused) {
        back.set(id, { refused });
      }
    }
    await ch.connection.client.insert({ table, values: rows, format: 'JSONEachRow' });
    for (const row of await ch.rows<{ id: number; v: unknown }>(`SELECT id, v FROM ${quoteName(table)}`)) {
      back.set(row.id, { value: row.v === null ? null : type.decode(row.v) });
    }
    return { type, back, sent };
  }

  beforeAll(async () => {
    client = await cluster().connect();
    await applySessionSettings(client);
    columns = columnsFor(binaries.major);
    await createEveryTypeTable(client, columns);
    const types = new TypeRegistry();
    running = await startSource(cluster(), { slot: 'every_type_ch', types });
    ch = await freshClickHouse('every');
    await client.query('BEGIN');
    await insertEveryTypeRows(client, columns);
    await client.query('COMMIT');
    facts = await readFacts(client, [{ name: 'id', check: 'int' }, ...columns]);
    const inserts = await waitFor('the inserts', () => {
      const changes = running!.target.changes();
      return changes.length >= facts.size ? changes : undefined;
    });
    const schema = running.target.items.flatMap((i) => (i.kind === 'schema' ? [i.schema] : [])).at(-1)!;
    for (const c of columns) {
      landed.set(c.name, await land(schema.columns.find((s) => s.name === c.name)!, inserts, types));
    }
  });

  afterAll(async () => {
    console.info(`refused (held by the widening) on ${_label}:\n  ${refusals.join('\n  ')}`);
    refusals.length = 0;
    await running?.stop();
    await ch?.drop();
    await client?.end();
  });

  it('maps every column to the documented ClickHouse type', () => {
    const mapped = Object.fromEntries(columns.map((c) => [c.name, landed.get(c.name)?.type.sql]));
    expect(mapped).toEqual(Object.fromEntries(columns.map((c) => [c.name, typeOf(c.name)])));
  });

  it.each(columnsFor(binaries.major).map((c) => c.name))(
    '%s: every value comes back as Postgres holds it, or is refused and held by the widening',
    async (name) => {
      const column = columns.find((c) => c.name === name)!;
      const { type, back, sent } = landed.get(name)!;
      const widened: Value[] = [];
      for (const [id, rowFacts] of facts) {
        const pgFacts = rowFacts.get(name)!;
        const value = sent.get(id) ?? null;
        const result = back.get(id);
        const where = `${name} of row ${id}: Postgres facts ${shownFacts(pgFacts)}`;
        if (value === null && !type.nullable) {
          expect(result, where).toBeUndefined(); // a NULL array is the caller's to keep apart
          continue;
        }
        expect(result, where).toBeDefined();
        if (result && 'refused' in result) {
          expect(result.refused, where).toBeInstanceOf(UnfitValue);
          expect(
            documentedUnfit(value, type.sql),
            `${where}: refused, but the mapping documents it as fitting`,
          ).toBe(true);
          refusals.push(`${name}: ${JSON.stringify(valueToJson(value)).slice(0, 80)}`);
          widened.push(value);
          continue;
        }
        const decoded = (result as { value: Value }).value;
        expect(valueToJson(decoded), where).toEqual(valueToJson(value));
        try {
          expectValue(column.check, decoded, pgFacts);
        } catch (error) {
          throw new Error(
            `${where}, ClickHouse gave ${JSON.stringify(valueToJson(decoded))}: ${(error as Error).message}`,
          );
        }
      }
      if (widened.length === 0) return;
      // the refused values, in the widened String column, come back exactly
      const widening = type.widening!;
      expect(widening, `${name} refuses values, so it has a widening`).toBeDefined();
      const table = `widened_${name}`;
      await ch.connection.client.command({
        query: `CREATE TABLE ${quoteName(table)} (id UInt32, v Nullable(String)) ENGINE = MergeTree ORDER BY id`,
      });
      await ch.connection.client.insert({
        table,
        values: widened.map((v, id) => ({ id, v: widening.type.encode(v) })),
        format: 'JSONEachRow',
      });
      const rows = await ch.rows<{ v: string }>(`SELECT v FROM ${quoteName(table)} ORDER BY id`);
      expect(rows.map((r) => valueToJson(widening.type.decode(r.v)))).toEqual(widened.map(valueToJson));
    },
  );
});
