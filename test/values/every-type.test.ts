/**
 * For each available Postgres major: a table with a column of every type (built-in scalars and
 * arrays, domains, an enum in a schema needing quotes and its array, a composite, ranges), rows
 * of edge values and NULLs. Each value's text, as the server's output function prints it under
 * Tributary's session settings (what pgoutput sends), is decoded with `TypeRegistry` (user types
 * registered through `loadTypeInfo`) and compared with facts Postgres computes independently:
 * epoch arithmetic for times, date differences, extract() fields for intervals, send-function
 * bytes for floats, encode() for bytea, array_dims/cardinality/unnest for arrays.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Decimal,
  PgDate,
  PgInterval,
  PgTime,
  PgTimestamp,
  PgTimeTz,
  Value,
} from '../../src/core/values.js';
import { INFINITY_MICROS, NEG_INFINITY_MICROS, PgJson } from '../../src/core/values.js';
import { SESSION_SETTINGS } from '../../src/source/postgres/session-settings.js';
import { loadTypeInfo } from '../../src/source/postgres/values/type-catalog.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { availableBinaries, PostgresCluster } from '../harness/postgres.js';
import { type Check, COLUMNS, type Column, setupSql } from './every-type.columns.js';

/** Every column comes back as the text the type's output function printed. */
const RAW = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

type Row = Record<string, string | null>;

async function rawQuery(client: pg.Client, text: string, values: unknown[] = []): Promise<Row[]> {
  return (await client.query<Row>({ text, values, types: RAW })).rows;
}

/** BigInt of an integral decimal text such as '-12' or '12.000000'. */
function integral(text: string | null | undefined): bigint {
  expect(text).toMatch(/^-?\d+(\.0+)?$/);
  return BigInt((text as string).replace(/\.0+$/, ''));
}

function floatHex(value: number, bytes: 4 | 8): string {
  const view = new DataView(new ArrayBuffer(bytes));
  if (bytes === 4) view.setFloat32(0, value);
  else view.setFloat64(0, value);
  return Buffer.from(view.buffer).toString('hex');
}

function expectFloatBits(decoded: Value, sentHex: string | null | undefined, bytes: 4 | 8): void {
  expect(typeof decoded).toBe('number');
  const bits = BigInt(`0x${sentHex}`);
  const exponentBits = bytes === 4 ? 8n : 11n;
  const mantissaBits = bytes === 4 ? 23n : 52n;
  const exponent = (bits >> mantissaBits) & ((1n << exponentBits) - 1n);
  const notANumber = exponent === (1n << exponentBits) - 1n && (bits & ((1n << mantissaBits) - 1n)) !== 0n;
  if (notANumber) expect(decoded).toBeNaN();
  else expect(floatHex(decoded as number, bytes)).toBe(sentHex);
  // setFloat32 would round a double; the decoded real must already be a float32.
  if (bytes === 4 && !notANumber) expect(Math.fround(decoded as number)).toBe(decoded);
}

/** The SQL expressions whose values are the facts a check compares with; `c` is the column. */
function factsSql(check: Check, c: string): string[] {
  const finiteOr = (expr: string) => `CASE WHEN isfinite(${c}) THEN (${expr})::text ELSE ${c}::text END`;
  switch (check) {
    case 'int':
    case 'bigint':
    case 'text':
    case 'json':
      return [`format('%s', ${c})`];
    case 'numeric':
      return [`format('%s', ${c})`, `scale(${c})::text`];
    case 'float4':
      return [`encode(float4send(${c}), 'hex')`];
    case 'float8':
      return [`encode(float8send(${c}), 'hex')`];
    case 'bool':
      return [`${c}::int::text`];
    case 'bytea':
      return [`encode(${c}, 'hex')`];
    case 'date':
      return [finiteOr(`${c} - date '1970-01-01'`)];
    case 'time':
      return [`(extract(epoch from ${c}) * 1000000)::bigint::text`];
    case 'timetz':
      return [
        `(extract(epoch from ${c}::time) * 1000000)::bigint::text`,
        `extract(timezone from ${c})::int::text`,
      ];
    case 'timestamp':
      return [
        finiteOr(
          `(${c}::date - date '1970-01-01')::numeric * 86400000000 + (extract(epoch from ${c}::time) * 1000000)::bigint`,
        ),
      ];
    case 'interval':
      return [
        finiteOr(`extract(year from ${c}) * 12 + extract(month from ${c})`),
        finiteOr(`extract(day from ${c})`),
        finiteOr(
          `extract(hour from ${c}) * 3600000000 + extract(minute from ${c}) * 60000000 + extract(microseconds from ${c})`,
        ),
      ];
    case 'array':
      return [
        `array_dims(${c})`,
        `cardinality(${c})::text`,
        // In the select list, unnest keeps a composite element whole; num_nulls tells a NULL
        // element from a composite whose fields are all NULL.
        `(SELECT json_agg(json_build_array(num_nulls(e) = 1, format('%s', e)) ORDER BY o)::text
            FROM (SELECT unnest(${c}) AS e, generate_series(1, cardinality(${c})) AS o) u)`,
      ];
  }
}

interface ArrayContext {
  readonly raw: string;
  readonly element: (text: string) => Value;
}

function checkValue(
  check: Check,
  decoded: Value,
  facts: readonly (string | null)[],
  array: ArrayContext,
): void {
  const [f0, f1, f2] = facts;
  switch (check) {
    case 'int':
      expect(decoded).toBe(Number(f0));
      return;
    case 'bigint':
      expect(decoded).toBe(BigInt(f0 as string));
      return;
    case 'text':
      expect(decoded).toBe(f0);
      return;
    case 'json':
      expect(decoded).toBeInstanceOf(PgJson);
      expect((decoded as PgJson).text).toBe(f0);
      return;
    case 'numeric': {
      const text = (decoded as Decimal).text;
      expect(text).toBe(f0);
      const dot = text.indexOf('.');
      if (f1 !== null) expect(dot < 0 ? 0 : text.length - dot - 1).toBe(Number(f1));
      return;
    }
    case 'float4':
      expectFloatBits(decoded, f0, 4);
      return;
    case 'float8':
      expectFloatBits(decoded, f0, 8);
      return;
    case 'bool':
      expect(decoded).toBe(f0 === '1');
      return;
    case 'bytea':
      expect(decoded).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(decoded as Uint8Array).toString('hex')).toBe(f0);
      return;
    case 'date': {
      const days = (decoded as PgDate).days;
      if (f0 === 'infinity') expect(days).toBe(Number.POSITIVE_INFINITY);
      else if (f0 === '-infinity') expect(days).toBe(Number.NEGATIVE_INFINITY);
      else expect(days).toBe(Number(f0));
      return;
    }
    case 'time':
      expect((decoded as PgTime).micros).toBe(integral(f0));
      return;
    case 'timetz':
      expect((decoded as PgTimeTz).micros).toBe(integral(f0));
      expect((decoded as PgTimeTz).offsetSeconds).toBe(Number(f1));
      return;
    case 'timestamp': {
      const micros = (decoded as PgTimestamp).micros;
      if (f0 === 'infinity') expect(micros).toBe(INFINITY_MICROS);
      else if (f0 === '-infinity') expect(micros).toBe(NEG_INFINITY_MICROS);
      else expect(micros).toBe(integral(f0));
      return;
    }
    case 'interval': {
      const { months, days, micros } = decoded as PgInterval;
      if (f0 === 'infinity' || f0 === '-infinity') {
        const sign = f0 === 'infinity' ? 1 : -1;
        expect([months, days, micros]).toEqual(
          sign > 0
            ? [2_147_483_647, 2_147_483_647, INFINITY_MICROS]
            : [-2_147_483_648, -2_147_483_648, NEG_INFINITY_MICROS],
        );
        return;
      }
      expect([BigInt(months), BigInt(days), micros]).toEqual([integral(f0), integral(f1), integral(f2)]);
      return;
    }
    case 'array':
      checkArray(decoded, f0 ?? null, Number(f1), f2 ?? null, array);
      return;
  }
}

function checkArray(
  decoded: Value,
  dims: string | null,
  cardinality: number,
  elementsJson: string | null,
  context: ArrayContext,
): void {
  if (dims === null) {
    expect(decoded).toEqual([]);
    expect(cardinality).toBe(0);
    return;
  }
  const bounds = [...dims.matchAll(/\[(-?\d+):(-?\d+)\]/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  if (bounds.some(([lower]) => lower !== 1)) {
    expect(decoded).toBe(context.raw);
    return;
  }
  // Shape: each level has the length array_dims gives.
  let level: Value[] = [decoded];
  for (const [, upper] of bounds) {
    const next: Value[] = [];
    for (const sub of level) {
      expect(Array.isArray(sub)).toBe(true);
      expect((sub as Value[]).length).toBe(upper);
      next.push(...(sub as Value[]));
    }
    level = next;
  }
  expect(level.length).toBe(cardinality);
  const elements = JSON.parse(elementsJson as string) as [boolean, string][];
  expect(level.length).toBe(elements.length);
  elements.forEach(([isNull, text], i) => {
    if (isNull) expect(level[i]).toBeNull();
    else expect(level[i]).toEqual(context.element(text));
  });
}

describe.each(availableBinaries().map((b) => [b.label, b] as const))(
  'decoding every type on %s',
  (_label, binaries) => {
    let cluster: PostgresCluster;
    let client: pg.Client;
    const registry = new TypeRegistry();
    let columns: Column[] = [];
    const typeOf = new Map<string, { oid: number; elementOid: number }>();

    beforeAll(async () => {
      cluster = await PostgresCluster.start({ binaries });
      client = await cluster.connect();
      for (const [name, value] of Object.entries(SESSION_SETTINGS)) {
        await client.query('SELECT set_config($1, $2, false)', [name, value]);
      }
      for (const sql of setupSql) await client.query(sql);
      columns = COLUMNS.map((c) =>
        c.newerValues && binaries.major >= c.newerValues.major
          ? { ...c, values: [...c.values, ...c.newerValues.values] }
          : c,
      );
      const ddl = columns.map((c) => `${c.name} ${c.type}`).join(', ');
      await client.query(`CREATE TABLE every_type (id int PRIMARY KEY, ${ddl})`);
      const rows = Math.max(...columns.map((c) => c.values.length)) + 1;
      const names = columns.map((c) => c.name).join(', ');
      const params = columns.map((_, i) => `$${i + 2}`).join(', ');
      for (let r = 0; r < rows; r++) {
        const values = columns.map((c) => c.values[r] ?? null);
        await client.query(`INSERT INTO every_type (id, ${names}) VALUES ($1, ${params})`, [r, ...values]);
      }
      const types = await client.query<{ name: string; oid: number; elem: number }>(
        `SELECT a.attname AS name, a.atttypid AS oid, coalesce(nullif(t.typelem, 0), b.typelem, 0) AS elem
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type b ON b.oid = t.typbasetype
        WHERE a.attrelid = 'every_type'::regclass AND a.attnum > 0`,
      );
      for (const t of types.rows) typeOf.set(t.name, { oid: t.oid, elementOid: t.elem });
      const oids = types.rows.map((t) => t.oid);
      registry.registerAll(await loadTypeInfo(client, registry.unknownOids(oids)));
    });

    afterAll(async () => {
      await client?.end();
      await cluster?.stop();
    });

    it('loads every user type a column needs, recursively, in one call', () => {
      expect(registry.unknownOids([...typeOf.values()].map((t) => t.oid))).toEqual([]);
    });

    it.each(COLUMNS.map((c) => [c.name, c.type] as const))(
      '%s (%s) decodes to what Postgres says',
      async (name) => {
        const column = columns.find((c) => c.name === name)!;
        const type = typeOf.get(name)!;
        const decode = registry.decoderFor(type.oid);
        const element = registry.decoderFor(type.elementOid);
        const facts = factsSql(column.check, name);
        const rows = await rawQuery(
          client,
          `SELECT id, ${name} AS raw, ${facts.map((f, i) => `${f} AS f${i}`).join(', ')} FROM every_type ORDER BY id`,
        );
        for (const row of rows) {
          const raw = row.raw ?? null;
          if (raw === null) {
            expect(column.values[Number(row.id)] ?? null, `row ${row.id}`).toBeNull();
            continue;
          }
          const factValues = facts.map((_, i) => row[`f${i}`] ?? null);
          try {
            checkValue(column.check, decode(raw), factValues, { raw, element });
          } catch (error) {
            throw new Error(
              `${name} row ${row.id}: text ${JSON.stringify(raw.slice(0, 200))}, facts ${JSON.stringify(factValues).slice(0, 300)}: ${(error as Error).message}`,
            );
          }
        }
      },
    );
  },
);
